import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeFileMeta } from '../../../src/dicom/file-meta.js';
import { BRIDGE_AE, disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import {
  connectClient,
  objectFiles,
  sha256,
  spoolFiles,
  waitForLog,
} from '../../helpers/dimse-checks.js';
import { SAMPLES_DIR, sampleFacts, type SampleFacts } from '../../helpers/samples.js';
import { storedDataset } from '../../helpers/stored.js';
import { runTool } from '../../helpers/tools.js';

/*
 * Duplicates (issue acceptance list): the same instance sent twice is stored once and both
 * sends succeed; the same SOP Instance UID with other content keeps the first and answers
 * 0xB000 under the default policy, and replaces the first (object and index row) under
 * duplicatePolicy "replace".
 */

let ct: SampleFacts;
/** CT_small with one character of PatientName changed: same length, same UIDs, other content. */
let altered: Buffer;
let bridge: TestBridge | undefined;

beforeAll(async () => {
  ct = await sampleFacts(join(SAMPLES_DIR, 'single', 'CT_small.dcm'));
  const name = Buffer.from('CompressedSamples^CT1', 'latin1');
  const at = ct.dataset.indexOf(name);
  expect(at).toBeGreaterThan(0);
  expect(ct.dataset.indexOf(name, at + 1)).toBe(-1);
  // PatientName (0010,0010) PN, explicit VR little endian: the value follows its 8-byte header.
  expect(
    ct.dataset.subarray(at - 8, at - 2).equals(Buffer.from([0x10, 0x00, 0x10, 0x00, 0x50, 0x4e])),
  ).toBe(true);
  altered = Buffer.from(ct.dataset);
  altered[at] = 'X'.charCodeAt(0); // "XompressedSamples^CT1"
  expect(altered.length).toBe(ct.dataset.length);
  expect(altered.equals(ct.dataset)).toBe(false);
});

afterEach(async () => {
  await disposeBridge(bridge);
  bridge = undefined;
});

/** One C-STORE of CT_small's UIDs with these dataset bytes, on a new association. */
async function send(dataset: Buffer, callingAe = 'TESTSCU'): Promise<number> {
  const client = await connectClient(bridge!, {
    callingAe,
    contexts: [{ abstractSyntax: ct.sopClassUid, transferSyntaxes: [ct.transferSyntaxUid] }],
  });
  try {
    return (
      (await client.store(ct.sopClassUid, ct.sopInstanceUid, ct.transferSyntaxUid, dataset))
        .status ?? -1
    );
  } finally {
    await client.release();
  }
}

/** The one indexed instance and its stored dataset bytes. */
async function theStoredInstance() {
  expect(bridge!.app.index.countInstances()).toBe(1);
  const location = bridge!.app.index.findInstance(ct.sopInstanceUid);
  expect(location).toBeDefined();
  const record = bridge!.app.index
    .listInstances(location!.seriesUid)
    .find((i) => i.sopInstanceUid === ct.sopInstanceUid);
  expect(record).toBeDefined();
  const stored = await storedDataset(bridge!.app.store, location!.storageKey);
  expect(await objectFiles(bridge!)).toEqual([location!.storageKey]);
  expect(await spoolFiles(bridge!)).toEqual([]);
  return { location: location!, record: record!, dataset: stored.dataset };
}

describe('duplicates', () => {
  it('stores an instance sent twice once, answering Success both times', async () => {
    bridge = await startBridge();
    expect(await send(ct.dataset)).toBe(0x0000);
    expect(await send(ct.dataset)).toBe(0x0000);
    const stored = await theStoredInstance();
    expect(stored.dataset.equals(ct.dataset)).toBe(true);
    expect(stored.location.datasetSha256).toBe(sha256(ct.dataset));
    expect(bridge.app.index.getStudy(ct.studyUid)?.instanceCount).toBe(1);
    expect(bridge.app.index.listSeries(ct.studyUid).map((s) => s.instanceCount)).toEqual([1]);
    const again = bridge.logs.filter(
      (line) => line.msg === 'instance received again with identical content; stored once',
    );
    expect(again).toHaveLength(1);
  });

  it('stores an identical instance again when its stored object has gone missing', async () => {
    bridge = await startBridge();
    expect(await send(ct.dataset)).toBe(0x0000);
    const { location } = await theStoredInstance();
    // An object lost behind the bridge's back (removed by hand, a restored backup without it).
    await bridge.app.store.delete(location.storageKey);
    expect(await objectFiles(bridge)).toEqual([]);

    expect(await send(ct.dataset)).toBe(0x0000);
    const stored = await theStoredInstance();
    expect(stored.dataset.equals(ct.dataset)).toBe(true);
    expect(stored.location.storageKey).toBe(location.storageKey);
    await waitForLog(
      bridge,
      (line) => line.msg === 'indexed instance missing from storage; stored again',
      'missing object warning',
    );
    expect(
      bridge.logs.filter(
        (line) => line.msg === 'instance received again with identical content; stored once',
      ),
    ).toHaveLength(0);
  });

  it('stores an instance sent twice by storescu once, both sends succeeding', async () => {
    bridge = await startBridge();
    for (let i = 0; i < 2; i++) {
      const result = await runTool('storescu', [
        '-v',
        '-aet',
        'STORESCU',
        '-aec',
        BRIDGE_AE,
        '127.0.0.1',
        String(bridge.port),
        ct.path,
      ]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout + result.stderr).toMatch(/Received Store Response \(Success\)/);
    }
    // storescu re-encodes the dataset, so what is stored is its encoding, once.
    const stored = await theStoredInstance();
    expect(stored.location.datasetSha256).toBe(sha256(stored.dataset));
    expect(bridge.app.index.getStudy(ct.studyUid)?.instanceCount).toBe(1);
    expect(
      bridge.logs.filter(
        (line) => line.msg === 'instance received again with identical content; stored once',
      ),
    ).toHaveLength(1);
  });

  it('stores an instance sent on two associations at the same time once', async () => {
    bridge = await startBridge();
    const statuses = await Promise.all([send(ct.dataset), send(ct.dataset), send(ct.dataset)]);
    expect(statuses).toEqual([0x0000, 0x0000, 0x0000]);
    const stored = await theStoredInstance();
    expect(stored.dataset.equals(ct.dataset)).toBe(true);
    expect(bridge.app.index.getStudy(ct.studyUid)?.instanceCount).toBe(1);
  });

  it('keeps the first of two contents under one SOP Instance UID by default, answering 0xB000', async () => {
    bridge = await startBridge();
    expect(bridge.config.ingest.duplicatePolicy).toBe('keep-first');
    expect(await send(ct.dataset)).toBe(0x0000);
    const before = await theStoredInstance();

    expect(await send(altered)).toBe(0xb000);
    const after = await theStoredInstance();
    expect(after.dataset.equals(ct.dataset)).toBe(true);
    expect(after.location).toEqual(before.location);
    expect(after.record).toEqual(before.record);
    expect(after.location.datasetSha256).toBe(sha256(ct.dataset));
    const warning = await waitForLog(
      bridge,
      (line) =>
        line.level === 'warn' &&
        line.sopInstanceUid === ct.sopInstanceUid &&
        /already stored with other content/.test(String(line.msg)),
      'duplicate warning',
    );
    expect(warning).toMatchObject({
      storedSha256: sha256(ct.dataset),
      receivedSha256: sha256(altered),
    });

    // DCMTK sees the warning too (its encoding of the altered instance is other content again).
    const dir = mkdtempSync(join(tmpdir(), 'bridge-duplicates-'));
    try {
      const file = join(dir, 'altered.dcm');
      writeFileSync(file, Buffer.concat([encodeFileMeta(ct), altered]));
      const result = await runTool('storescu', [
        '-v',
        '-aet',
        'STORESCU',
        '-aec',
        BRIDGE_AE,
        '127.0.0.1',
        String(bridge.port),
        file,
      ]);
      expect(result.stdout + result.stderr).toMatch(
        /Received Store Response \(Warning: CoercionOfDataElements\)/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect((await theStoredInstance()).dataset.equals(ct.dataset)).toBe(true);
  });

  it('replaces the first content under duplicatePolicy "replace": object and index row', async () => {
    bridge = await startBridge({ ingest: { duplicatePolicy: 'replace' } });
    expect(await send(ct.dataset)).toBe(0x0000);
    const before = await theStoredInstance();
    expect(before.dataset.equals(ct.dataset)).toBe(true);

    expect(await send(altered, 'STORESCU')).toBe(0x0000);
    const after = await theStoredInstance();
    // The object holds the second content ...
    expect(after.dataset.equals(altered)).toBe(true);
    // ... and the index row describes it, not the first.
    expect(after.location.datasetSha256).toBe(sha256(altered));
    expect(after.record.datasetSha256).toBe(sha256(altered));
    expect(after.record.callingAe).toBe('STORESCU');
    expect(bridge.app.index.getStudy(ct.studyUid)?.instanceCount).toBe(1);
    expect(bridge.app.index.listSeries(ct.studyUid).map((s) => s.instanceCount)).toEqual([1]);
    await waitForLog(
      bridge,
      (line) =>
        line.level === 'warn' &&
        line.sopInstanceUid === ct.sopInstanceUid &&
        /replaced/.test(String(line.msg)),
      'replacement warning',
    );

    // The replacement is now the stored content: sending it again is an identical duplicate.
    expect(await send(altered)).toBe(0x0000);
    expect(
      bridge.logs.filter(
        (line) => line.msg === 'instance received again with identical content; stored once',
      ),
    ).toHaveLength(1);
    expect((await theStoredInstance()).dataset.equals(altered)).toBe(true);
  });

  it('moves the instance when a replacement carries another SeriesInstanceUID, keeping one object', async () => {
    bridge = await startBridge({ ingest: { duplicatePolicy: 'replace' } });
    expect(await send(ct.dataset)).toBe(0x0000);
    const firstKey = bridge.app.index.findInstance(ct.sopInstanceUid)!.storageKey;

    // Same length, last digit of the SeriesInstanceUID changed.
    const series = Buffer.from(ct.seriesUid, 'latin1');
    const at = ct.dataset.indexOf(series);
    expect(at).toBeGreaterThan(0);
    const moved = Buffer.from(ct.dataset);
    const last = at + series.length - 1;
    moved[last] = moved[last] === 0x31 ? 0x32 : 0x31;
    const movedSeries = moved.toString('latin1', at, at + series.length);

    expect(await send(moved)).toBe(0x0000);
    const location = bridge.app.index.findInstance(ct.sopInstanceUid)!;
    expect(location.seriesUid).toBe(movedSeries);
    expect(location.storageKey).not.toBe(firstKey);
    expect(await objectFiles(bridge)).toEqual([location.storageKey]);
    const counts = bridge.app.index
      .listSeries(ct.studyUid)
      .map((s) => [s.seriesUid, s.instanceCount]);
    expect(counts).toContainEqual([movedSeries, 1]);
    expect(counts).toContainEqual([ct.seriesUid, 0]);
    expect(bridge.app.index.getStudy(ct.studyUid)?.instanceCount).toBe(1);
  });
});
