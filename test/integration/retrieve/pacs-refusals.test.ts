import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DimseStatusError } from '../../../src/dimse/errors.js';
import { BRIDGE_AE, disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { settle } from '../../helpers/dimse-checks.js';
import { orthancNode, startOrthanc, type OrthancPacs } from '../../helpers/orthanc.js';
import { SAMPLES_DIR, sampleFacts, type SampleFacts } from '../../helpers/samples.js';

/*
 * Our SCU against a real PACS that refuses a retrieve: Orthanc asked to C-MOVE to an AE title
 * it does not know answers with a failure status, which PacsClient.moveStudy surfaces as a
 * DimseStatusError carrying that status, with nothing sent.
 */

const UNKNOWN_AE = 'FSEBRIDGE2';
let orthanc: OrthancPacs;
let bridge: TestBridge;
let sample: SampleFacts;

beforeAll(async () => {
  orthanc = await startOrthanc();
  sample = await sampleFacts(join(SAMPLES_DIR, 'single/CT_small.dcm'));
  const uploaded = await orthanc.upload(sample.path);
  expect(uploaded.Status).toBe('Success');
  bridge = await startBridge({
    dicom: { aeTitles: [BRIDGE_AE, UNKNOWN_AE] },
    pacs: {
      nodes: [
        // We call as FSEBRIDGE, which Orthanc knows, and ask it to move to FSEBRIDGE2.
        orthancNode(orthanc, {
          callingAeTitle: BRIDGE_AE,
          moveDestination: UNKNOWN_AE,
          maxRetries: 0,
          responseTimeoutMs: 30_000,
        }),
      ],
    },
  });
  await orthanc.setModality('bridge', { aeTitle: BRIDGE_AE, host: '127.0.0.1', port: bridge.port });
}, 120_000);

afterAll(async () => {
  await disposeBridge(bridge);
  await orthanc?.stop();
});

describe('Orthanc asked to move to an unknown destination', () => {
  it('answers a failure that PacsClient.moveStudy throws as DimseStatusError', async () => {
    const { pacs } = bridge.app.retrievers.get('orthanc')!;
    // The study is there: the same node finds it.
    const found = await pacs.findStudies({ studyInstanceUid: sample.studyUid });
    expect(found.map((s) => s.studyInstanceUid)).toEqual([sample.studyUid]);

    const moved = await settle(pacs.moveStudy(sample.studyUid));
    expect(moved.ok).toBe(false);
    const error = (moved as { error: unknown }).error;
    expect(error).toBeInstanceOf(DimseStatusError);
    const { status, counts } = error as DimseStatusError;
    // Orthanc 1.10 answers 0xC000 (unable to process), not 0xA801.
    expect(status).toBe(0xc000);
    expect(counts?.completed ?? 0).toBe(0);
    expect(bridge.app.index.countInstances()).toBe(0);
  });
});
