import { closeSync, openSync, readFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileOpenAt } from '../../helpers/fds.js';
import { Status } from '../../../src/dimse/status.js';
import type { StoreOutcome } from '../../../src/dimse/store-service.js';
import type { ReceivedInstance } from '../../../src/ingest/ingest-service.js';
import { InstanceReceiver, type ReceiverDeps } from '../../../src/ingest/instance-receiver.js';
import type { Intent } from '../../../src/ingest/intent-log.js';
import { instanceKey } from '../../../src/storage/keys.js';
import {
  CT_IMAGE_STORAGE,
  EXPLICIT_LE,
  syntheticDataset,
  syntheticHeader,
  syntheticUids,
} from '../../helpers/synthetic.js';

const DEFLATED_LE = '1.2.840.10008.1.2.1.99';
const OPTIONS = { study: 7, series: 1, instance: 3, rows: 64, columns: 64 };
const uids = syntheticUids(OPTIONS);
const KEY = instanceKey(uids.study, uids.series, uids.sop);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'receiver-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A receiver over a real spool file, recording what it asks of the ingest service. */
function receiver(sopInstanceUid = uids.sop, transferSyntaxUid = EXPLICIT_LE) {
  const spoolPath = path.join(dir, 'instance.part');
  const calls = {
    recorded: [] as string[],
    cleared: [] as Intent[],
    committed: [] as ReceivedInstance[],
  };
  let slot = 0;
  const deps: ReceiverDeps = {
    spool: { fd: openSync(spoolPath, 'wx'), path: spoolPath, entryDurable: false },
    maxInstanceBytes: 1024 * 1024,
    maxHeaderBytes: 64 * 1024,
    syncsSpool: true,
    diskShortage: Promise.resolve(undefined),
    recordIntent: async (key) => {
      calls.recorded.push(key);
      return { slot: slot++ };
    },
    clearIntent: (intent) => calls.cleared.push(intent),
    commit: async (received): Promise<StoreOutcome> => {
      calls.committed.push(received);
      return { status: Status.Success };
    },
    log: pino({ level: 'silent' }),
  };
  const instance = new InstanceReceiver(
    {
      callingAe: 'STORESCU',
      calledAe: 'FSEBRIDGE',
      sopClassUid: CT_IMAGE_STORAGE,
      sopInstanceUid,
      transferSyntaxUid,
      contextSopClassUid: CT_IMAGE_STORAGE,
    },
    deps,
  );
  return { instance, calls, spoolPath, deps };
}

/** The note of the key becomes durable (in `slot`) only when the returned function is called. */
function slowNote(deps: ReceiverDeps, calls: { recorded: string[] }, slot: number): () => void {
  let written!: () => void;
  deps.recordIntent = (key) => {
    calls.recorded.push(key);
    return new Promise((resolve) => (written = () => resolve({ slot })));
  };
  return () => written();
}

describe('InstanceReceiver', () => {
  it('notes the key as soon as the header has passed the series UID, before the data ends', async () => {
    const dataset = syntheticDataset(OPTIONS);
    const { instance, calls, spoolPath } = receiver();
    const header = syntheticHeader(OPTIONS).length;
    instance.write(dataset.subarray(0, header));
    expect(calls.recorded).toEqual([KEY]);
    // The pixel data arrives in later reads of the socket, by when the note is durable.
    await new Promise((resolve) => setImmediate(resolve));
    instance.write(dataset.subarray(header));
    instance.end();
    await expect(instance.outcome).resolves.toEqual({ status: Status.Success });
    // One note, handed over with the instance, and the spool still open for the store to sync.
    expect(calls.recorded).toEqual([KEY]);
    expect(calls.cleared).toEqual([]);
    const [received] = calls.committed;
    // The note was durable before the data ended: the store syncs the data as it moves it.
    expect(received).toMatchObject({
      key: KEY,
      intent: { slot: 0 },
      spoolPath,
      spoolSync: undefined,
    });
    expect(fileOpenAt(received!.spoolFd)).toBe(spoolPath);
    closeSync(received!.spoolFd);
    expect(readFileSync(spoolPath).subarray(-dataset.length).equals(dataset)).toBe(true);
  });

  it('syncs the data itself while the note is still being written, and hands the sync on', async () => {
    const dataset = syntheticDataset(OPTIONS);
    const { instance, calls, deps } = receiver();
    const written = slowNote(deps, calls, 7);
    instance.write(dataset);
    instance.end();
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Nothing is committed before the note is durable.
    expect(calls.committed).toEqual([]);
    written();
    await expect(instance.outcome).resolves.toEqual({ status: Status.Success });
    const [received] = calls.committed;
    expect(received).toMatchObject({ key: KEY, intent: { slot: 7 } });
    // The sync started at the end goes on with the instance: the store moves the file after it.
    expect(received!.spoolSync).toBeInstanceOf(Promise);
    await expect(received!.spoolSync).resolves.toBeUndefined();
    closeSync(received!.spoolFd);
  });

  it('leaves the data unsynced for a store whose server makes it durable (S3)', async () => {
    const dataset = syntheticDataset(OPTIONS);
    const { instance, calls, deps } = receiver();
    deps.syncsSpool = false;
    const written = slowNote(deps, calls, 3);
    instance.write(dataset);
    instance.end();
    await new Promise((resolve) => setTimeout(resolve, 20));
    written();
    await expect(instance.outcome).resolves.toEqual({ status: Status.Success });
    const [received] = calls.committed;
    expect(received).toMatchObject({ key: KEY, intent: { slot: 3 }, spoolSync: undefined });
    closeSync(received!.spoolFd);
  });

  it('notes the key of a deflated dataset from its inflated header, once', async () => {
    const dataset = syntheticDataset(OPTIONS);
    const { instance, calls, spoolPath } = receiver(uids.sop, DEFLATED_LE);
    const deflated = deflateRawSync(dataset);
    instance.write(deflated);
    instance.end();
    await expect(instance.outcome).resolves.toEqual({ status: Status.Success });
    expect(calls.recorded).toEqual([KEY]);
    const [received] = calls.committed;
    expect(received).toMatchObject({ key: KEY, intent: { slot: 0 } });
    closeSync(received!.spoolFd);
    // Stored as received: deflated.
    expect(readFileSync(spoolPath).subarray(-deflated.length).equals(deflated)).toBe(true);
  });

  it('clears the note and keeps nothing when the dataset turns out truncated', async () => {
    const dataset = syntheticDataset(OPTIONS);
    const { instance, calls, spoolPath } = receiver();
    instance.write(dataset.subarray(0, dataset.length - 10));
    instance.end();
    const outcome = await instance.outcome;
    expect(outcome.status).toBe(Status.CannotUnderstand);
    expect(calls.recorded).toEqual([KEY]);
    expect(calls.cleared).toEqual([{ slot: 0 }]);
    expect(calls.committed).toEqual([]);
    expect(() => readFileSync(spoolPath)).toThrow(/ENOENT/);
  });

  it('clears the note when the transfer is interrupted', async () => {
    const dataset = syntheticDataset(OPTIONS);
    const { instance, calls } = receiver();
    instance.write(dataset.subarray(0, 1000));
    instance.fail(new Error('association aborted'));
    expect((await instance.outcome).status).toBe(Status.ProcessingFailure);
    expect(calls.cleared).toEqual([{ slot: 0 }]);
    expect(calls.committed).toEqual([]);
  });

  it('takes no early note for a dataset whose SOP Instance UID differs from the command', async () => {
    const dataset = syntheticDataset(OPTIONS);
    const { instance, calls, spoolPath } = receiver(`${uids.sop}.9`);
    instance.write(dataset);
    expect(calls.recorded).toEqual([]);
    instance.end();
    expect((await instance.outcome).status).toBe(Status.CannotUnderstand);
    expect(calls.recorded).toEqual([]);
    expect(calls.committed).toEqual([]);
    expect(() => readFileSync(spoolPath)).toThrow(/ENOENT/);
  });
});
