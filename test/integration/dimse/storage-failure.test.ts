import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IntentLog } from '../../../src/ingest/intent-log.js';
import { instanceKey } from '../../../src/storage/keys.js';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { connectClient, objectFiles, spoolFiles, waitForLog } from '../../helpers/dimse-checks.js';
import { SAMPLES_DIR, sampleFacts, type SampleFacts } from '../../helpers/samples.js';
import { storedDataset } from '../../helpers/stored.js';

/*
 * A store that fails after the instance was received: the sender gets 0xA700, index and storage
 * agree that nothing is stored, and the note of the key stays in the journal so that a later
 * start settles it again (the failed store may have left a rename whose directory entry is not
 * durable).
 */

let ct: SampleFacts;
let mr: SampleFacts;
let bridge: TestBridge | undefined;

beforeAll(async () => {
  ct = await sampleFacts(join(SAMPLES_DIR, 'single', 'CT_small.dcm'));
  mr = await sampleFacts(join(SAMPLES_DIR, 'single', 'MR_small.dcm'));
});

afterEach(async () => {
  await disposeBridge(bridge);
  bridge = undefined;
});

async function send(sample: SampleFacts): Promise<number> {
  const client = await connectClient(bridge!, {
    callingAe: 'TESTSCU',
    contexts: [
      { abstractSyntax: sample.sopClassUid, transferSyntaxes: [sample.transferSyntaxUid] },
    ],
  });
  try {
    const { sopClassUid, sopInstanceUid, transferSyntaxUid, dataset } = sample;
    return (
      (await client.store(sopClassUid, sopInstanceUid, transferSyntaxUid, dataset)).status ?? -1
    );
  } finally {
    await client.release();
  }
}

describe('a store that fails after the instance arrived', () => {
  it('answers 0xA700, keeps nothing, keeps the note of its key, and stores it when sent again', async () => {
    bridge = await startBridge();
    if (bridge.config.storage.kind !== 'fs') throw new Error('expects filesystem storage');
    const key = instanceKey(ct.studyUid, ct.seriesUid, ct.sopInstanceUid);
    // A file where the study's directory must go: the object cannot be put in place.
    const blocker = join(bridge.config.storage.rootDir, 'studies', ct.studyUid);
    mkdirSync(dirname(blocker), { recursive: true });
    writeFileSync(blocker, 'not a directory');

    expect(await send(ct)).toBe(0xa700);
    await waitForLog(
      bridge,
      (line) => line.msg === 'storage failure; instance refused' && line.key === key,
      'storage failure',
    );
    expect(bridge.app.index.findInstance(ct.sopInstanceUid)).toBeUndefined();
    expect(bridge.app.index.countInstances()).toBe(0);
    expect(await objectFiles(bridge)).toEqual([`studies/${ct.studyUid}`]);
    expect(await spoolFiles(bridge)).toEqual([]);
    // The next instance's note takes a free slot of the journal: not the one of the failed key.
    expect(await send(mr)).toBe(0x0000);
    expect(await new IntentLog(bridge.config.spoolDir).pending()).toContain(key);

    rmSync(blocker);
    expect(await send(ct)).toBe(0x0000);
    const location = bridge.app.index.findInstance(ct.sopInstanceUid);
    expect(location?.storageKey).toBe(key);
    expect((await storedDataset(bridge.app.store, key)).dataset.equals(ct.dataset)).toBe(true);
  });
});
