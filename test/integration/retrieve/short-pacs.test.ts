import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import type { SampleFacts } from '../../helpers/samples.js';
import { sampleStudy, startTestPacs, type TestPacs } from '../../helpers/test-pacs.js';

/*
 * A PACS that announces more instances than it delivers (built on the bridge's own network
 * layer, since Orthanc computes its counts itself): the bridge retries with backoff and
 * reports the study incomplete, never complete.
 */

const PACS_AE = 'SHORTPACS';
const ACCESSION = 'SHORT-1';
let pacs: TestPacs;
let delivered: SampleFacts[];
let bridge: TestBridge | undefined;

beforeAll(async () => {
  delivered = await sampleStudy('77654033/CT2');
  pacs = await startTestPacs({
    aeTitle: PACS_AE,
    instances: delivered,
    accessionNumber: ACCESSION,
    // One more than it will send.
    announcedInstances: delivered.length + 1,
    bridgePort: () => bridge?.port,
  });
});

afterAll(async () => {
  await pacs?.close();
});

describe('a PACS that delivers fewer instances than it announces', () => {
  afterAll(() => disposeBridge(bridge));

  it('is reported incomplete after the configured retries', async () => {
    bridge = await startBridge({
      pacs: {
        nodes: [
          {
            name: 'short',
            aeTitle: PACS_AE,
            host: '127.0.0.1',
            port: pacs.port,
            maxRetries: 2,
            retryBaseDelayMs: 10,
          },
        ],
      },
    });
    const outcome = await bridge.app.retrievers.get('short')!.retrieveByAccession({
      accessionNumber: ACCESSION,
      patientId: delivered[0]!.patientId,
    });
    expect(outcome.kind).toBe('incomplete');
    if (outcome.kind !== 'incomplete') return;
    expect(outcome.studies).toHaveLength(1);
    expect(outcome.studies[0]).toMatchObject({
      expected: delivered.length + 1,
      held: delivered.length,
      attempts: 3,
    });
    // One C-MOVE per attempt: the first and two retries.
    expect(pacs.moves).toBe(3);
    for (const sample of delivered)
      expect(bridge.app.index.findInstance(sample.sopInstanceUid)).toBeDefined();
  });
});
