import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { StudyIndex } from '../../../src/index/study-index.js';
import { rebuildIndex } from '../../../src/ingest/rebuild.js';
import { createLogger } from '../../../src/logger.js';
import { FilesystemStore } from '../../../src/storage/fs-store.js';
import { instanceKey } from '../../../src/storage/keys.js';
import { startBridge, type LogLine, type TestBridge } from '../../helpers/bridge.js';
import { snapshotIndex } from '../../helpers/process-data.js';
import { SAMPLES_DIR, sampleFacts, validSamples } from '../../helpers/samples.js';
import {
  syntheticUids,
  writeSyntheticFile,
  writeSyntheticInstances,
} from '../../helpers/synthetic.js';
import { dcmsend } from '../../helpers/tools.js';

const MAX_HEADER_BYTES = 64 * 1024 * 1024;

let dirs: string[] = [];
let bridge: TestBridge | undefined;

afterEach(async () => {
  await bridge?.stop();
  bridge = undefined;
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

function capturingLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n'))
        if (line) lines.push(JSON.parse(line) as LogLine);
      callback();
    },
  });
  return { log: createLogger('debug', sink), lines };
}

describe('rebuilding the index from storage', () => {
  it('reproduces the same studies, series and instances as ingest indexed', async () => {
    const files = validSamples().filter(
      (path) =>
        path.startsWith(join(SAMPLES_DIR, 'single')) ||
        path.startsWith(join(SAMPLES_DIR, 'studies')),
    );
    bridge = await startBridge();
    dirs.push(bridge.dataDir);
    const sent = await dcmsend(bridge.port, files);
    // Files sharing a SOP Instance UID are answered with a warning (first kept); none fails.
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stderr).not.toMatch(/E: /);

    const ingested = snapshotIndex(bridge.app.index);
    const distinctSops = new Set(
      (await Promise.all(files.map((path) => sampleFacts(path)))).map(
        (facts) => facts.sopInstanceUid,
      ),
    );
    expect(ingested.instances).toHaveLength(distinctSops.size);
    expect(ingested.studies.length).toBeGreaterThan(5);
    const config = bridge.config;
    await bridge.stop();
    bridge = undefined;
    if (config.storage.kind !== 'fs') throw new Error('expected filesystem storage');

    // In place: the same index file, cleared and rebuilt.
    const store = new FilesystemStore({ rootDir: config.storage.rootDir });
    const { log } = capturingLogger();
    const index = StudyIndex.open(config.index.path);
    try {
      const report = await rebuildIndex(store, index, log, MAX_HEADER_BYTES);
      expect(report).toEqual({ indexed: distinctSops.size, skipped: 0 });
      expect(snapshotIndex(index)).toEqual(ingested);
    } finally {
      index.close();
    }

    // Disaster recovery: the index is lost, a new one is built from storage alone.
    const fresh = StudyIndex.open(join(tempDir('bridge-rebuild-index-'), 'index.sqlite'));
    try {
      const report = await rebuildIndex(store, fresh, log, MAX_HEADER_BYTES);
      expect(report).toEqual({ indexed: distinctSops.size, skipped: 0 });
      expect(snapshotIndex(fresh)).toEqual(ingested);
    } finally {
      fresh.close();
      await store.close();
    }
  });

  it('skips and reports objects under studies/ that are not valid instances, and indexes the rest', async () => {
    const dir = tempDir('bridge-rebuild-bad-');
    const written = writeSyntheticInstances(join(dir, 'in'), 5, { rows: 8, columns: 8 }, 3);
    const store = new FilesystemStore({ rootDir: join(dir, 'objects') });
    for (const [i, instance] of written.entries()) {
      const uids = syntheticUids({
        study: 300000,
        series: 1 + (Math.floor(i / 50) % 2),
        instance: i + 1,
      });
      await store.putBuffer(
        instanceKey(uids.study, uids.series, uids.sop),
        readFileSync(instance.path),
      );
    }
    const garbageKey = 'studies/1.2.3/1.2.3.4/1.2.3.4.5.dcm';
    await store.putBuffer(garbageKey, Buffer.from('this is not a DICOM file at all'));
    // A valid instance under a key that does not match its UIDs.
    const misplacedKey = 'studies/1.2.3/1.2.3.4/1.2.3.4.6.dcm';
    await store.putBuffer(misplacedKey, readFileSync(written[0]!.path));
    // A truncated instance (PS3.10 with meta, dataset cut short).
    const truncatedKey = 'studies/1.2.3/1.2.3.4/1.2.3.4.7.dcm';
    const whole = readFileSync(written[1]!.path);
    await store.putBuffer(truncatedKey, whole.subarray(0, whole.length - 100));

    const { log, lines } = capturingLogger();
    const index = StudyIndex.open(join(dir, 'index.sqlite'));
    try {
      const report = await rebuildIndex(store, index, log, MAX_HEADER_BYTES);
      expect(report).toEqual({ indexed: written.length, skipped: 3 });
      const skipped = lines
        .filter((line) => line.msg === 'object skipped: not a readable instance')
        .map((line) => line.key);
      expect(skipped.sort()).toEqual([garbageKey, misplacedKey, truncatedKey].sort());
      const snapshot = snapshotIndex(index);
      expect(snapshot.instances.map((i) => i.sopInstanceUid).sort()).toEqual(
        written.map((w) => w.sopInstanceUid).sort(),
      );
      expect(snapshot.instances.some((i) => i.storageKey.startsWith('studies/1.2.3/'))).toBe(false);
    } finally {
      index.close();
      await store.close();
    }
  });

  it('indexes only one of two studies that reuse a series UID, skipping the other', async () => {
    const dir = tempDir('bridge-rebuild-reuse-');
    const store = new FilesystemStore({ rootDir: join(dir, 'objects') });
    const first = { study: 61, series: 1, instance: 1, rows: 8, columns: 8 };
    const shared = syntheticUids(first).series;
    // Study 62, another patient's, reusing study 61's series UID: stored before the bridge
    // refused such instances (or put there by hand).
    const second = { study: 62, series: 1, instance: 1, rows: 8, columns: 8 };
    const studies = new Map<string, string>();
    for (const options of [first, { ...second, reuse: { seriesUid: shared } }]) {
      const uids = syntheticUids(options);
      const path = join(dir, `${options.study}.dcm`);
      writeSyntheticFile(path, options);
      await store.putBuffer(instanceKey(uids.study, uids.series, uids.sop), readFileSync(path));
      studies.set(uids.sop, uids.study);
    }

    const { log, lines } = capturingLogger();
    const index = StudyIndex.open(join(dir, 'index.sqlite'));
    try {
      const report = await rebuildIndex(store, index, log, MAX_HEADER_BYTES);
      expect(report).toEqual({ indexed: 1, skipped: 1 });
      const held = index.seriesStudy(shared)!;
      const [instance, ...others] = index.listInstances(shared);
      expect(others).toEqual([]);
      expect(studies.get(instance!.sopInstanceUid)).toBe(held);
      const skipped = lines.filter(
        (line) => line.msg === 'object skipped: its series is indexed under another study',
      );
      expect(skipped).toHaveLength(1);
      expect(skipped[0]).toMatchObject({ heldStudyUid: held });
      expect([held, skipped[0]!.studyUid].sort()).toEqual([...new Set(studies.values())].sort());
    } finally {
      index.close();
      await store.close();
    }
  });
});
