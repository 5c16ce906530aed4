import { createHash, type Hash } from 'node:crypto';
import { createInflateRaw, type InflateRaw } from 'node:zlib';
import type { Logger } from 'pino';
import { createWalker } from '../dicom/analyse.js';
import { DatasetError, type DatasetWalker, type WalkResult } from '../dicom/dataset-walker.js';
import { encodeFileMeta } from '../dicom/file-meta.js';
import {
  capturedKeyUids,
  extractMetadata,
  keyUids,
  walkedSyntax,
  Tag,
  type KeyUids,
} from '../dicom/metadata.js';
import { encodingOf } from '../dicom/transfer-syntax.js';
import { InvalidUidError, isValidUid } from '../dicom/uid.js';
import type { StoreOutcome, StoreReceiver, StoreRequest } from '../dimse/store-service.js';
import { Status } from '../dimse/status.js';
import type { ReceivedInstance } from './ingest-service.js';
import type { Intent } from './intent-log.js';
import { instanceKey } from '../storage/keys.js';
import type { Spool } from '../storage/object-store.js';

export interface ReceiverDeps {
  /** Where the instance is written; owned by the receiver until it hands the instance on. */
  spool: Spool;
  maxInstanceBytes: number;
  maxHeaderBytes: number;
  /** Started when the command arrived; undefined when there is room. */
  diskShortage: Promise<string | undefined>;
  /** Durably notes the key about to be stored (see IntentLog). */
  recordIntent(key: string): Promise<Intent>;
  clearIntent(intent: Intent): void;
  commit(received: ReceivedInstance): Promise<StoreOutcome>;
  log: Logger;
}

interface Checked {
  walked: WalkResult;
  uids: KeyUids;
  key: string;
}

/** Why an instance is refused; the dataset is still read to its end so the association survives. */
class Refusal {
  constructor(
    readonly status: number,
    readonly comment: string,
  ) {}
}

/**
 * Receives one C-STORE dataset: writes file meta plus the bytes as received to a spool file,
 * hashes them, and walks them to prove completeness and find the key UIDs, all while they stream.
 * At the end it validates and hands the spooled instance over to be made durable.
 */
export class InstanceReceiver implements StoreReceiver {
  readonly outcome: Promise<StoreOutcome>;
  #request: StoreRequest;
  #deps: ReceiverDeps;
  #settle!: (outcome: StoreOutcome) => void;
  #refusal: Refusal | undefined;
  #spool: Spool;
  #hash: Hash = createHash('sha256');
  #walker: DatasetWalker;
  #inflater: InflateRaw | undefined;
  #inflated: Promise<void> = Promise.resolve();
  #bytes = 0;
  /** Bytes of a deflated dataset once inflated: bounded like the bytes received. */
  #inflatedBytes = 0;
  #metaBytes = 0;
  /** The durable note of the key this instance goes under, taken as soon as the key is known. */
  #noted: { key: string; intent: Promise<Intent | undefined>; settled: boolean } | undefined;
  #keyLookedFor = false;
  /** The instance went on to be stored: its spool and note are no longer this receiver's. */
  #handedOff = false;

  constructor(request: StoreRequest, deps: ReceiverDeps) {
    this.#request = request;
    this.#deps = deps;
    // Owned from here on: discarded on every path that does not store it.
    this.#spool = deps.spool;
    this.outcome = new Promise((resolve) => (this.#settle = resolve));
    const encoding = encodingOf(request.transferSyntaxUid);
    this.#walker = createWalker(request.transferSyntaxUid, deps.maxHeaderBytes);
    if (!isValidUid(request.sopInstanceUid) || !isValidUid(request.sopClassUid)) {
      this.#refuse(
        Status.CannotUnderstand,
        'invalid Affected SOP Class or Instance UID in the command',
      );
      return;
    }
    if (request.sopClassUid !== request.contextSopClassUid) {
      this.#refuse(Status.SopClassNotSupported, 'SOP class differs from the presentation context');
      return;
    }
    if (encoding.deflated) this.#startInflater();
    const meta = encodeFileMeta({
      sopClassUid: request.sopClassUid,
      sopInstanceUid: request.sopInstanceUid,
      transferSyntaxUid: request.transferSyntaxUid,
      sourceAeTitle: request.callingAe,
    });
    this.#metaBytes = meta.length;
    this.#writeSpool(meta);
  }

  /** Spool `chunk`; a failed write refuses the instance. */
  #writeSpool(chunk: Buffer): void {
    try {
      this.#spool.write(chunk);
    } catch (error) {
      this.#refuse(Status.OutOfResources, (error as Error).message);
    }
  }

  #startInflater(): void {
    const inflater = createInflateRaw();
    this.#inflater = inflater;
    inflater.on('data', (chunk: Buffer) => {
      this.#inflatedBytes += chunk.length;
      if (this.#inflatedBytes > this.#deps.maxInstanceBytes) {
        // A few MB of deflated data can inflate to gigabytes: stop inflating now.
        this.#refuse(
          Status.OutOfResources,
          `instance larger than ${this.#deps.maxInstanceBytes} bytes once inflated`,
        );
        inflater.destroy();
        return;
      }
      this.#walk(chunk);
    });
    this.#inflated = new Promise((resolve) => {
      inflater.on('end', resolve);
      inflater.on('close', resolve);
      inflater.on('error', (error) => {
        this.#refuse(
          Status.CannotUnderstand,
          `deflated dataset cannot be inflated: ${error.message}`,
        );
        resolve();
      });
    });
  }

  #walk(chunk: Buffer): void {
    if (this.#refusal) return;
    try {
      this.#walker.push(chunk);
    } catch (error) {
      this.#refuseFor(error);
      return;
    }
    if (!this.#keyLookedFor) this.#noteEarly();
  }

  /**
   * The key is known once the header has passed the series UID, long before the data ends:
   * noting it now makes the note durable while the rest arrives, so nothing waits for it at
   * the end. The check at the end confirms the key (or notes the one it finds instead).
   */
  #noteEarly(): void {
    const values = this.#walker.values;
    const uids = capturedKeyUids(values);
    if (!uids) {
      // Past the series UID without a valid key: the check at the end says what is wrong.
      this.#keyLookedFor = values.has(Tag.SeriesInstanceUid);
      return;
    }
    this.#keyLookedFor = true;
    if (uids.sopInstanceUid !== this.#request.sopInstanceUid) return;
    const key = instanceKey(uids.studyUid, uids.seriesUid, uids.sopInstanceUid);
    this.#noted = this.#note(key);
  }

  #note(key: string): { key: string; intent: Promise<Intent | undefined>; settled: boolean } {
    const noted = { key, intent: this.#recordIntent(key), settled: false };
    void noted.intent.then(() => (noted.settled = true));
    return noted;
  }

  /** The durable note of `key`: usually the one taken while the data streamed. */
  #intentFor(key: string): Promise<Intent | undefined> {
    if (this.#noted?.key !== key) {
      void this.#dropNote();
      this.#noted = this.#note(key);
    }
    return this.#noted.intent;
  }

  /** Nothing is stored: the note, once written, is no longer needed. */
  async #dropNote(): Promise<void> {
    const noted = this.#noted;
    this.#noted = undefined;
    const intent = await noted?.intent;
    if (intent) this.#deps.clearIntent(intent);
  }

  write(chunk: Buffer): boolean {
    if (this.#refusal) return true;
    this.#bytes += chunk.length;
    if (this.#bytes > this.#deps.maxInstanceBytes) {
      this.#refuse(
        Status.OutOfResources,
        `instance larger than ${this.#deps.maxInstanceBytes} bytes`,
      );
      return true;
    }
    this.#hash.update(chunk);
    if (this.#inflater) this.#inflater.write(chunk);
    else this.#walk(chunk);
    this.#writeSpool(chunk);
    return true;
  }

  onDrain(listener: () => void): void {
    queueMicrotask(listener);
  }

  end(): void {
    this.#finish().then(this.#settle, (error: unknown) => {
      this.#deps.log.error({ err: error }, 'unexpected failure while storing an instance');
      this.#settle({ status: Status.OutOfResources, errorComment: 'internal error' });
    });
  }

  fail(error: Error): void {
    if (this.#handedOff) return;
    this.#refuse(Status.ProcessingFailure, error.message);
    this.#inflater?.destroy();
    void Promise.all([this.#dropNote(), this.#spool.discard()]).finally(() =>
      this.#settle({ status: Status.ProcessingFailure, errorComment: error.message }),
    );
    this.#deps.log.warn(
      { sopInstanceUid: this.#request.sopInstanceUid, reason: error.message },
      'instance transfer interrupted; nothing kept',
    );
  }

  async #finish(): Promise<StoreOutcome> {
    if (!this.#refusal) {
      try {
        this.#spool.end();
      } catch (error) {
        this.#refuse(Status.OutOfResources, (error as Error).message);
      }
    }
    if (this.#inflater) {
      if (!this.#inflater.destroyed) this.#inflater.end();
      await this.#inflated;
    }
    const checked = this.#refusal ? undefined : this.#check();
    const noted = checked ? this.#intentFor(checked.key) : undefined;
    // A note still being written (a small instance arrives in one piece with its header; with
    // one sender, a CT instance's data ends before its note is durable): the data is synced
    // meanwhile, as the store would otherwise sync it only after the note. The store moves the
    // file once both are done; the index commit follows the move.
    if (checked && !this.#noted?.settled) this.#spool.syncAhead();
    const received = checked ? this.#describe(checked) : undefined;
    const shortage = await this.#deps.diskShortage;
    if (shortage && !this.#refusal) this.#refuse(Status.OutOfResources, shortage);
    const intent = await noted;
    if (this.#refusal || !received) {
      await Promise.all([this.#dropNote(), this.#spool.discard()]);
      const refusal =
        this.#refusal ?? new Refusal(Status.ProcessingFailure, 'instance could not be read');
      this.#deps.log.warn(
        {
          sopInstanceUid: this.#request.sopInstanceUid,
          callingAe: this.#request.callingAe,
          status: refusal.status,
          reason: refusal.comment,
        },
        'instance refused; nothing kept',
      );
      return { status: refusal.status, errorComment: refusal.comment };
    }
    received.intent = intent;
    this.#handedOff = true;
    return this.#deps.commit(received);
  }

  async #recordIntent(key: string): Promise<Intent | undefined> {
    try {
      return await this.#deps.recordIntent(key);
    } catch (error) {
      this.#refuse(
        Status.OutOfResources,
        `intent journal write failed: ${(error as Error).message}`,
      );
      return undefined;
    }
  }

  /** Completeness and key UIDs: cheap, from what the walker kept while the data streamed. */
  #check(): Checked | undefined {
    try {
      const walked = this.#walker.finish();
      const uids = keyUids(walked.values);
      if (uids.sopInstanceUid !== this.#request.sopInstanceUid) {
        this.#refuse(
          Status.CannotUnderstand,
          'SOP Instance UID of the dataset differs from the command',
        );
        return undefined;
      }
      if (uids.sopClassUid !== this.#request.sopClassUid) {
        this.#refuse(
          Status.DatasetDoesNotMatchSopClass,
          'SOP Class UID of the dataset differs from the command',
        );
        return undefined;
      }
      return { walked, uids, key: instanceKey(uids.studyUid, uids.seriesUid, uids.sopInstanceUid) };
    } catch (error) {
      this.#refuseFor(error);
      return undefined;
    }
  }

  /** The index metadata, read from the header with dcmjs. */
  #describe({ walked, uids, key }: Checked): ReceivedInstance | undefined {
    try {
      const { metadata, warnings } = extractMetadata(
        walked.header,
        walkedSyntax(this.#request.transferSyntaxUid),
        uids,
        walked.values,
      );
      if (warnings.length > 0) {
        this.#deps.log.warn(
          { sopInstanceUid: uids.sopInstanceUid, warnings },
          'instance has invalid values; stored as received',
        );
      }
      return {
        spool: this.#spool,
        intent: undefined,
        key,
        metadata,
        transferSyntaxUid: this.#request.transferSyntaxUid,
        sizeBytes: this.#metaBytes + this.#bytes,
        datasetSha256: this.#hash.digest('hex'),
        callingAe: this.#request.callingAe,
      };
    } catch (error) {
      this.#refuseFor(error);
      return undefined;
    }
  }

  #refuseFor(error: unknown): void {
    if (error instanceof DatasetError || error instanceof InvalidUidError) {
      this.#refuse(Status.CannotUnderstand, error.message);
    } else {
      this.#refuse(Status.CannotUnderstand, `dataset cannot be read: ${(error as Error).message}`);
    }
  }

  #refuse(status: number, comment: string): void {
    this.#refusal ??= new Refusal(status, comment);
  }
}
