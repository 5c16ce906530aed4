import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFileMeta } from '../../../src/dicom/file-meta.js';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import {
  connectClient,
  echoStatus,
  expectNothingStored,
  objectFiles,
  spoolFiles,
  waitForLog,
} from '../../helpers/dimse-checks.js';
import { EXPLICIT_LE, IMPLICIT_LE, VERIFICATION } from '../../helpers/raw-peer.js';
import { SAMPLES_DIR, badSamples, sampleFacts, sampleName } from '../../helpers/samples.js';
import { storedDataset } from '../../helpers/stored.js';
import { runTool } from '../../helpers/tools.js';

/*
 * Bad input (issue acceptance list): every file in dicom-samples/bad (truncated, no file meta,
 * invalid Study Instance UIDs) is refused with a failure status and leaves nothing behind;
 * badVR.dcm (an invalid NumberOfFrames, not a key element) is stored as received with a
 * warning. Also: an invalid UID in the C-STORE command, and a dataset whose SOP Class differs
 * from the command's.
 */

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';

/**
 * no_meta.dcm has no PS3.10 header: it is a bare (and broken: a stray 0x20 byte in front of
 * (0008,0005)) explicit VR little endian dataset. Its UIDs, checked with
 * `tail -c +2 no_meta.dcm | dcmdump -f +P 0008,0016 +P 0008,0018 -`:
 */
const NO_META = {
  sopClassUid: CT_IMAGE_STORAGE,
  sopInstanceUid: '1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322',
  transferSyntaxUid: EXPLICIT_LE,
};

interface Sendable {
  name: string;
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  dataset: Buffer;
}

/**
 * The SOP Instance UID in the dataset itself, read with dcmdump (which still prints what it
 * could read of a truncated file). Some samples' file meta disagree with their dataset
 * (badVR.dcm, rtplan_truncated.dcm); the command must carry the dataset's UID, so that the only
 * thing wrong with what we send is the defect under test.
 */
async function datasetSopInstanceUid(path: string): Promise<string | undefined> {
  const result = await runTool('dcmdump', ['+E', '+P', '0008,0018', path]);
  return /^\(0008,0018\) UI \[([^\]]*)\]/m.exec(result.stdout)?.[1];
}

/** What to send for a file: the dataset after its file meta, as the meta describes it. */
async function sendable(path: string): Promise<Sendable> {
  const file = readFileSync(path);
  if (basename(path) === 'no_meta.dcm') {
    expect(() => parseFileMeta(file)).toThrow(/DICM/);
    return { name: sampleName(path), ...NO_META, dataset: file };
  }
  const meta = parseFileMeta(file);
  return {
    name: sampleName(path),
    sopClassUid: meta.sopClassUid,
    sopInstanceUid: (await datasetSopInstanceUid(path)) ?? meta.sopInstanceUid,
    transferSyntaxUid: meta.transferSyntaxUid,
    dataset: file.subarray(meta.datasetOffset),
  };
}

/** One C-STORE on a new association; resolves with the response status. */
async function store(
  bridge: TestBridge,
  item: Sendable,
  commandSopClass = item.sopClassUid,
  commandSopInstance = item.sopInstanceUid,
): Promise<number> {
  const client = await connectClient(bridge, {
    contexts: [
      { abstractSyntax: commandSopClass, transferSyntaxes: [item.transferSyntaxUid] },
      { abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] },
    ],
  });
  try {
    const response = await client.store(
      commandSopClass,
      commandSopInstance,
      item.transferSyntaxUid,
      item.dataset,
    );
    // The association survives a refused instance.
    expect(await client.echo()).toBe(0x0000);
    return response.status ?? -1;
  } finally {
    await client.release();
  }
}

const refused = badSamples().filter((path) => basename(path) !== 'badVR.dcm');

/** Why each bad sample must be refused, as the refusal log line's reason says it. */
const EXPECTED_REASON: Record<string, RegExp> = {
  'bad/MR_truncated.dcm': /truncated/,
  'bad/rtplan_truncated.dcm': /truncated/,
  'bad/no_meta.dcm': /invalid VR/,
  'bad/generated/CT_bad_study_uid_70_chars.dcm': /StudyInstanceUID is not a valid UID/,
  'bad/generated/CT_bad_study_uid_letters.dcm': /StudyInstanceUID is not a valid UID/,
  'bad/generated/CT_bad_study_uid_path_traversal.dcm': /StudyInstanceUID is not a valid UID/,
};

describe('bad input', () => {
  let bridge: TestBridge;

  beforeAll(async () => {
    bridge = await startBridge();
  });

  afterAll(async () => {
    await disposeBridge(bridge);
  });

  it('has every bad sample it is meant to refuse', () => {
    expect(refused.map(sampleName)).toEqual([
      'bad/MR_truncated.dcm',
      'bad/generated/CT_bad_study_uid_70_chars.dcm',
      'bad/generated/CT_bad_study_uid_letters.dcm',
      'bad/generated/CT_bad_study_uid_path_traversal.dcm',
      'bad/no_meta.dcm',
      'bad/rtplan_truncated.dcm',
    ]);
  });

  it.each(refused.map((path) => [sampleName(path), path]))(
    'refuses %s and keeps nothing',
    async (name, path) => {
      const item = await sendable(path);
      const status = await store(bridge, item);
      expect(status, `${name}: status 0x${status.toString(16)}`).toBeGreaterThanOrEqual(0xa000);
      const line = await waitForLog(
        bridge,
        (l) =>
          l.msg === 'instance refused; nothing kept' &&
          l.sopInstanceUid === item.sopInstanceUid &&
          l.status === status,
        `${name} refusal logged`,
      );
      expect(String(line.reason)).toMatch(EXPECTED_REASON[name]!);
      await expectNothingStored(bridge);
      expect(bridge.app.index.findInstance(item.sopInstanceUid)).toBeUndefined();
      expect(await echoStatus(bridge)).toBe(0x0000);
    },
  );

  it('never lets a path in a Study Instance UID escape the storage root', async () => {
    const path = join(SAMPLES_DIR, 'bad', 'generated', 'CT_bad_study_uid_path_traversal.dcm');
    const item = await sendable(path);
    expect(await store(bridge, item)).toBeGreaterThanOrEqual(0xa000);
    if (bridge.config.storage.kind !== 'fs') throw new Error('filesystem storage expected');
    const escaped = resolve(
      bridge.config.storage.rootDir,
      'studies',
      '../../../../tmp/bridge-escape',
    );
    expect(existsSync(escaped), escaped).toBe(false);
    await expectNothingStored(bridge);
  });

  it('refuses an invalid SOP Instance UID in the C-STORE command', async () => {
    const ct = await sampleFacts(join(SAMPLES_DIR, 'single', 'CT_small.dcm'));
    const item: Sendable = { name: 'CT_small with 1.2.abc', ...ct };
    const status = await store(bridge, item, ct.sopClassUid, '1.2.abc');
    expect(status).toBeGreaterThanOrEqual(0xa000);
    expect(status).toBe(0xc000);
    await expectNothingStored(bridge);
    expect(bridge.app.index.findInstance(ct.sopInstanceUid)).toBeUndefined();
  });

  it('answers 0xA900 to a dataset whose SOP Class differs from the command', async () => {
    const ct = await sampleFacts(join(SAMPLES_DIR, 'single', 'CT_small.dcm'));
    expect(ct.sopClassUid).toBe(CT_IMAGE_STORAGE);
    // Command and presentation context say MR Image Storage; the dataset is a CT image.
    const status = await store(bridge, { name: 'CT as MR', ...ct }, MR_IMAGE_STORAGE);
    expect(status).toBe(0xa900);
    await expectNothingStored(bridge);
  });

  it('refuses a whole PS3.10 file (preamble and file meta) sent as the dataset', async () => {
    const ct = await sampleFacts(join(SAMPLES_DIR, 'single', 'CT_small.dcm'));
    const item: Sendable = { name: 'CT_small as a file', ...ct, dataset: readFileSync(ct.path) };
    expect(await store(bridge, item)).toBeGreaterThanOrEqual(0xa000);
    await expectNothingStored(bridge);
  });

  it('refuses a dataset encoded in another transfer syntax than the negotiated one', async () => {
    const ct = await sampleFacts(join(SAMPLES_DIR, 'single', 'CT_small.dcm'));
    expect(ct.transferSyntaxUid).toBe(EXPLICIT_LE);
    // Explicit VR bytes on an Implicit VR Little Endian context.
    const item: Sendable = { name: 'explicit as implicit', ...ct, transferSyntaxUid: IMPLICIT_LE };
    expect(await store(bridge, item)).toBe(0xc000);
    await expectNothingStored(bridge);
  });

  it('stores badVR.dcm (NumberOfFrames "1A") as received, with a warning naming NumberOfFrames', async () => {
    const path = join(SAMPLES_DIR, 'bad', 'badVR.dcm');
    const item = await sendable(path);
    // Its file meta names another SOP Instance UID than its dataset; the dataset's is the one.
    expect(item.sopInstanceUid).toBe('1.9.999.999.99.9.9999.9999.20030818153516');
    expect(await store(bridge, item)).toBe(0x0000);
    const location = bridge.app.index.findInstance(item.sopInstanceUid);
    expect(location).toBeDefined();
    const stored = await storedDataset(bridge.app.store, location!.storageKey);
    expect(stored.transferSyntaxUid).toBe(item.transferSyntaxUid);
    expect(stored.dataset.equals(item.dataset)).toBe(true);
    expect(await objectFiles(bridge)).toEqual([location!.storageKey]);
    expect(await spoolFiles(bridge)).toEqual([]);

    // The invalid value is reported, not silently indexed.
    const warnings = bridge.logs.filter(
      (line) =>
        line.level === 'warn' &&
        line.sopInstanceUid === item.sopInstanceUid &&
        JSON.stringify(line).includes('NumberOfFrames'),
    );
    expect(warnings, 'a warning log line naming NumberOfFrames').toHaveLength(1);
    expect(JSON.stringify(warnings[0])).toMatch(/NumberOfFrames.*1A/);
    // ... and "1A" is not a number of frames: the index leaves it empty rather than guess.
    const instance = bridge.app.index
      .listInstances(location!.seriesUid)
      .find((i) => i.sopInstanceUid === item.sopInstanceUid);
    expect(instance).toBeDefined();
    expect(instance!.frames).toBeUndefined();
  });
});
