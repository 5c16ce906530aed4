import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StudyMatch } from '../../../src/retrieve/pacs-client.js';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import type { SampleFacts } from '../../helpers/samples.js';
import { storedDataset } from '../../helpers/stored.js';
import { sampleStudy, startTestPacs, type TestPacs } from '../../helpers/test-pacs.js';
import { gate } from '../../helpers/test-store-scp.js';

/*
 * Two retrieves of the same accession at once on one StudyRetriever share one run: the PACS
 * (on the bridge's own network layer, so the test can count its C-MOVEs and hold one in
 * progress) sees a single C-MOVE, and both callers get the study complete. The PACS announces
 * exactly the instances it sends.
 */

const PACS_AE = 'COUNTPACS';
const ACCESSION = 'SHARED-1';
let pacs: TestPacs;
let delivered: SampleFacts[];
let bridge: TestBridge | undefined;
/** The first instance of the move is read only once the test lets it. */
const firstInstance = gate();

beforeAll(async () => {
  delivered = await sampleStudy('77654033/CT2');
  expect(delivered.length).toBeGreaterThan(1);
  pacs = await startTestPacs({
    aeTitle: PACS_AE,
    instances: delivered,
    accessionNumber: ACCESSION,
    bridgePort: () => bridge?.port,
    beforeSend: async (index) => {
      if (index === 0) await firstInstance.wait;
    },
  });
  bridge = await startBridge({
    pacs: {
      nodes: [
        {
          name: 'counting',
          aeTitle: PACS_AE,
          host: '127.0.0.1',
          port: pacs.port,
          maxRetries: 2,
          retryBaseDelayMs: 10,
        },
      ],
    },
  });
});

afterAll(async () => {
  firstInstance.open();
  await disposeBridge(bridge);
  await pacs?.close();
});

describe('two retrieves of one accession at the same time', () => {
  it('share one C-MOVE and both end complete', async () => {
    const retriever = bridge!.app.retrievers.get('counting')!;
    // The move stays at its first instance until both callers have their C-FIND answer, so
    // the second finds the first one's run in progress.
    const client = retriever.pacs;
    const findStudies = client.findStudies.bind(client);
    let answered = 0;
    client.findStudies = async (query): Promise<StudyMatch[]> => {
      const matches = await findStudies(query);
      if (++answered === 2) firstInstance.open();
      return matches;
    };
    const request = { accessionNumber: ACCESSION, patientId: delivered[0]!.patientId };
    const [first, second] = await Promise.all([
      retriever.retrieveByAccession(request),
      retriever.retrieveByAccession(request),
    ]);
    expect(answered).toBe(2);
    expect(pacs.finds).toBe(2);
    expect(pacs.moves).toBe(1);
    for (const outcome of [first, second]) {
      expect(outcome.kind, JSON.stringify(outcome)).toBe('complete');
      if (outcome.kind !== 'complete') continue;
      expect(outcome.studies).toEqual([
        {
          studyInstanceUid: delivered[0]!.studyUid,
          expected: delivered.length,
          held: delivered.length,
          attempts: 1,
        },
      ]);
    }
    for (const sample of delivered) {
      const location = bridge!.app.index.findInstance(sample.sopInstanceUid);
      expect(location, sample.path).toBeDefined();
      const stored = await storedDataset(bridge!.app.store, location!.storageKey);
      expect(stored.dataset.equals(sample.dataset), sample.path).toBe(true);
    }
  });
});
