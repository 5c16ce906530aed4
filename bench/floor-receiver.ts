/**
 * The floor of the ingest benchmark: the bridge's DICOM network layer receiving C-STOREs and
 * writing each dataset, behind the file meta, into a file in the page cache, as `storescp +B`
 * does, and nothing else: no index, no check of the dataset. With `--hash` it also computes the
 * SHA-256 of each dataset, which the bridge stores in its index. With `--durable` it answers
 * only once the file's data is synced (fdatasync, several files at once in the thread pool)
 * and its directory entry is durable (files are created ahead and their directory fsync'd):
 * the least a receiver that acknowledges durably must do. The bridge does all of that and more
 * (intent note, rename under its key, index commit); `npm run bench:ingest-floor` runs it.
 *
 *   node --import tsx bench/floor-receiver.ts --port N --dir DIR [--hash] [--durable]
 *
 * A measuring tool only: without `--durable` it answers Success for data it never makes durable.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fdatasync, mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { encodeFileMeta } from '../src/dicom/file-meta.js';
import { AePolicy } from '../src/dimse/ae-policy.js';
import { DimseServer } from '../src/dimse/scp.js';
import { Status } from '../src/dimse/status.js';
import type {
  StoreOutcome,
  StoreReceiver,
  StoreRequest,
  StoreService,
} from '../src/dimse/store-service.js';
import { FilePool } from '../src/ingest/file-pool.js';
import { SpoolWriter } from '../src/ingest/spool-writer.js';
import { createLogger } from '../src/logger.js';

/** One dataset written to a pooled file as it streams; Success once it is in the page cache. */
class FloorReceiver implements StoreReceiver {
  readonly outcome: Promise<StoreOutcome>;
  #settle!: (outcome: StoreOutcome) => void;
  #fd: number;
  #writer: SpoolWriter;
  #hash: Hash | undefined;
  #durable: boolean;

  constructor(request: StoreRequest, fd: number, options: { hash: boolean; durable: boolean }) {
    this.outcome = new Promise((resolve) => (this.#settle = resolve));
    this.#fd = fd;
    this.#writer = new SpoolWriter(fd);
    this.#hash = options.hash ? createHash('sha256') : undefined;
    this.#durable = options.durable;
    this.#writer.write(
      encodeFileMeta({
        sopClassUid: request.sopClassUid,
        sopInstanceUid: request.sopInstanceUid,
        transferSyntaxUid: request.transferSyntaxUid,
        sourceAeTitle: request.callingAe,
      }),
    );
  }

  write(chunk: Buffer): boolean {
    this.#hash?.update(chunk);
    this.#writer.write(chunk);
    return true;
  }

  onDrain(listener: () => void): void {
    queueMicrotask(listener);
  }

  end(): void {
    // Computed as the bridge computes it; the floor has no index to keep it in.
    this.#hash?.digest('hex');
    try {
      this.#writer.flush();
    } catch (error) {
      this.#close();
      this.#settle({ status: Status.OutOfResources, errorComment: (error as Error).message });
      return;
    }
    if (!this.#durable) {
      this.#close();
      this.#settle({ status: Status.Success });
      return;
    }
    fdatasync(this.#fd, (error) => {
      this.#close();
      this.#settle(
        error
          ? { status: Status.OutOfResources, errorComment: error.message }
          : { status: Status.Success },
      );
    });
  }

  fail(error: Error): void {
    this.#writer.discard();
    this.#close();
    this.#settle({ status: Status.ProcessingFailure, errorComment: error.message });
  }

  #close(): void {
    if (this.#fd === -1) return;
    closeSync(this.#fd);
    this.#fd = -1;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      dir: { type: 'string' },
      hash: { type: 'boolean', default: false },
      durable: { type: 'boolean', default: false },
    },
  });
  if (!values.port || !values.dir)
    throw new Error('usage: --port N --dir DIR [--hash] [--durable]');
  mkdirSync(values.dir, { recursive: true });
  const log = createLogger('warn');
  // Files created ahead, as the bridge's spool does.
  const options = { hash: values.hash, durable: values.durable };
  const files = new FilePool(values.dir, '.dcm', { size: 8, durable: options.durable });
  await files.fill();
  const store: StoreService = {
    begin: (request) => new FloorReceiver(request, files.take().fd, options),
  };
  const scp = new DimseServer(
    {
      host: '127.0.0.1',
      port: Number(values.port),
      maxAssociations: 32,
      // The bridge's default (dicom.maxPduLength).
      maxPduLength: 256 * 1024,
      artimMs: 30_000,
      idleTimeoutMs: 300_000,
      acceptPrivateSopClasses: false,
    },
    await AePolicy.create(['FSEBRIDGE'], [{ aeTitle: 'STORESCU', host: undefined }]),
    store,
    log,
  );
  await scp.listen();
  const stop = (): void => {
    void scp.close(5_000).then(() => {
      files.close();
      process.exit(0);
    });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
