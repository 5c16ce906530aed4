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
import type { ObjectStore, Spool, SpoolArea } from '../storage/object-store.js';
import type { DiskGuard } from './disk-guard.js';
import { GroupCommitter } from './group-commit.js';
import { InstanceReceiver } from './instance-receiver.js';
import { IntentLog, type Intent } from './intent-log.js';
import { KeyedLock } from './keyed-lock.js';
import { reconcileKey } from './reconcile.js';
import type { DuplicatePolicy, IngestIndex } from './ports.js';
import { seriesConflict, uidConflict, type UidConflict } from './uid-conflict.js';

export interface IngestOptions {
  /**
   * Directory of the journal of intent notes: local, and kept across restarts. Instances being
   * received are written to the store's spool area `ingest`, not here.
   */
  journalDir: string;
  duplicatePolicy: DuplicatePolicy;
  /** Instances larger than this are refused (0xA700). */
  maxInstanceBytes: number;
  /** Header bytes kept for metadata extraction. */
  maxHeaderBytes: number;
}

/** A received, complete, validated instance waiting in the spool to be made durable. */
export interface ReceivedInstance {
  /**
   * The instance's data, ended (its sync possibly started while the note of its key was still
   * being written), handed over with the instance: committed or discarded by whoever takes it.
   */
  spool: Spool;
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
  /** The store's spool area `ingest`, open once `prepare` has run. */
  #spool: SpoolArea | undefined;
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
    this.#intents = new IntentLog(options.journalDir);
  }

  /**
   * Settle what a crash left and open the spool. Objects noted as about to be stored are
   * reconciled with the index (storage is the truth: a complete object is indexed); every
   * instance left in the store's spool area `ingest` was never acknowledged and is removed.
   * No other user's spool area is touched.
   */
  async prepare(): Promise<{ reconciled: number; removed: number }> {
    const { journalDir } = this.#options;
    await mkdir(journalDir, { recursive: true });
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
    // The notes are settled: the journal starts afresh.
    const earlier = await removeJournalFiles(journalDir);
    const [spool] = await Promise.all([
      // Kept as soon as it is open, so that `close` closes it whatever fails beside it.
      this.#store.openSpoolArea('ingest', { prepared: 8 }).then((area) => (this.#spool = area)),
      this.#intents.start(),
    ]);
    const unacknowledged = earlier + spool.leftovers;
    if (unacknowledged > 0) {
      this.#log.warn(
        { files: unacknowledged },
        'removed unacknowledged instances left in the spool',
      );
    }
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

  /** Close the intent journal; remove the spools prepared ahead and not used. */
  async close(): Promise<void> {
    this.#intents.close();
    await this.#spool?.close();
  }

  begin(request: StoreRequest): StoreReceiver {
    if (!this.#spool) throw new Error('ingest takes instances only once prepared');
    return new InstanceReceiver(request, {
      spool: this.#spool.createSpool(),
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
        await received.spool.discard();
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
        await received.spool.discard();
        log.info('instance received again with identical content; stored once');
        return { status: Status.Success };
      }
      // The index knows it but storage lost it (removed by hand, restored from an old backup):
      // this copy takes its place.
      log.warn({ key: existing.storageKey }, 'indexed instance missing from storage; stored again');
    } else {
      const conflict = uidConflict(this.#index, metadata, existing);
      if (conflict) {
        await received.spool.discard();
        return refuseConflict(log, metadata.study.uid, conflict);
      }
      if (existing && this.#options.duplicatePolicy === 'keep-first') {
        await received.spool.discard();
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
      // The spool waits for the sync of its data the receiver started, if any.
      await timed(received.spool.commit(key), (s) => this.#observer.storageSeconds?.(s));
    } catch (error) {
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

/**
 * Removes the journal of notes once they are settled, with what earlier versions kept beside
 * it: notes one file each, and the spool files of the time before each user of the spool had
 * an area of its own (directories, which are those areas, are left alone). Returns how many of
 * those spool files held data: transfers in flight, never acknowledged.
 */
async function removeJournalFiles(dir: string): Promise<number> {
  let withData = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) continue;
    const path = join(dir, entry.name);
    if (entry.name.endsWith('.part') && (await stat(path)).size > 0) withData++;
    await rm(path, { force: true });
  }
  return withData;
}
