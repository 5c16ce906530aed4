import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createInflateRaw, type InflateRaw } from 'node:zlib';
import type { Logger } from 'pino';
import { createWalker } from '../dicom/analyse.js';
import { DatasetError, type DatasetWalker } from '../dicom/dataset-walker.js';
import { encodeFileMeta } from '../dicom/file-meta.js';
import { extractMetadata, keyUids, walkedSyntax } from '../dicom/metadata.js';
import { encodingOf } from '../dicom/transfer-syntax.js';
import { InvalidUidError, isValidUid } from '../dicom/uid.js';
import type { StoreOutcome, StoreReceiver, StoreRequest } from '../dimse/store-service.js';
import { Status } from '../dimse/status.js';
import type { ReceivedInstance } from './ingest-service.js';

export interface ReceiverDeps {
  spoolPath: string;
  maxInstanceBytes: number;
  maxHeaderBytes: number;
  /** Started when the command arrived; undefined when there is room. */
  diskShortage: Promise<string | undefined>;
  commit(received: ReceivedInstance): Promise<StoreOutcome>;
  log: Logger;
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
  #file: WriteStream | undefined;
  #fileError: Error | undefined;
  #hash: Hash = createHash('sha256');
  #walker: DatasetWalker;
  #inflater: InflateRaw | undefined;
  #inflated: Promise<void> = Promise.resolve();
  #bytes = 0;
  #metaBytes = 0;

  constructor(request: StoreRequest, deps: ReceiverDeps) {
    this.#request = request;
    this.#deps = deps;
    this.outcome = new Promise((resolve) => (this.#settle = resolve));
    const encoding = encodingOf(request.transferSyntaxUid);
    this.#walker = createWalker(request.transferSyntaxUid, deps.maxHeaderBytes);
    if (!isValidUid(request.sopInstanceUid) || !isValidUid(request.sopClassUid)) {
      this.#refuse(Status.CannotUnderstand, 'invalid Affected SOP Class or Instance UID in the command');
      return;
    }
    if (request.sopClassUid !== request.contextSopClassUid) {
      this.#refuse(Status.SopClassNotSupported, 'SOP class differs from the presentation context');
      return;
    }
    if (encoding.deflated) this.#startInflater();
    this.#file = createWriteStream(deps.spoolPath, { flags: 'wx', highWaterMark: 1024 * 1024 });
    this.#file.on('error', (error) => {
      this.#fileError ??= error;
    });
    const meta = encodeFileMeta({
      sopClassUid: request.sopClassUid,
      sopInstanceUid: request.sopInstanceUid,
      transferSyntaxUid: request.transferSyntaxUid,
      sourceAeTitle: request.callingAe,
    });
    this.#metaBytes = meta.length;
    this.#file.write(meta);
  }

  #startInflater(): void {
    const inflater = createInflateRaw();
    this.#inflater = inflater;
    inflater.on('data', (chunk: Buffer) => this.#walk(chunk));
    this.#inflated = new Promise((resolve) => {
      inflater.on('end', resolve);
      inflater.on('error', (error) => {
        this.#refuse(Status.CannotUnderstand, `deflated dataset cannot be inflated: ${error.message}`);
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
    }
  }

  write(chunk: Buffer): boolean {
    if (this.#refusal) return true;
    this.#bytes += chunk.length;
    if (this.#bytes > this.#deps.maxInstanceBytes) {
      this.#refuse(Status.OutOfResources, `instance larger than ${this.#deps.maxInstanceBytes} bytes`);
      return true;
    }
    this.#hash.update(chunk);
    if (this.#inflater) this.#inflater.write(chunk);
    else this.#walk(chunk);
    return this.#file?.write(chunk) ?? true;
  }

  onDrain(listener: () => void): void {
    if (this.#file && !this.#refusal) this.#file.once('drain', listener);
    else queueMicrotask(listener);
  }

  end(): void {
    this.#finish().then(this.#settle, (error: unknown) => {
      this.#deps.log.error({ err: error }, 'unexpected failure while storing an instance');
      this.#settle({ status: Status.OutOfResources, errorComment: 'internal error' });
    });
  }

  fail(error: Error): void {
    this.#refuse(Status.ProcessingFailure, error.message);
    this.#inflater?.destroy();
    void this.#discardSpool().finally(() => this.#settle({ status: Status.ProcessingFailure, errorComment: error.message }));
    this.#deps.log.warn({ sopInstanceUid: this.#request.sopInstanceUid, reason: error.message }, 'instance transfer interrupted; nothing kept');
  }

  async #finish(): Promise<StoreOutcome> {
    if (this.#inflater) {
      this.#inflater.end();
      await this.#inflated;
    }
    const received = this.#refusal ? undefined : this.#validate();
    await this.#closeFile();
    if (this.#fileError && !this.#refusal) this.#refuse(Status.OutOfResources, `spool write failed: ${this.#fileError.message}`);
    const shortage = await this.#deps.diskShortage.catch((error: Error) => `free space unknown: ${error.message}`);
    if (shortage && !this.#refusal) this.#refuse(Status.OutOfResources, shortage);
    if (this.#refusal || !received) {
      await this.#discardSpool();
      const refusal = this.#refusal ?? new Refusal(Status.ProcessingFailure, 'instance could not be read');
      this.#deps.log.warn(
        { sopInstanceUid: this.#request.sopInstanceUid, callingAe: this.#request.callingAe, status: refusal.status, reason: refusal.comment },
        'instance refused; nothing kept',
      );
      return { status: refusal.status, errorComment: refusal.comment };
    }
    return this.#deps.commit(received);
  }

  #validate(): ReceivedInstance | undefined {
    try {
      const walked = this.#walker.finish();
      const uids = keyUids(walked.values);
      if (uids.sopInstanceUid !== this.#request.sopInstanceUid) {
        this.#refuse(Status.CannotUnderstand, 'SOP Instance UID of the dataset differs from the command');
        return undefined;
      }
      if (uids.sopClassUid !== this.#request.sopClassUid) {
        this.#refuse(Status.DatasetDoesNotMatchSopClass, 'SOP Class UID of the dataset differs from the command');
        return undefined;
      }
      const { metadata, warnings } = extractMetadata(walked.header, walkedSyntax(this.#request.transferSyntaxUid), uids);
      if (warnings.length > 0) {
        this.#deps.log.warn({ sopInstanceUid: uids.sopInstanceUid, warnings }, 'instance has invalid values; stored as received');
      }
      return {
        spoolPath: this.#deps.spoolPath,
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

  #closeFile(): Promise<void> {
    const file = this.#file;
    if (!file || file.closed) return Promise.resolve();
    return new Promise((resolve) => {
      file.once('close', () => resolve());
      if (this.#refusal) file.destroy();
      else file.end();
    });
  }

  async #discardSpool(): Promise<void> {
    await this.#closeFile();
    if (this.#file) await rm(this.#deps.spoolPath, { force: true });
  }
}
