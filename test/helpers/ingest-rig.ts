import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { StoredInstance } from '../../src/dicom/instance-metadata.js';
import type { StoreOutcome, StoreService } from '../../src/dimse/store-service.js';
import { StudyIndex } from '../../src/index/study-index.js';
import { DiskGuard } from '../../src/ingest/disk-guard.js';
import { IngestService } from '../../src/ingest/ingest-service.js';
import type { DuplicatePolicy, IngestIndex } from '../../src/ingest/ports.js';
import { createObjectStore } from '../../src/storage/create-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import {
  CT_IMAGE_STORAGE,
  EXPLICIT_LE,
  syntheticDataset,
  syntheticUids,
  type SyntheticOptions,
} from './synthetic.js';

/*
 * The ingest pipeline on its own, in this process: an IngestService over a real object store
 * and a real SQLite index in a temporary directory, for tests that put something between the
 * service and one of its parts (a proxy before the S3 server, a gate before the index commit).
 */

const quiet = pino({ level: 'silent' });

export interface IngestRig {
  dir: string;
  /** The store's spool directory (the default store's; give yours the same), and the journal's. */
  spoolDir: string;
  store: ObjectStore;
  /** The real index (the service may see it through `options.index`). */
  index: StudyIndex;
  ingest: IngestService;
  /** A new service on the same spool, store and index, as after a restart; the old one closes. */
  restart(): Promise<IngestService>;
  close(): Promise<void>;
}

export interface IngestRigOptions {
  /**
   * The object store, given the rig's directory and the spool directory to use; default a
   * filesystem store under the rig's directory.
   */
  store?: (dir: string, spoolDir: string) => Promise<ObjectStore>;
  /** What the service sees of the index; default the index itself. */
  index?: (index: StudyIndex) => IngestIndex;
  duplicatePolicy?: DuplicatePolicy;
}

export async function openIngestRig(options: IngestRigOptions = {}): Promise<IngestRig> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ingest-rig-'));
  const spoolDir = path.join(dir, 'spool');
  const store = await (options.store?.(dir, spoolDir) ??
    createObjectStore({ kind: 'fs', rootDir: path.join(dir, 'objects') }, quiet, { spoolDir }));
  const index = StudyIndex.open(path.join(dir, 'index.sqlite'), quiet);
  const start = async (): Promise<IngestService> => {
    const service = new IngestService(
      {
        journalDir: spoolDir,
        duplicatePolicy: options.duplicatePolicy ?? 'keep-first',
        maxInstanceBytes: 16 * 1024 * 1024,
        maxHeaderBytes: 64 * 1024,
      },
      store,
      options.index?.(index) ?? index,
      new DiskGuard(dir, 0),
      quiet,
    );
    await service.prepare();
    return service;
  };
  const rig: IngestRig = {
    dir,
    spoolDir,
    store,
    index,
    ingest: await start(),
    async restart() {
      await rig.ingest.close();
      rig.ingest = await start();
      return rig.ingest;
    },
    async close() {
      await rig.ingest.close();
      index.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return rig;
}

/** One synthetic instance sent through `service` as a C-STORE would; resolves with the answer. */
export function storeSynthetic(
  service: StoreService,
  options: SyntheticOptions,
): Promise<StoreOutcome> {
  const receiver = service.begin({
    callingAe: 'STORESCU',
    calledAe: 'FSEBRIDGE',
    sopClassUid: CT_IMAGE_STORAGE,
    sopInstanceUid: syntheticUids(options).sop,
    transferSyntaxUid: EXPLICIT_LE,
    contextSopClassUid: CT_IMAGE_STORAGE,
  });
  receiver.write(syntheticDataset(options));
  receiver.end();
  return receiver.outcome;
}

/** A gate in front of the index commit, which the test opens or fails. */
export interface CommitGate {
  /** What the service sees: the index, each commit held at the gate before it runs. */
  index: IngestIndex;
  /** Batches that reached the gate, in order. */
  batches: StoredInstance[][];
  /** Resolves once `n` batches have reached the gate. */
  reached(n: number): Promise<void>;
  /** Let the commits waiting at the gate, and later ones, run. */
  open(): void;
  /** Fail the commits waiting at the gate, and later ones, with `error`. */
  fail(error: Error): void;
}

export function commitGate(index: StudyIndex): CommitGate {
  let open!: () => void;
  let fail!: (error: Error) => void;
  const opened = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  opened.catch(() => undefined);
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const batches: StoredInstance[][] = [];
  return {
    batches,
    reached: (n) =>
      batches.length >= n
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ n, resolve })),
    open,
    fail,
    index: {
      findInstance: (uid) => index.findInstance(uid),
      seriesStudy: (uid) => index.seriesStudy(uid),
      getStudy: (uid) => index.getStudy(uid),
      removeInstance: (uid) => index.removeInstance(uid),
      async commitInstances(items, replace) {
        batches.push([...items]);
        for (const waiter of waiters) if (batches.length >= waiter.n) waiter.resolve();
        await opened;
        return index.commitInstances(items, replace);
      },
    },
  };
}
