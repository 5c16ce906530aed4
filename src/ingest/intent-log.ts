import { constants, readFileSync, rmSync, write } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DirSyncGroups } from '../storage/dir-sync.js';
import { FilePool, type PooledFile } from './file-pool.js';

const writeAsync = promisify(write);
const SUFFIX = '.intent';
const POOL_SIZE = 8;

/** A recorded note; pass it back to `clear`. */
export type Intent = PooledFile;

/**
 * Durable notes of "this key is about to be stored", kept in the spool directory. An instance
 * is written to storage and to the index at the same time; if the process dies in between, or
 * one of the two fails, the note says which key to reconcile, so storage and index never
 * disagree for long and no full scan of storage is needed. Note files are created (and their
 * directory fsync'd) ahead of need and opened with O_DSYNC, so recording one costs one small
 * synchronous write, run while the spooled data is being synced.
 */
export class IntentLog {
  readonly #dir: string;
  readonly #pool: FilePool;
  readonly #dirSyncs = new DirSyncGroups();

  constructor(dir: string) {
    this.#dir = dir;
    // O_DSYNC: the one write of a note returns only once it is on disk (no separate fdatasync).
    const { O_WRONLY, O_CREAT, O_EXCL, O_DSYNC } = constants;
    this.#pool = new FilePool(dir, SUFFIX, {
      size: POOL_SIZE,
      durable: true,
      flags: O_WRONLY | O_CREAT | O_EXCL | O_DSYNC,
    });
  }

  /** Prepare note files ahead of need; call after `pending()` has been settled. */
  start(): Promise<void> {
    return this.#pool.fill();
  }

  /** Durably record that `key` is about to be written. */
  async record(key: string): Promise<Intent> {
    const file = this.#pool.take();
    try {
      await writeAsync(file.fd, Buffer.from(key, 'utf8'), 0, Buffer.byteLength(key), 0);
      if (!file.entryDurable) await this.#dirSyncs.sync(this.#dir);
    } catch (error) {
      this.#pool.discard(file);
      throw error;
    }
    return file;
  }

  /** The outcome is settled and storage and index agree: the note is no longer needed. */
  clear(intent: Intent): void {
    this.#pool.discard(intent);
  }

  /** Notes left by a previous run (empty files were prepared but never used). */
  async pending(): Promise<Array<{ path: string; key: string }>> {
    const names = (await readdir(this.#dir)).filter((name) => name.endsWith(SUFFIX));
    return names
      .map((name) => {
        const path = join(this.#dir, name);
        return { path, key: readFileSync(path, 'utf8') };
      })
      .filter((intent) => intent.key !== '');
  }

  /** Remove a note file left by a previous run. */
  remove(path: string): void {
    rmSync(path, { force: true });
  }

  /** Remove the prepared, unused note files. */
  close(): void {
    this.#pool.close();
    this.#dirSyncs.close();
  }
}
