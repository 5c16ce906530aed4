import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { parseFileMeta } from '../../../src/dicom/file-meta.js';
import { S3Store } from '../../../src/storage/s3-store.js';
import {
  BRIDGE_AE,
  disposeBridge,
  startBridge,
  writeTestConfig,
  type TestBridge,
} from '../../helpers/bridge.js';
import { startDaemon, type DaemonProcess } from '../../helpers/daemon-process.js';
import {
  fileDataset,
  killDaemon,
  readIndexFile,
  signalAndWait,
  spoolFilesWithData,
} from '../../helpers/process-data.js';
import { startStorescu } from '../../helpers/process-storescu.js';
import { startReferenceScp, type ReferenceScp } from '../../helpers/reference-scp.js';
import { bucketKeys, removeBucket, s3StorageConfig, uniqueBucket } from '../../helpers/s3.js';
import {
  SAMPLES_DIR,
  sampleFacts,
  sampleName,
  validSamples,
  type SampleFacts,
  roundsWithoutDuplicateUids,
} from '../../helpers/samples.js';
import { storedDataset } from '../../helpers/stored.js';
import { writeSyntheticInstances } from '../../helpers/synthetic.js';
import { runTool, waitFor } from '../../helpers/tools.js';

let buckets: string[] = [];
let bridges: TestBridge[] = [];
let references: ReferenceScp[] = [];

afterEach(async () => {
  for (const reference of references) await reference.stop();
  for (const bridge of bridges) await disposeBridge(bridge);
  for (const bucket of buckets) await removeBucket(bucket);
  buckets = [];
  bridges = [];
  references = [];
});

describe('ingest with S3 storage', () => {
  let samples: SampleFacts[];

  beforeAll(async () => {
    samples = await Promise.all(
      validSamples()
        .filter((path) => path.startsWith(join(SAMPLES_DIR, 'single')))
        .map((path) => sampleFacts(path)),
    );
  });

  function rounds(): SampleFacts[][] {
    return roundsWithoutDuplicateUids(samples);
  }

  it('stores every sample of single/ sent by dcmsend, indexed, bytes as on the wire', async () => {
    let checked = 0;
    let sameAsFile = 0;
    for (const round of rounds()) {
      const bucket = uniqueBucket('ingest');
      buckets.push(bucket);
      const bridge = await startBridge({ storage: s3StorageConfig(bucket) });
      bridges.push(bridge);
      expect(bridge.app.store.description).toContain(`/${bucket}/`);
      const reference = await startReferenceScp();
      references.push(reference);
      const files = round.map((sample) => sample.path);
      for (const port of [reference.port, bridge.port]) {
        const result = await runTool('dcmsend', [
          '-aet',
          'DCMSEND',
          '-aec',
          BRIDGE_AE,
          '--decompress-never',
          '127.0.0.1',
          String(port),
          ...files,
        ]);
        expect(result.code, result.stderr).toBe(0);
        expect(result.stderr).not.toMatch(/E: |W: .*(failed|Failed)/);
      }
      for (const sample of round) {
        const name = sampleName(sample.path);
        const location = bridge.app.index.findInstance(sample.sopInstanceUid);
        expect(location, `${name} indexed`).toBeDefined();
        expect(location!.studyUid, name).toBe(sample.studyUid);
        expect(location!.seriesUid, name).toBe(sample.seriesUid);
        const stored = await storedDataset(bridge.app.store, location!.storageKey);
        // dcmsend re-encodes some files (group lengths, byte order, deflate), so the reference
        // is what storescp +B received on the wire, not the file.
        const wire = reference.dataset(sample.sopInstanceUid);
        expect(wire, `${name} reached storescp`).toBeDefined();
        expect(stored.transferSyntaxUid, name).toBe(
          reference.transferSyntax(sample.sopInstanceUid),
        );
        expect(
          stored.dataset.equals(wire!),
          `${name}: stored dataset bytes equal the bytes on the wire`,
        ).toBe(true);
        if (stored.dataset.equals(sample.dataset)) sameAsFile++;
        checked++;
      }
      // The bucket holds exactly the indexed objects, and the local spool is empty again.
      const indexedKeys = round
        .map((sample) => bridge.app.index.findInstance(sample.sopInstanceUid)!.storageKey)
        .sort();
      expect(await bucketKeys(bucket)).toEqual(indexedKeys);
      expect(spoolFilesWithData(bridge.config.spoolDir)).toEqual([]);
    }
    expect(checked).toBe(samples.length);
    // Some files do go out unchanged: the comparison with the wire is not vacuous.
    expect(sameAsFile).toBeGreaterThan(0);
  }, 300_000);
});

describe('kill -9 with S3 storage', () => {
  let root: string | undefined;
  let daemon: DaemonProcess | undefined;

  afterEach(async () => {
    await killDaemon(daemon);
    daemon = undefined;
    if (root) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });

  it('keeps every acknowledged instance in the bucket and the index after a restart', async () => {
    root = mkdtempSync(join(tmpdir(), 'bridge-s3-crash-'));
    const written = writeSyntheticInstances(join(root, 'in'), 300, { rows: 64, columns: 64 });
    const bucket = uniqueBucket('crash');
    buckets.push(bucket);
    mkdirSync(join(root, 'data'));
    const { file } = writeTestConfig({ storage: s3StorageConfig(bucket) }, join(root, 'data'));
    const config = loadConfig({ file, env: {} });
    if (config.storage.kind !== 's3') throw new Error('expected S3 storage');

    daemon = await startDaemon(file);
    const storescu = startStorescu(daemon.port, [join(root, 'in')], ['+sd']);
    await waitFor(
      () => storescu.acknowledged.length >= 100 || storescu.child.exitCode !== null,
      240_000,
      '100 acknowledgements',
    );
    daemon.child.kill('SIGKILL');
    expect((await daemon.exit).signal).toBe('SIGKILL');
    await storescu.exit;
    const acknowledged = storescu.acknowledged;
    expect(acknowledged.length).toBeGreaterThanOrEqual(100);
    expect(acknowledged.length, 'killed before storescu was done').toBeLessThan(300);

    daemon = await startDaemon(file);
    expect((await signalAndWait(daemon, 'SIGTERM')).code).toBe(0);
    daemon = undefined;

    const rows = new Map(
      readIndexFile(config.index.path).instances.map((row) => [row.sopInstanceUid, row]),
    );
    const sopOf = new Map(written.map((w) => [w.path, w.sopInstanceUid]));
    const store = await S3Store.create(config.storage, pino({ enabled: false }));
    try {
      for (const path of acknowledged) {
        const row = rows.get(sopOf.get(path)!);
        expect(row, `acknowledged ${path} is indexed`).toBeDefined();
        const object = await store.readBuffer(row!.storageKey);
        expect(
          object.subarray(parseFileMeta(object).datasetOffset).equals(fileDataset(path)),
          path,
        ).toBe(true);
      }
      const keys = await bucketKeys(bucket);
      const rowKeys = [...rows.values()].map((row) => row.storageKey);
      expect(spoolFilesWithData(config.spoolDir), 'spool emptied at restart').toEqual([]);
      expect(
        rowKeys.filter((key) => !keys.includes(key)),
        'index rows without their object',
      ).toEqual([]);
      // Nothing half there: an instance the crash cut off between the PUT and the index commit
      // (never acknowledged) must not stay in the bucket unindexed.
      expect(
        keys.filter((key) => !rowKeys.includes(key)),
        'objects in the bucket without an index row',
      ).toEqual([]);
    } finally {
      await store.close();
    }
  }, 300_000);
});
