import { randomUUID } from 'node:crypto';
import { close, closeSync, open, openSync, unlink } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DirSyncGroups } from '../storage/dir-sync.js';

const openAsync = promisify(open);

export interface PooledFile {
  fd: number;
  path: string;
  /** The file's directory entry is known to be durable (created ahead and fsync'd). */
  entryDurable: boolean;
}

/**
 * Empty files created ahead of need in one directory. Creating a file is a journalled
 * metadata operation: while other instances' fsyncs are committing, a synchronous create can
 * stall the event loop for milliseconds, so files are created in the background and handed
 * out without a system call. With `durable`, the directory is fsync'd before a file is handed
 * out, so the file's entry survives a crash before anything is written to it.
 */
export class FilePool {
  readonly #dir: string;
  readonly #suffix: string;
  readonly #size: number;
  readonly #durable: boolean;
  readonly #flags: string | number;
  readonly #dirSyncs = new DirSyncGroups();
  #ready: PooledFile[] = [];
  #creating = 0;
  #closed = false;

  /** `flags`: how files are opened (default `wx`: created, must not exist, write only). */
  constructor(
    dir: string,
    suffix: string,
    options: { size: number; durable: boolean; flags?: string | number },
  ) {
    this.#dir = dir;
    this.#suffix = suffix;
    this.#size = options.size;
    this.#durable = options.durable;
    this.#flags = options.flags ?? 'wx';
  }

  /** Fill the pool (start-up). */
  async fill(): Promise<void> {
    await Promise.all(Array.from({ length: this.#size }, () => this.#create()));
  }

  /** A new empty file, opened for writing; falls back to creating one inline when none is ready. */
  take(): PooledFile {
    const file = this.#ready.pop() ?? this.#createInline();
    this.#refill();
    return file;
  }

  /**
   * Close and remove every file still in the pool; resolves once they are removed (a file
   * still being created is removed when its creation ends).
   */
  async close(): Promise<void> {
    this.#closed = true;
    const files = this.#ready.splice(0);
    for (const file of files) closeSync(file.fd);
    this.#dirSyncs.close();
    await Promise.all(files.map((file) => rm(file.path, { force: true })));
  }

  #createInline(): PooledFile {
    const path = join(this.#dir, `${randomUUID()}${this.#suffix}`);
    return { fd: openSync(path, this.#flags), path, entryDurable: false };
  }

  #refill(): void {
    while (!this.#closed && this.#ready.length + this.#creating < this.#size) {
      this.#creating++;
      this.#create()
        .catch(() => undefined) // a full disk shows up where the file is used, with its status
        .finally(() => this.#creating--);
    }
  }

  async #create(): Promise<void> {
    const path = join(this.#dir, `${randomUUID()}${this.#suffix}`);
    const fd = await openAsync(path, this.#flags);
    if (this.#durable) await this.#dirSyncs.sync(this.#dir);
    if (this.#closed) {
      close(fd, () => unlink(path, () => undefined));
      return;
    }
    this.#ready.push({ fd, path, entryDurable: this.#durable });
  }
}
