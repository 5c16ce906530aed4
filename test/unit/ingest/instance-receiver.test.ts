import { readdirSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Status } from '../../../src/dimse/status.js';
import type { StoreOutcome } from '../../../src/dimse/store-service.js';
import type { ReceivedInstance } from '../../../src/ingest/ingest-service.js';
import { InstanceReceiver, type ReceiverDeps } from '../../../src/ingest/instance-receiver.js';
import type { Intent } from '../../../src/ingest/intent-log.js';
import { FilesystemStore } from '../../../src/storage/fs-store.js';
import { instanceKey } from '../../../src/storage/keys.js';
import { StorageError, type Spool, type SpoolArea } from '../../../src/storage/object-store.js';
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
let store: FilesystemStore;
let area: SpoolArea;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'receiver-test-'));
  store = new FilesystemStore({ rootDir: path.join(dir, 'objects') });
  area = await store.openSpoolArea('ingest');
});
afterEach(async () => {
  await area.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** Files in the spool area: the spool of a receiver while it lives. */
function spoolFiles(): string[] {
  return readdirSync(path.join(dir, 'objects', '.spool', 'ingest'));
}

/** What the spool of `received` holds, committed under a test key and read back. */
async function spooled(received: ReceivedInstance): Promise<Buffer> {
  await received.spool.commit('test/spooled.dcm');
  return store.readBuffer('test/spooled.dcm');
}

/** A receiver over a real spool, recording what it asks of the ingest service. */
function receiver(sopInstanceUid = uids.sop, transferSyntaxUid = EXPLICIT_LE) {
  const spool: Spool = area.createSpool();
  const syncAhead = vi.spyOn(spool, 'syncAhead');
  const calls = {
    recorded: [] as string[],
    cleared: [] as Intent[],
    committed: [] as ReceivedInstance[],
  };
  let slot = 0;
  const deps: ReceiverDeps = {
    spool,
    maxInstanceBytes: 1024 * 1024,
    maxHeaderBytes: 64 * 1024,
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
  return { instance, calls, spool, syncAhead, deps };
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
    const { instance, calls, spool, syncAhead } = receiver();
    const header = syntheticHeader(OPTIONS).length;
    instance.write(dataset.subarray(0, header));
    expect(calls.recorded).toEqual([KEY]);
    // The pixel data arrives in later reads of the socket, by when the note is durable.
    await new Promise((resolve) => setImmediate(resolve));
    instance.write(dataset.subarray(header));
    instance.end();
    await expect(instance.outcome).resolves.toEqual({ status: Status.Success });
    // One note, handed over with the instance, and the spool with it.
    expect(calls.recorded).toEqual([KEY]);
    expect(calls.cleared).toEqual([]);
    const [received] = calls.committed;
    expect(received).toMatchObject({ key: KEY, intent: { slot: 0 } });
    expect(received!.spool).toBe(spool);
    // The note was durable before the data ended: the store syncs the data as it stores it.
    expect(syncAhead).not.toHaveBeenCalled();
    expect((await spooled(received!)).subarray(-dataset.length).equals(dataset)).toBe(true);
  });

  it('starts the sync of the data while the note is still being written, and hands it on', async () => {
    const dataset = syntheticDataset(OPTIONS);
    const { instance, calls, deps, syncAhead } = receiver();
    const written = slowNote(deps, calls, 7);
    instance.write(dataset);
    instance.end();
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Nothing is committed before the note is durable; the data's sync runs meanwhile.
    expect(calls.committed).toEqual([]);
    expect(syncAhead).toHaveBeenCalledTimes(1);
    written();
    await expect(instance.outcome).resolves.toEqual({ status: Status.Success });
    const [received] = calls.committed;
    expect(received).toMatchObject({ key: KEY, intent: { slot: 7 } });
    // The sync started at the end goes on with the spool: storing it waits for it.
    expect((await spooled(received!)).subarray(-dataset.length).equals(dataset)).toBe(true);
  });

  it('notes the key of a deflated dataset from its inflated header, once', async () => {
    const dataset = syntheticDataset(OPTIONS);
    const { instance, calls } = receiver(uids.sop, DEFLATED_LE);
    const deflated = deflateRawSync(dataset);
    instance.write(deflated);
    instance.end();
    await expect(instance.outcome).resolves.toEqual({ status: Status.Success });
    expect(calls.recorded).toEqual([KEY]);
    const [received] = calls.committed;
    expect(received).toMatchObject({ key: KEY, intent: { slot: 0 } });
    // Stored as received: deflated.
    expect((await spooled(received!)).subarray(-deflated.length).equals(deflated)).toBe(true);
  });

  it('clears the note and keeps nothing when the dataset turns out truncated', async () => {
    const dataset = syntheticDataset(OPTIONS);
    const { instance, calls } = receiver();
    instance.write(dataset.subarray(0, dataset.length - 10));
    instance.end();
    const outcome = await instance.outcome;
    expect(outcome.status).toBe(Status.CannotUnderstand);
    expect(calls.recorded).toEqual([KEY]);
    expect(calls.cleared).toEqual([{ slot: 0 }]);
    expect(calls.committed).toEqual([]);
    expect(spoolFiles()).toEqual([]);
  });

  it('clears the note and keeps nothing when the transfer is interrupted', async () => {
    const dataset = syntheticDataset(OPTIONS);
    const { instance, calls } = receiver();
    instance.write(dataset.subarray(0, 1000));
    instance.fail(new Error('association aborted'));
    expect((await instance.outcome).status).toBe(Status.ProcessingFailure);
    expect(calls.cleared).toEqual([{ slot: 0 }]);
    expect(calls.committed).toEqual([]);
    expect(spoolFiles()).toEqual([]);
  });

  it('refuses the instance, keeping nothing, when the spool cannot take its data', async () => {
    const dataset = syntheticDataset(OPTIONS);
    const { instance, calls, spool } = receiver();
    // The spool fails as a full disk would fail it.
    vi.spyOn(spool, 'write').mockImplementation(() => {
      throw new StorageError('spool write failed: ENOSPC: no space left on device, write');
    });
    instance.write(dataset);
    instance.end();
    expect(await instance.outcome).toEqual({
      status: Status.OutOfResources,
      errorComment: 'spool write failed: ENOSPC: no space left on device, write',
    });
    expect(calls.committed).toEqual([]);
    expect(spoolFiles()).toEqual([]);
  });

  it('takes no early note for a dataset whose SOP Instance UID differs from the command', async () => {
    const dataset = syntheticDataset(OPTIONS);
    const { instance, calls } = receiver(`${uids.sop}.9`);
    instance.write(dataset);
    expect(calls.recorded).toEqual([]);
    instance.end();
    expect((await instance.outcome).status).toBe(Status.CannotUnderstand);
    expect(calls.recorded).toEqual([]);
    expect(calls.committed).toEqual([]);
    expect(spoolFiles()).toEqual([]);
  });
});
