import { existsSync, openSync, writeFileSync } from 'node:fs';
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
import { createObjectStore } from '../../../src/storage/create-store.js';
import type { ObjectStore } from '../../../src/storage/object-store.js';
import { fileOpenAt } from '../../helpers/fds.js';
import {
  CT_IMAGE_STORAGE,
  EXPLICIT_LE,
  syntheticDataset,
  syntheticUids,
} from '../../helpers/synthetic.js';

/*
 * When the data of an instance ends before the note of its key is durable, the receiver syncs
 * the data while the note is written and hands that sync on with the instance. The object is
 * put under its key only after the sync, and its index row committed only after that; a failed
 * sync fails the instance and keeps nothing.
 */

const log = pino({ level: 'silent' });
const OPTIONS = { study: 11, series: 1, instance: 1, rows: 64, columns: 64 };
const uids = syntheticUids(OPTIONS);

let dir: string;
let store: ObjectStore;
let index: StudyIndex;
let ingest: IngestService;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'data-sync-test-'));
  const rootDir = path.join(dir, 'objects');
  store = await createObjectStore({ kind: 'fs', rootDir }, log);
  index = StudyIndex.open(path.join(dir, 'index.sqlite'), log);
  ingest = new IngestService(
    {
      spoolDir: path.join(rootDir, '.spool'),
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
  // One move first, so the store's mover threads are running before anything is timed.
  const warm = path.join(dir, 'warm.part');
  writeFileSync(warm, 'warm');
  await store.putFile('warm/warm.dcm', warm, { fd: openSync(warm, 'r+') });
});

afterEach(async () => {
  ingest.close();
  index.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** A received instance as the receiver hands it to the ingest service, with `spoolSync`. */
async function received(spoolSync: Promise<void> | undefined): Promise<ReceivedInstance> {
  const spoolPath = path.join(dir, 'objects', '.spool', 'test.part');
  let handed: ReceivedInstance | undefined;
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
      spool: { fd: openSync(spoolPath, 'wx'), path: spoolPath, entryDurable: false },
      maxInstanceBytes: 1024 * 1024,
      maxHeaderBytes: 64 * 1024,
      syncsSpool: true,
      diskShortage: Promise.resolve(undefined),
      recordIntent: () => Promise.resolve({ slot: 0 }),
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
  await receiver.outcome;
  // Only the ingest service's own journal is used here.
  handed!.intent = undefined;
  handed!.spoolSync = spoolSync;
  return handed!;
}

describe('the data sync handed on with an instance', () => {
  it('puts the object in place only after the sync, and commits its row only after that', async () => {
    let synced!: () => void;
    const instance = await received(new Promise<void>((resolve) => (synced = resolve)));
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
    expect(await store.stat(key)).toBeDefined();
    expect(index.findInstance(uids.sop)?.storageKey).toBe(key);
  });

  it('fails the instance when the sync fails, keeping nothing', async () => {
    const failed = Promise.reject(new Error('EIO: i/o error, fdatasync'));
    failed.catch(() => undefined);
    const instance = await received(failed);
    const { spoolFd, spoolPath, key } = instance;

    await expect(ingest.commit(instance)).resolves.toEqual({
      status: Status.OutOfResources,
      errorComment: 'storage failure',
    });
    expect(index.findInstance(uids.sop)).toBeUndefined();
    expect(await store.stat(key)).toBeUndefined();
    expect(existsSync(spoolPath)).toBe(false);
    // The descriptor was closed with the spool file.
    expect(fileOpenAt(spoolFd)).not.toBe(spoolPath);
  });
});
