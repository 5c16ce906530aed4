import { createReadStream } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identifierOf, type Identifier } from '../../../src/dicom/identifier.js';
import { splitPart10 } from '../../../src/dicom/part10-stream.js';
import { AePolicy } from '../../../src/dimse/ae-policy.js';
import type { QrService, RetrieveInstance } from '../../../src/dimse/qr-service.js';
import { DimseServer } from '../../../src/dimse/scp.js';
import type { StudyMatch } from '../../../src/retrieve/pacs-client.js';
import { BRIDGE_AE, disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { quietLog } from '../../helpers/dimse-checks.js';
import { sampleFacts, validSamples, type SampleFacts } from '../../helpers/samples.js';
import { storedDataset } from '../../helpers/stored.js';
import { gate } from '../../helpers/test-store-scp.js';

/*
 * Two retrieves of the same accession at once on one StudyRetriever share one run: the PACS
 * (on the bridge's own network layer, so the test can count its C-MOVEs and hold one in
 * progress) sees a single C-MOVE, and both callers get the study complete. The PACS announces
 * exactly the instances it sends.
 */

const PACS_AE = 'COUNTPACS';
const ACCESSION = 'SHARED-1';
let pacs: DimseServer;
let pacsPort: number;
let delivered: SampleFacts[];
let bridge: TestBridge | undefined;
let finds = 0;
let moves = 0;
/** The first instance of the move is read only once the test lets it. */
const firstInstance = gate();

beforeAll(async () => {
  const all = await Promise.all(validSamples().map((path) => sampleFacts(path)));
  const study = all.find((s) => s.path.includes('77654033/CT2'))!.studyUid;
  delivered = all.filter((s) => s.studyUid === study);
  expect(delivered.length).toBeGreaterThan(1);
  const instanceOf = (sample: SampleFacts, index: number): RetrieveInstance => ({
    sopClassUid: sample.sopClassUid,
    sopInstanceUid: sample.sopInstanceUid,
    transferSyntaxUid: sample.transferSyntaxUid,
    open: async () => {
      if (index === 0) await firstInstance.wait;
      return (await splitPart10(createReadStream(sample.path))).dataset;
    },
  });
  const service: QrService = {
    find: (): Identifier[] => {
      finds++;
      return [
        identifierOf({
          QueryRetrieveLevel: 'STUDY',
          StudyInstanceUID: study,
          AccessionNumber: ACCESSION,
          PatientID: delivered[0]!.patientId,
          NumberOfStudyRelatedInstances: String(delivered.length),
        }),
      ];
    },
    select: () => {
      moves++;
      return delivered.map(instanceOf);
    },
    moveDestination: (aeTitle) =>
      aeTitle === BRIDGE_AE && bridge
        ? { aeTitle, host: '127.0.0.1', port: bridge.port }
        : undefined,
    acquireRetrieveSlot: () => () => undefined,
    transcodeUncompressed: false,
    sendTimeoutMs: 10_000,
  };
  pacs = new DimseServer(
    {
      host: '127.0.0.1',
      port: 0,
      maxAssociations: 8,
      maxPduLength: 64 * 1024,
      artimMs: 10_000,
      idleTimeoutMs: 30_000,
      acceptPrivateSopClasses: false,
    },
    await AePolicy.create([PACS_AE], [{ aeTitle: BRIDGE_AE, host: undefined }]),
    {
      begin: () => {
        throw new Error('the test PACS takes no C-STORE');
      },
    },
    quietLog,
    service,
  );
  pacsPort = await pacs.listen();
  bridge = await startBridge({
    pacs: {
      nodes: [
        {
          name: 'counting',
          aeTitle: PACS_AE,
          host: '127.0.0.1',
          port: pacsPort,
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
  await pacs?.close(1000);
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
    expect(finds).toBe(2);
    expect(moves).toBe(1);
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
