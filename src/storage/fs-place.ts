/**
 * How the filesystem store makes a spooled file durable under its key: the key's directories
 * created with durable entries, then the file synced, renamed into place and its directory
 * synced by the file mover threads in one hand-over (directory syncs of a series shared when a
 * rename fails over to the step-by-step path).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants as fsConstants } from 'node:fs';
import { copyFile, mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { DirSyncGroups, syncDir } from './dir-sync.js';
import { FileMover, MoveError } from './file-mover.js';
import { exists, isCode, isDirectory } from './fs-files.js';
import type { SpooledFile } from './local-spool.js';
import { StorageError, assertValidKey, toStorageError } from './object-store.js';

/**
 * Temp files live in one directory under the root (same filesystem, so the final step is a
 * rename): clearing what a crash left is emptying that directory, not walking a store of
 * millions of files at every start.
 */
export const TEMP_DIR = '.tmp';

/** Temp files are `<final name>.tmp-<12 hex digits>`. */
const TEMP_FILE_PATTERN = /\.tmp-[0-9a-f]{12}$/;

/**
 * The known-directory cache only saves a `stat` + directory fsync per write; past this size it
 * is simply cleared, so a daemon that has seen millions of series does not grow without limit.
 */
const MAX_KNOWN_DIRS = 10_000;

/** The file of `key` under `rootDir`; throws `StorageError` for a key that is not valid. */
export function objectPath(rootDir: string, key: string): string {
  assertValidKey(key);
  if (TEMP_FILE_PATTERN.test(key)) {
    throw new StorageError(`invalid object key ${JSON.stringify(key)}: looks like a temp file`);
  }
  return path.join(rootDir, key);
}

/**
 * Puts files under their keys in the filesystem store, durably, so that a key is either absent
 * or complete even after a crash. Directory entries it created are remembered, so a series
 * pays for its directory once.
 */
export class FilePlacer {
  readonly #rootDir: string;
  readonly #log: Logger | undefined;
  /** Directories known to exist with a durable entry in their parent. */
  readonly #knownDirs = new Set<string>();
  /** Directory creations in flight, so concurrent writes into a new series share one. */
  readonly #creatingDirs = new Map<string, Promise<void>>();
  #warnedCrossDevice = false;
  readonly #dirSyncs = new DirSyncGroups();
  readonly #mover = new FileMover();
  readonly #placing = new Set<Promise<void>>();

  constructor(rootDir: string, log: Logger | undefined) {
    this.#rootDir = rootDir;
    this.#log = log;
  }

  /** Start the threads that make stored files durable (otherwise started by the first files). */
  start(): Promise<void> {
    return this.#mover.start();
  }

  /** Make `file` durable under `key` (see `PlaceFile`). */
  place(file: SpooledFile, key: string): Promise<void> {
    // Tracked, so that closing waits for the files in progress before the threads stop.
    const placed = this.#place(file, key);
    const tracked: Promise<void> = placed
      .catch(() => undefined)
      .then(() => void this.#placing.delete(tracked));
    this.#placing.add(tracked);
    return placed;
  }

  async #place(file: SpooledFile, key: string): Promise<void> {
    let fd: number | undefined = file.fd;
    try {
      const dest = objectPath(this.#rootDir, key);
      const dir = path.dirname(dest);
      await file.synced;
      await this.ensureDir(dir);
      const handed = fd;
      fd = undefined;
      try {
        // The spool's data is made durable before the rename makes it visible under the key.
        await this.#mover.move(handed, file.path, dest, dir, { sync: file.synced === undefined });
      } catch (err) {
        if (!(err instanceof MoveError) || err.stage === 'sync') throw err;
        if (err.stage === 'rename') {
          // The data is durable but the rename failed: a directory removed behind the cache,
          // or a spool on another filesystem. The step-by-step path knows what to do.
          await this.#renameIntoPlace(file.path, dest);
        } else if (await exists(file.path)) {
          // The thread died before the rename: nothing is visible under the key.
          throw err;
        }
        // Renamed, so its data was durable first; the directory's fsync is still owed.
        await this.#dirSyncs.sync(dir);
      }
    } catch (err) {
      if (fd !== undefined) {
        // Not closed under a sync still using it.
        await file.synced?.catch(() => undefined);
        closeSync(fd);
      }
      throw toStorageError(err, `cannot store ${key}`);
    }
  }

  /** A temp name for `dest`, in the temp directory (created on first use). */
  async tempNameFor(dest: string): Promise<string> {
    await this.ensureDir(path.join(this.#rootDir, TEMP_DIR));
    return path.join(
      this.#rootDir,
      TEMP_DIR,
      `${path.basename(dest)}.tmp-${randomBytes(6).toString('hex')}`,
    );
  }

  /** `mkdir -p` that also makes every new directory entry durable. */
  async ensureDir(dir: string): Promise<void> {
    if (this.#knownDirs.has(dir)) return;
    let pending = this.#creatingDirs.get(dir);
    if (pending === undefined) {
      pending = this.#createDir(dir).finally(() => this.#creatingDirs.delete(dir));
      this.#creatingDirs.set(dir, pending);
    }
    await pending;
  }

  /** Wait for the files being placed, then stop the threads. */
  async close(): Promise<void> {
    await Promise.all(this.#placing);
    await this.#mover.close();
    this.#knownDirs.clear();
    this.#dirSyncs.close();
  }

  async #renameIntoPlace(spoolPath: string, dest: string): Promise<void> {
    try {
      // In the thread pool: a rename is journalled, and inline it can stall the event loop
      // while other instances' fsyncs commit.
      await rename(spoolPath, dest);
      return;
    } catch (err) {
      if (isCode(err, 'ENOENT') && this.#knownDirs.has(path.dirname(dest))) {
        // Someone removed the directory behind our cache (an operator tidying up): recreate.
        this.#knownDirs.delete(path.dirname(dest));
        this.#dirSyncs.forget(path.dirname(dest));
        await this.ensureDir(path.dirname(dest));
        await rename(spoolPath, dest);
        return;
      }
      if (!isCode(err, 'EXDEV')) throw err;
    }
    if (!this.#warnedCrossDevice) {
      this.#warnedCrossDevice = true;
      this.#log?.warn(
        { spoolDir: path.dirname(spoolPath), rootDir: this.#rootDir },
        'spool and object store are on different filesystems; every instance is copied',
      );
    }
    const temp = await this.tempNameFor(dest);
    try {
      await copyFile(spoolPath, temp, fsConstants.COPYFILE_EXCL);
      await syncFile(temp);
      await rename(temp, dest);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    // The object is durable once the caller fsyncs the directory; a spool file left behind
    // here would only be garbage, so failing the store for it would be wrong.
    await unlink(spoolPath).catch((err: unknown) => {
      this.#log?.warn({ err, spoolPath }, 'cannot remove spool file after copying it');
    });
  }

  async #createDir(dir: string): Promise<void> {
    // Find the missing directories from the deepest existing ancestor down.
    const missing: string[] = [];
    for (let current = dir; ; current = path.dirname(current)) {
      if (this.#knownDirs.has(current) || (await isDirectory(current))) break;
      missing.unshift(current);
      if (path.dirname(current) === current) break;
    }
    for (const created of missing) {
      try {
        await mkdir(created);
      } catch (err) {
        // A concurrent writer (or another process) created it; its entry still gets synced below.
        if (!isCode(err, 'EEXIST')) throw err;
      }
    }
    // Each new directory's entry lives in its parent, so the parents are what need syncing.
    for (const created of missing) await syncDir(path.dirname(created));
    if (this.#knownDirs.size >= MAX_KNOWN_DIRS) this.#knownDirs.clear();
    this.#knownDirs.add(dir);
  }
}

async function syncFile(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}
