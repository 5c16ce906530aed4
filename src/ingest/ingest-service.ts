import { closeSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { InstanceMetadata, StoredInstance } from '../dicom/instance-metadata.js';
import type {
  StoreOutcome,
  StoreReceiver,
  StoreRequest,
  StoreService,
} from '../dimse/store-service.js';
import { Status } from '../dimse/status.js';
import { SERIES_IN_OTHER_STUDY, type IndexError } from '../index/errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { DiskGuard } from './disk-guard.js';
import { GroupCommitter } from './group-commit.js';
import { InstanceReceiver } from './instance-receiver.js';
import { FilePool } from './file-pool.js';
import { IntentLog, type Intent } from './intent-log.js';
import { KeyedLock } from './keyed-lock.js';
import { reconcileKey } from './reconcile.js';
import type { DuplicatePolicy, IngestIndex } from './ports.js';
import { seriesConflict, uidConflict, type UidConflict } from './uid-conflict.js';

export interface IngestOptions {
  /** Directory for instances being received; on the same filesystem as the store when it is local. */
  spoolDir: string;
  duplicatePolicy: DuplicatePolicy;
  /** Instances larger than this are refused (0xA700). */
  maxInstanceBytes: number;
  /** Header bytes kept for metadata extraction. */
  maxHeaderBytes: number;
}

/** A received, complete, validated instance waiting in the spool to be made durable. */
export interface ReceivedInstance {
  spoolPath: string;
  /**
   * Open descriptor of the spool file (its data not yet synced), handed over with the
   * instance: whoever takes the file on closes it; -1 once that has happened.
   */
  spoolFd: number;
  /**
   * The spool file's data being synced by the receiver (started while the note of its key was
   * still being written), or undefined when the store is to sync it. The store moves the file
   * only once this has settled; a rejection fails the instance.
   */
  spoolSync: Promise<void> | undefined;
  /** Object key the instance goes under. */
  key: string;
  /** The durable note of `key` (IntentLog), cleared once the outcome is settled. */
  intent: Intent | undefined;
  metadata: InstanceMetadata;
  transferSyntaxUid: string;
  sizeBytes: number;
  datasetSha256: string;
  callingAe: string;
}

/** Hooks for measurements: each stored instance, and how long storage and index took. */
export interface IngestObserver {
  stored?(info: { callingAe: string; sizeBytes: number }): void;
  /** Seconds the object store took to make an instance durable. */
  storageSeconds?(seconds: number): void;
  /** Seconds the index commit (group commit included) took. */
  indexSeconds?(seconds: number): void;
}

/** The spool descriptor, handed on: the instance no longer owns it. */
function takeSpoolFd(received: ReceivedInstance): number | undefined {
  const fd = received.spoolFd;
  received.spoolFd = -1;
  return fd === -1 ? undefined : fd;
}

/** The instance is not stored: its spool file goes (once no sync is using its descriptor). */
async function discardSpool(received: ReceivedInstance): Promise<void> {
  await received.spoolSync?.catch(() => undefined);
  const fd = takeSpoolFd(received);
  if (fd !== undefined) closeSync(fd);
  await rm(received.spoolPath, { force: true });
}

/** `promise`, reporting how long it took to settle. */
async function timed<T>(promise: Promise<T>, report: (seconds: number) => void): Promise<T> {
  const start = process.hrtime.bigint();
  try {
    return await promise;
  } finally {
    report(Number(process.hrtime.bigint() - start) / 1e9);
  }
}

/** Refuse an instance that reuses a UID held under another study or patient. */
function refuseConflict(log: Logger, studyUid: string, conflict: UidConflict): StoreOutcome {
  log.warn(
    { studyUid, heldStudyUid: conflict.heldStudyUid, uid: conflict.uid },
    `${conflict.reason}; instance refused`,
  );
  return { status: Status.UidHeldElsewhere, errorComment: conflict.reason };
}

/**
 * The ingest pipeline behind the SCP: spool → validate → durable store → index (group commit)
 * → outcome. Success is reported only after both the object and its index row are durable.
 */
export class IngestService implements StoreService {
  #options: IngestOptions;
  #store: ObjectStore;
  #index: IngestIndex;
  #committer: GroupCommitter;
  #disk: DiskGuard;
  #log: Logger;
  #locks = new KeyedLock();
  #intents: IntentLog;
  #spoolFiles: FilePool;
  #storedListeners: Array<(studyInstanceUid: string) => void> = [];
  #observer: IngestObserver = {};

  constructor(
    options: IngestOptions,
    store: ObjectStore,
    index: IngestIndex,
    disk: DiskGuard,
    log: Logger,
  ) {
    this.#options = options;
    this.#store = store;
    this.#index = index;
    this.#committer = new GroupCommitter(index);
    this.#disk = disk;
    this.#log = log;
    this.#intents = new IntentLog(options.spoolDir);
    this.#spoolFiles = new FilePool(options.spoolDir, '.part', { size: 8, durable: false });
  }

  /**
   * Create the spool and settle what a crash left in it. Objects noted as about to be stored
   * are reconciled with the index (storage is the truth: a complete object is indexed); every
   * other spool file was never acknowledged and is removed.
   */
  async prepare(): Promise<{ reconciled: number; removed: number }> {
    await mkdir(this.#options.spoolDir, { recursive: true });
    let reconciled = 0;
    for (const key of await this.#intents.pending()) {
      const sopInstanceUid = key.slice(key.lastIndexOf('/') + 1).replace(/\.dcm$/, '');
      try {
        if (await this.#reconcile(key, sopInstanceUid)) reconciled++;
      } catch (error) {
        // Never index an unreadable object, never delete one (it may be an earlier,
        // acknowledged version): an operator decides, with the log line and the object.
        this.#log.error(
          { key, err: (error as Error).message },
          'object noted before an interruption cannot be settled; left as it is',
        );
      }
    }
    // The notes are settled: the journal goes with the rest of the spool and starts afresh.
    const leftovers = await readdir(this.#options.spoolDir);
    let unacknowledged = 0;
    for (const name of leftovers) {
      const path = join(this.#options.spoolDir, name);
      // Files prepared ahead and never used are empty; a non-empty one was a transfer in flight.
      if (name.endsWith('.part') && (await stat(path)).size > 0) unacknowledged++;
      await rm(path, { force: true });
    }
    if (unacknowledged > 0) {
      this.#log.warn(
        { files: unacknowledged },
        'removed unacknowledged instances left in the spool',
      );
    }
    await Promise.all([this.#spoolFiles.fill(), this.#intents.start()]);
    return { reconciled, removed: unacknowledged };
  }

  /** See `reconcileKey`. */
  #reconcile(key: string, sopInstanceUid: string): Promise<boolean> {
    const { maxHeaderBytes } = this.#options;
    return reconcileKey(
      { store: this.#store, index: this.#index, maxHeaderBytes, log: this.#log },
      key,
      sopInstanceUid,
    );
  }

  /** Remove the spool files prepared ahead and not used; close the intent journal. */
  close(): void {
    this.#spoolFiles.close();
    this.#intents.close();
  }

  begin(request: StoreRequest): StoreReceiver {
    return new InstanceReceiver(request, {
      spool: this.#spoolFiles.take(),
      syncsSpool: this.#store.syncsSpool,
      recordIntent: (key) => this.#intents.record(key),
      clearIntent: (intent) => this.#intents.clear(intent),
      maxInstanceBytes: this.#options.maxInstanceBytes,
      maxHeaderBytes: this.#options.maxHeaderBytes,
      // Checked while the dataset arrives; a failed check refuses rather than crashes.
      diskShortage: this.#disk
        .shortage()
        .catch((error: Error) => `free disk space unknown: ${error.message}`),
      commit: (received) => this.commit(received),
      log: this.#log,
    });
  }

  /** Make a received instance durable and indexed; one at a time per SOP Instance UID. */
  commit(received: ReceivedInstance): Promise<StoreOutcome> {
    return this.#locks.run(received.metadata.instance.uid, async () => {
      try {
        const outcome = await this.#commit(received);
        if (received.intent) this.#intents.clear(received.intent);
        return outcome;
      } catch (error) {
        await discardSpool(received);
        throw error;
      }
    });
  }

  async #commit(received: ReceivedInstance): Promise<StoreOutcome> {
    const { metadata } = received;
    const log = this.#log.child({
      sopInstanceUid: metadata.instance.uid,
      callingAe: received.callingAe,
    });
    const existing = this.#index.findInstance(metadata.instance.uid);
    const identical = existing?.datasetSha256 === received.datasetSha256;
    if (identical) {
      if ((await this.#store.stat(existing.storageKey)) !== undefined) {
        await discardSpool(received);
        log.info('instance received again with identical content; stored once');
        return { status: Status.Success };
      }
      // The index knows it but storage lost it (removed by hand, restored from an old backup):
      // this copy takes its place.
      log.warn({ key: existing.storageKey }, 'indexed instance missing from storage; stored again');
    } else {
      const conflict = uidConflict(this.#index, metadata, existing);
      if (conflict) {
        await discardSpool(received);
        return refuseConflict(log, metadata.study.uid, conflict);
      }
      if (existing && this.#options.duplicatePolicy === 'keep-first') {
        await discardSpool(received);
        log.warn(
          { storedSha256: existing.datasetSha256, receivedSha256: received.datasetSha256 },
          'SOP Instance UID already stored with other content; kept the first',
        );
        return {
          status: Status.CoercionOfDataElements,
          errorComment: 'SOP Instance UID already stored with other content; first kept',
        };
      }
    }
    const { key } = received;
    const stored: StoredInstance = {
      metadata,
      transferSyntaxUid: received.transferSyntaxUid,
      sizeBytes: received.sizeBytes,
      datasetSha256: received.datasetSha256,
      storageKey: key,
      receivedAt: new Date().toISOString(),
      callingAe: received.callingAe,
    };
    // Storage first, then the index: a row never exists without its object, so nothing is
    // counted, retrieved or linked that storage does not hold, and a failed store leaves no row
    // to take back (which an outage of the store would not let us check). The durable note of
    // the key covers the gap: an interruption after the object is stored and before its row is
    // committed leaves an object the next start indexes.
    // A replacement under other study or series UIDs leaves the old object to remove: note it
    // too, so an interruption cannot leave two objects for one SOP Instance UID.
    const movedFrom = existing && existing.storageKey !== key ? existing.storageKey : undefined;
    const movedIntent = movedFrom ? await this.#intents.record(movedFrom) : undefined;
    try {
      await timed(this.#put(received), (s) => this.#observer.storageSeconds?.(s));
    } catch (error) {
      await discardSpool(received);
      log.error({ err: error, key }, 'storage failure; instance refused');
      // No row was written. The note of the key stays all the same: a PUT that failed here may
      // yet complete on the server, and a failed rename may have left an object whose directory
      // entry is not durable; the next start settles it.
      received.intent = undefined;
      if (movedIntent) this.#intents.clear(movedIntent);
      await this.#settleRefused(key, metadata.instance.uid, false, log);
      return { status: Status.OutOfResources, errorComment: 'storage failure' };
    }
    try {
      await timed(this.#committer.commit(stored, existing !== undefined), (s) =>
        this.#observer.indexSeconds?.(s),
      );
    } catch (error) {
      await discardSpool(received);
      received.intent = undefined;
      await this.#settleRefused(key, metadata.instance.uid, true, log);
      const heldStudyUid =
        (error as IndexError).code === SERIES_IN_OTHER_STUDY
          ? this.#index.seriesStudy(metadata.series.uid)
          : undefined;
      // Two associations started the same series under two studies at once: the first commit
      // took it.
      if (heldStudyUid !== undefined)
        return refuseConflict(log, metadata.study.uid, seriesConflict(heldStudyUid));
      log.error({ err: error, key }, 'index failure; instance refused');
      return { status: Status.OutOfResources, errorComment: 'index failure' };
    }
    if (existing && !identical) {
      log.warn(
        { previousSha256: existing.datasetSha256 },
        'SOP Instance UID stored again with other content; replaced',
      );
      // The replaced object lives under another key when the study or series UID changed.
      if (movedFrom) {
        try {
          await this.#store.delete(movedFrom);
          this.#intents.clear(movedIntent!);
        } catch (error) {
          // The note stays: the next start removes the superseded object.
          log.error({ err: error, key: movedFrom }, 'replaced object could not be removed');
        }
      }
    }
    log.debug({ key, bytes: received.sizeBytes }, 'instance stored');
    this.#observer.stored?.({ callingAe: received.callingAe, sizeBytes: received.sizeBytes });
    for (const listener of this.#storedListeners) listener(metadata.study.uid);
    return { status: Status.Success };
  }

  /**
   * After a refused store or commit, bring storage and index into agreement for `key` as far as
   * they answer now; the note of the key stays, and the next start settles the rest. Where a
   * row points at `key` (a replacement under the same key, an object stored again, a commit
   * that went through after all), storage is the truth and the row follows it. Otherwise no row
   * names the object, and with `withdraw` a stored object is taken away again: storage keeps
   * nothing the sender was told is not stored.
   */
  async #settleRefused(
    key: string,
    sopInstanceUid: string,
    withdraw: boolean,
    log: Logger,
  ): Promise<void> {
    try {
      if (this.#index.findInstance(sopInstanceUid)?.storageKey === key)
        await this.#reconcile(key, sopInstanceUid);
      else if (withdraw) await this.#store.delete(key);
    } catch (error) {
      log.error({ err: error, key }, 'refused instance left for the next start to settle');
    }
  }

  /** Put the spool file under its key, once the receiver's sync of its data (if any) is done. */
  async #put(received: ReceivedInstance): Promise<void> {
    const synced = received.spoolSync !== undefined;
    await received.spoolSync;
    await this.#store.putFile(received.key, received.spoolPath, {
      fd: takeSpoolFd(received),
      synced,
    });
  }

  /** Report measurements to `observer` (one observer; a later call replaces it). */
  observe(observer: IngestObserver): void {
    this.#observer = observer;
  }

  /**
   * Call `listener` with the StudyInstanceUID of each instance newly stored and indexed (report
   * links wait for studies to complete). Listeners must not throw.
   */
  onStored(listener: (studyInstanceUid: string) => void): void {
    this.#storedListeners.push(listener);
  }
}
