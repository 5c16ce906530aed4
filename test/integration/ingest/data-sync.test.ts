import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Status } from '../../../src/dimse/status.js';
import { StudyIndex } from '../../../src/index/study-index.js';
import { DiskGuard } from '../../../src/ingest/disk-guard.js';
import { IngestService, type ReceivedInstance } from '../../../src/ingest/ingest-service.js';
import { InstanceReceiver } from '../../../src/ingest/instance-receiver.js';
import { FilePlacer } from '../../../src/storage/fs-place.js';
import { FilesystemStore } from '../../../src/storage/fs-store.js';
import { LocalSpoolAreas } from '../../../src/storage/local-spool.js';
import type { SpoolArea } from '../../../src/storage/object-store.js';
import { descriptorsOn } from '../../helpers/fds.js';
import {
  CT_IMAGE_STORAGE,
  EXPLICIT_LE,
  syntheticDataset,
  syntheticUids,
} from '../../helpers/synthetic.js';

/*
 * When the data of an instance ends before the note of its key is durable, the receiver starts
 * the sync of its spool while the note is written, and the spool goes on with the instance.
 * The object is put under its key only after that sync, and its index row committed only after
 * that; a failed sync fails the instance and keeps nothing. The spools here are the filesystem
 * store's own, with a gate the test holds added to the sync of their data.
 */

const log = pino({ level: 'silent' });
const OPTIONS = { study: 11, series: 1, instance: 1, rows: 64, columns: 64 };
const uids = syntheticUids(OPTIONS);

let dir: string;
let rootDir: string;
let store: FilesystemStore;
let placer: FilePlacer;
let index: StudyIndex;
let ingest: IngestService;
let area: SpoolArea;
/** What the sync of the next spool also waits for. */
let gate: Promise<void>;
/** Whether the spool last placed came with its sync started ahead. */
let syncedAhead: boolean | undefined;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'data-sync-test-'));
  rootDir = path.join(dir, 'objects');
  store = new FilesystemStore({ rootDir }, log);
  index = StudyIndex.open(path.join(dir, 'index.sqlite'), log);
  ingest = new IngestService(
    {
      journalDir: path.join(rootDir, '.spool'),
      duplicatePolicy: 'keep-first',
      maxInstanceBytes: 1024 * 1024,
      maxHeaderBytes: 64 * 1024,
    },
    store,
    index,
    new DiskGuard(dir, 0),
    log,
  );
  await ingest.prepare();
  // The store's spools as the filesystem store makes them, their sync held at the gate.
  placer = new FilePlacer(rootDir, log);
  await placer.start();
  const gated = new LocalSpoolAreas(path.join(rootDir, '.spool'), {
    syncsData: true,
    place: (file, key) => {
      syncedAhead = file.synced !== undefined;
      const synced = Promise.all([file.synced, gate]).then(() => undefined);
      return placer.place({ ...file, synced }, key);
    },
  });
  area = await gated.open('gated');
});

afterEach(async () => {
  await area.close();
  await ingest.close();
  index.close();
  await placer.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const spoolFiles = (): string[] => readdirSync(path.join(rootDir, '.spool', 'gated'));

/** An instance received with its note late, as the receiver hands it to the ingest service. */
async function received(): Promise<ReceivedInstance> {
  let handed: ReceivedInstance | undefined;
  let noted!: () => void;
  const receiver = new InstanceReceiver(
    {
      callingAe: 'STORESCU',
      calledAe: 'FSEBRIDGE',
      sopClassUid: CT_IMAGE_STORAGE,
      sopInstanceUid: uids.sop,
      transferSyntaxUid: EXPLICIT_LE,
      contextSopClassUid: CT_IMAGE_STORAGE,
    },
    {
      spool: area.createSpool(),
      maxInstanceBytes: 1024 * 1024,
      maxHeaderBytes: 64 * 1024,
      diskShortage: Promise.resolve(undefined),
      recordIntent: () => new Promise((resolve) => (noted = () => resolve({ slot: 0 }))),
      clearIntent: () => undefined,
      commit: (instance) => {
        handed = instance;
        return Promise.resolve({ status: Status.Success });
      },
      log,
    },
  );
  receiver.write(syntheticDataset(OPTIONS));
  receiver.end();
  // The data has ended before the note is durable.
  await new Promise((resolve) => setImmediate(resolve));
  noted();
  await receiver.outcome;
  // Only the ingest service's own journal is used here.
  handed!.intent = undefined;
  return handed!;
}

describe('the data sync handed on with an instance', () => {
  it('puts the object in place only after the sync, and commits its row only after that', async () => {
    let synced!: () => void;
    gate = new Promise<void>((resolve) => (synced = resolve));
    const instance = await received();
    const key = instance.key;
    let settled = false;
    const outcome = ingest.commit(instance).finally(() => (settled = true));

    // Time enough for a move or a commit that did not wait to finish: neither has happened.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    expect(await store.stat(key)).toBeUndefined();
    expect(index.findInstance(uids.sop)).toBeUndefined();

    synced();
    await expect(outcome).resolves.toEqual({ status: Status.Success });
    // The receiver started the sync as the data ended, its note not yet durable.
    expect(syncedAhead).toBe(true);
    expect(await store.stat(key)).toBeDefined();
    expect(index.findInstance(uids.sop)?.storageKey).toBe(key);
    expect(spoolFiles()).toEqual([]);
  });

  it('fails the instance when the sync fails, keeping nothing', async () => {
    gate = Promise.reject(new Error('EIO: i/o error, fdatasync'));
    gate.catch(() => undefined);
    const instance = await received();
    const [spoolFile] = spoolFiles();
    const spoolPath = path.join(rootDir, '.spool', 'gated', spoolFile!);
    expect(descriptorsOn(spoolPath)).toHaveLength(1);

    await expect(ingest.commit(instance)).resolves.toEqual({
      status: Status.OutOfResources,
      errorComment: 'storage failure',
    });
    expect(index.findInstance(uids.sop)).toBeUndefined();
    expect(await store.stat(instance.key)).toBeUndefined();
    expect(spoolFiles()).toEqual([]);
    // The descriptor was closed with the spool file.
    expect(descriptorsOn(spoolPath)).toEqual([]);
  });
});
