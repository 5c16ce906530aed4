import { createReadStream } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identifierOf, type Identifier } from '../../../src/dicom/identifier.js';
import { splitPart10 } from '../../../src/dicom/part10-stream.js';
import { AePolicy } from '../../../src/dimse/ae-policy.js';
import type { QrService, RetrieveInstance } from '../../../src/dimse/qr-service.js';
import { DimseServer } from '../../../src/dimse/scp.js';
import { BRIDGE_AE, disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { quietLog } from '../../helpers/dimse-checks.js';
import { sampleFacts, validSamples, type SampleFacts } from '../../helpers/samples.js';

/*
 * A PACS that announces more instances than it delivers (built on the bridge's own network
 * layer, since Orthanc computes its counts itself): the bridge retries with backoff and
 * reports the study incomplete, never complete.
 */

const PACS_AE = 'SHORTPACS';
const ACCESSION = 'SHORT-1';
let pacs: DimseServer;
let pacsPort: number;
let delivered: SampleFacts[];
let bridgePort = 0;
let moves = 0;

function instanceOf(sample: SampleFacts): RetrieveInstance {
  return {
    sopClassUid: sample.sopClassUid,
    sopInstanceUid: sample.sopInstanceUid,
    transferSyntaxUid: sample.transferSyntaxUid,
    open: async () => (await splitPart10(createReadStream(sample.path))).dataset,
  };
}

beforeAll(async () => {
  const all = await Promise.all(validSamples().map((path) => sampleFacts(path)));
  const study = all.find((s) => s.path.includes('77654033/CT2'))!.studyUid;
  delivered = all.filter((s) => s.studyUid === study);
  const service: QrService = {
    find: (): Identifier[] => [
      identifierOf({
        QueryRetrieveLevel: 'STUDY',
        StudyInstanceUID: study,
        AccessionNumber: ACCESSION,
        PatientID: delivered[0]!.patientId,
        // One more than it will send.
        NumberOfStudyRelatedInstances: String(delivered.length + 1),
      }),
    ],
    select: () => {
      moves++;
      return delivered.map(instanceOf);
    },
    moveDestination: (aeTitle) =>
      aeTitle === BRIDGE_AE ? { aeTitle, host: '127.0.0.1', port: bridgePort } : undefined,
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
});

afterAll(async () => {
  await pacs?.close(1000);
});

describe('a PACS that delivers fewer instances than it announces', () => {
  let bridge: TestBridge | undefined;
  afterAll(() => disposeBridge(bridge));

  it('is reported incomplete after the configured retries', async () => {
    bridge = await startBridge({
      pacs: {
        nodes: [
          {
            name: 'short',
            aeTitle: PACS_AE,
            host: '127.0.0.1',
            port: pacsPort,
            maxRetries: 2,
            retryBaseDelayMs: 10,
          },
        ],
      },
    });
    bridgePort = bridge.port;
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
    expect(moves).toBe(3);
    for (const sample of delivered)
      expect(bridge.app.index.findInstance(sample.sopInstanceUid)).toBeDefined();
  });
});
