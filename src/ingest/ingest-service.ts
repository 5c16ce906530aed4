import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
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
import { instanceKey } from '../storage/keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { DiskGuard } from './disk-guard.js';
import { GroupCommitter } from './group-commit.js';
import { InstanceReceiver } from './instance-receiver.js';
import { KeyedLock } from './keyed-lock.js';
import type { DuplicatePolicy, IngestIndex } from './ports.js';

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
  metadata: InstanceMetadata;
  transferSyntaxUid: string;
  sizeBytes: number;
  datasetSha256: string;
  callingAe: string;
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
  }

  /** Create the spool and remove what a crash left in it: nothing there was ever acknowledged. */
  async prepare(): Promise<number> {
    await mkdir(this.#options.spoolDir, { recursive: true });
    const leftovers = await readdir(this.#options.spoolDir);
    await Promise.all(
      leftovers.map((name) => rm(join(this.#options.spoolDir, name), { force: true })),
    );
    if (leftovers.length > 0)
      this.#log.warn(
        { files: leftovers.length },
        'removed unacknowledged instances left in the spool',
      );
    return leftovers.length;
  }

  begin(request: StoreRequest): StoreReceiver {
    return new InstanceReceiver(request, {
      spoolPath: join(this.#options.spoolDir, `${randomUUID()}.part`),
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
    return this.#locks.run(received.metadata.instance.uid, () => this.#commit(received));
  }

  async #commit(received: ReceivedInstance): Promise<StoreOutcome> {
    const { metadata } = received;
    const log = this.#log.child({
      sopInstanceUid: metadata.instance.uid,
      callingAe: received.callingAe,
    });
    const existing = this.#index.findInstance(metadata.instance.uid);
    if (existing?.datasetSha256 === received.datasetSha256) {
      await rm(received.spoolPath, { force: true });
      log.info('instance received again with identical content; stored once');
      return { status: Status.Success };
    }
    if (existing && this.#options.duplicatePolicy === 'keep-first') {
      await rm(received.spoolPath, { force: true });
      log.warn(
        { storedSha256: existing.datasetSha256, receivedSha256: received.datasetSha256 },
        'SOP Instance UID already stored with other content; kept the first',
      );
      return {
        status: Status.CoercionOfDataElements,
        errorComment: 'SOP Instance UID already stored with other content; first kept',
      };
    }
    const key = instanceKey(metadata.study.uid, metadata.series.uid, metadata.instance.uid);
    try {
      await this.#store.putFile(key, received.spoolPath, { synced: true });
    } catch (error) {
      await rm(received.spoolPath, { force: true });
      log.error({ err: error, key }, 'storage failed; instance refused');
      return { status: Status.OutOfResources, errorComment: 'storage failure' };
    }
    const stored: StoredInstance = {
      metadata,
      transferSyntaxUid: received.transferSyntaxUid,
      sizeBytes: received.sizeBytes,
      datasetSha256: received.datasetSha256,
      storageKey: key,
      receivedAt: new Date().toISOString(),
      callingAe: received.callingAe,
    };
    try {
      await this.#committer.commit(stored, existing !== undefined);
    } catch (error) {
      // Keep nothing half-written: an object without its index row is removed again,
      // unless it replaced one that the index still points to.
      if (!existing || existing.storageKey !== key)
        await this.#store.delete(key).catch(() => undefined);
      log.error({ err: error }, 'index commit failed; instance refused');
      return { status: Status.OutOfResources, errorComment: 'index failure' };
    }
    if (existing) {
      log.warn(
        { previousSha256: existing.datasetSha256 },
        'SOP Instance UID stored again with other content; replaced',
      );
      // The replaced object lives under another key when the study or series UID changed.
      if (existing.storageKey !== key) {
        await this.#store
          .delete(existing.storageKey)
          .catch((error: unknown) =>
            log.error(
              { err: error, key: existing.storageKey },
              'replaced object could not be removed',
            ),
          );
      }
    }
    log.debug({ key, bytes: received.sizeBytes }, 'instance stored');
    return { status: Status.Success };
  }
}
