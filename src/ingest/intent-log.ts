import { closeSync, fdatasync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DirSyncGroups } from '../storage/dir-sync.js';

const fdatasyncAsync = promisify(fdatasync);
const SUFFIX = '.intent';

/**
 * Durable notes of "this key is about to be stored", kept in the spool directory. An instance
 * is written to storage before its index row commits; if the process dies in between, the note
 * says which object to look at on the next start, so storage and index never disagree for long
 * and no full scan of storage is needed. A note is recorded while the spooled data is being
 * synced, so it costs no extra wait on the acknowledgement path.
 */
export class IntentLog {
  readonly #dir: string;
  readonly #dirSyncs = new DirSyncGroups();

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Durably record that `key` is about to be written; returns the note's path. */
  async record(id: string, key: string): Promise<string> {
    const path = join(this.#dir, `${id}${SUFFIX}`);
    const fd = openSync(path, 'wx');
    try {
      writeSync(fd, key);
      await fdatasyncAsync(fd);
    } finally {
      closeSync(fd);
    }
    await this.#dirSyncs.sync(this.#dir);
    return path;
  }

  /** The object is indexed (or was never stored): the note is no longer needed. */
  clear(path: string): void {
    try {
      unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  /** Notes left by a previous run. */
  async pending(): Promise<Array<{ path: string; key: string }>> {
    const names = (await readdir(this.#dir)).filter((name) => name.endsWith(SUFFIX));
    return names.map((name) => {
      const path = join(this.#dir, name);
      return { path, key: readFileSync(path, 'utf8') };
    });
  }
}
