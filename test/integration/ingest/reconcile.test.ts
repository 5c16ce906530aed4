import { copyFileSync, existsSync, mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BRIDGE_AE, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { SAMPLES_DIR, sampleFacts } from '../../helpers/samples.js';
import { noteIntents, spoolFilesWithData } from '../../helpers/process-data.js';
import { runTool } from '../../helpers/tools.js';

/*
 * Start-up reconciliation from the intent notes an interrupted store leaves in the spool:
 * storage is the truth, so the index is brought in line with what storage holds under each
 * noted key.
 */

let bridge: TestBridge | undefined;
let dataDir: string | undefined;

afterEach(async () => {
  await bridge?.stop();
  bridge = undefined;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

async function storeSample(): Promise<{ key: string; sopInstanceUid: string }> {
  const path = join(SAMPLES_DIR, 'single', 'MR_small.dcm');
  const facts = await sampleFacts(path);
  bridge = await startBridge();
  dataDir = bridge.dataDir;
  const sent = await runTool('dcmsend', [
    '-aet',
    'DCMSEND',
    '-aec',
    BRIDGE_AE,
    '127.0.0.1',
    String(bridge.port),
    path,
  ]);
  expect(sent.code, sent.stderr).toBe(0);
  const location = bridge.app.index.findInstance(facts.sopInstanceUid);
  expect(location).toBeDefined();
  await bridge.stop();
  return { key: location!.storageKey, sopInstanceUid: facts.sopInstanceUid };
}

describe('start-up reconciliation', () => {
  it('removes an index row whose object never became durable', async () => {
    const { key, sopInstanceUid } = await storeSample();
    const objects = join(dataDir!, 'objects');
    // What a crash leaves when the index commit was durable but the rename was not.
    unlinkSync(join(objects, key));
    await noteIntents(join(objects, '.spool'), [key]);

    bridge = await startBridge({}, dataDir);
    expect(bridge.app.index.findInstance(sopInstanceUid)).toBeUndefined();
    expect(bridge.app.index.countInstances()).toBe(0);
    expect(spoolFilesWithData(join(objects, '.spool'))).toEqual([]);
    expect(bridge.logs.some((line) => line.msg === 'index row without its object removed')).toBe(
      true,
    );
  });

  it('leaves an index that agrees with storage as it is', async () => {
    const { key, sopInstanceUid } = await storeSample();
    const objects = join(dataDir!, 'objects');
    // A note written by an earlier version, one file per note.
    writeFileSync(join(objects, '.spool', 'finished.intent'), key);

    bridge = await startBridge({}, dataDir);
    expect(bridge.app.index.findInstance(sopInstanceUid)?.storageKey).toBe(key);
    expect(bridge.app.index.countInstances()).toBe(1);
    expect(spoolFilesWithData(join(objects, '.spool'))).toEqual([]);
  });

  it('removes an object superseded by a replacement stored under other UIDs', async () => {
    const { key, sopInstanceUid } = await storeSample();
    const objects = join(dataDir!, 'objects');
    // The state a kill leaves after a replacement moved the instance to another study: the
    // old object still there, the index pointing at the new one, the note of the old key.
    const oldKey = `studies/1.2.3.4/1.2.3.4.5/${sopInstanceUid}.dcm`;
    mkdirSync(join(objects, 'studies/1.2.3.4/1.2.3.4.5'), { recursive: true });
    copyFileSync(join(objects, key), join(objects, oldKey));
    await noteIntents(join(objects, '.spool'), [oldKey]);

    bridge = await startBridge({}, dataDir);
    expect(bridge.app.index.findInstance(sopInstanceUid)?.storageKey).toBe(key);
    expect(existsSync(join(objects, oldKey))).toBe(false);
    expect(existsSync(join(objects, key))).toBe(true);
    expect(bridge.logs.some((line) => line.msg === 'superseded object removed')).toBe(true);
  });
});
