import { randomBytes } from 'node:crypto';
import { closeSync, constants as fsConstants, open as openCallback } from 'node:fs';
import { promisify } from 'node:util';
import { copyFile, mkdir, open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import {
  ObjectNotFoundError,
  StorageError,
  assertValidKey,
  assertValidPrefix,
} from './object-store.js';
import type { ObjectInfo, ObjectStore } from './object-store.js';
import { DirSyncGroups, syncDir } from './dir-sync.js';
import { exists, isCode, isDirectory, walk } from './fs-files.js';
import { FileMover, MoveError } from './file-mover.js';

/** Options of {@link FilesystemStore}. */
export interface FilesystemStoreOptions {
  /** Directory holding the objects; created on first write when missing. */
  rootDir: string;
}

const openAsync = promisify(openCallback);

/** Temp files are `<final name>.tmp-<12 hex digits>`. */
const TEMP_FILE_PATTERN = /\.tmp-[0-9a-f]{12}$/;

/**
 * Temp files live in one directory under the root (same filesystem, so the final step is a
 * rename): clearing what a crash left is emptying that directory, not walking a store of
 * millions of files at every start.
 */
const TEMP_DIR = '.tmp';

/**
 * The known-directory cache only saves a `stat` + directory fsync per write; past this size it
 * is simply cleared, so a daemon that has seen millions of series does not grow without limit.
 */
const MAX_KNOWN_DIRS = 10_000;

/**
 * Object store on a local filesystem: one file per key under `rootDir`. Writes go to a temp
 * file (or the caller's spool file) that is fsynced and renamed into place, and the directory
 * is fsynced afterwards, so a key is either absent or complete and durable, even after a crash.
 */
export class FilesystemStore implements ObjectStore {
  readonly description: string;
  readonly syncsSpool = true;
  readonly #rootDir: string;
  readonly #log: Logger | undefined;
  /** Directories known to exist with a durable entry in their parent. */
  readonly #knownDirs = new Set<string>();
  /** Directory creations in flight, so concurrent writes into a new series share one. */
  readonly #creatingDirs = new Map<string, Promise<void>>();
  #warnedCrossDevice = false;
  readonly #dirSyncs = new DirSyncGroups();
  readonly #mover = new FileMover();
  readonly #storing = new Set<Promise<void>>();

  constructor(options: FilesystemStoreOptions, logger?: Logger) {
    if (typeof options.rootDir !== 'string' || options.rootDir === '') {
      throw new StorageError(`rootDir must be a non-empty path, got ${String(options.rootDir)}`);
    }
    this.#rootDir = path.resolve(options.rootDir);
    this.description = `fs:${this.#rootDir}`;
    this.#log = logger?.child({ component: 'fs-store' });
  }

  putFile(
    key: string,
    spoolPath: string,
    options: { fd?: number; synced?: boolean } = {},
  ): Promise<void> {
    // Tracked, so that closing waits for the stores in progress before the threads stop.
    const stored = this.#putFile(key, spoolPath, options.fd, options.synced === true);
    const tracked: Promise<void> = stored
      .catch(() => undefined)
      .then(() => void this.#storing.delete(tracked));
    this.#storing.add(tracked);
    return stored;
  }

  async #putFile(
    key: string,
    spoolPath: string,
    handedFd: number | undefined,
    synced: boolean,
  ): Promise<void> {
    let fd = handedFd;
    try {
      const dest = this.#pathOf(key);
      const dir = path.dirname(dest);
      await this.#ensureDir(dir);
      fd ??= await openAsync(spoolPath, 'r');
      const handed = fd;
      fd = undefined;
      try {
        // The spool's data is made durable before the rename makes it visible under the key.
        await this.#mover.move(handed, spoolPath, dest, dir, { sync: !synced });
      } catch (err) {
        if (!(err instanceof MoveError) || err.stage === 'sync') throw err;
        if (err.stage === 'rename') {
          // The data is durable but the rename failed: a directory removed behind the cache,
          // or a spool on another filesystem. The step-by-step path knows what to do.
          await this.#renameIntoPlace(spoolPath, dest);
        } else if (await exists(spoolPath)) {
          // The thread died before the rename: nothing is visible under the key.
          throw err;
        }
        // Renamed, so its data was durable first; the directory's fsync is still owed.
        await this.#dirSyncs.sync(dir);
      }
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      throw wrap(err, `cannot store ${key} from ${spoolPath}`);
    }
  }

  /** Start the threads that make stored files durable (otherwise started by the first writes). */
  start(): Promise<void> {
    return this.#mover.start();
  }

  async putBuffer(key: string, data: Buffer): Promise<void> {
    const dest = this.#pathOf(key);
    const temp = await this.#tempNameFor(dest);
    try {
      await this.#ensureDir(path.dirname(dest));
      const handle = await open(temp, 'wx');
      try {
        await handle.writeFile(data);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(temp, dest);
      await syncDir(path.dirname(dest));
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw wrap(err, `cannot store ${key}`);
    }
  }

  async read(key: string): Promise<Readable> {
    const file = this.#pathOf(key);
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      throw notFoundOr(err, key, `cannot read ${key}`);
    }
    try {
      // Opening a directory succeeds on Linux; only regular files are objects.
      if (!(await handle.stat()).isFile()) throw new ObjectNotFoundError(key);
    } catch (err) {
      await handle.close();
      throw notFoundOr(err, key, `cannot read ${key}`);
    }
    return handle.createReadStream();
  }

  async readBuffer(key: string): Promise<Buffer> {
    try {
      return await readFile(this.#pathOf(key));
    } catch (err) {
      throw notFoundOr(err, key, `cannot read ${key}`);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const info = await stat(this.#pathOf(key));
      return info.isFile() ? { key, sizeBytes: info.size } : undefined;
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return undefined;
      throw wrap(err, `cannot stat ${key}`);
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.#pathOf(key);
    try {
      await unlink(file);
      // Without this a crash could bring the object back after its index row is gone.
      await syncDir(path.dirname(file));
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return;
      throw wrap(err, `cannot delete ${key}`);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    // Start at the deepest directory the prefix names in full; its last segment may be partial.
    const slash = prefix.lastIndexOf('/');
    const startKey = slash < 0 ? '' : prefix.slice(0, slash);
    const startDir = startKey === '' ? this.#rootDir : path.join(this.#rootDir, startKey);
    try {
      for await (const entry of walk(startDir, startKey)) {
        if (entry.key.startsWith(prefix)) yield entry;
      }
    } catch (err) {
      throw wrap(err, `cannot list ${JSON.stringify(prefix)}`);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#storing);
    await this.#mover.close();
    this.#knownDirs.clear();
    this.#dirSyncs.close();
  }

  /** A temp name for `dest`, in the temp directory (created on first use). */
  async #tempNameFor(dest: string): Promise<string> {
    await this.#ensureDir(path.join(this.#rootDir, TEMP_DIR));
    return tempNameFor(this.#rootDir, dest);
  }

  #pathOf(key: string): string {
    assertValidKey(key);
    if (TEMP_FILE_PATTERN.test(key)) {
      throw new StorageError(`invalid object key ${JSON.stringify(key)}: looks like a temp file`);
    }
    return path.join(this.#rootDir, key);
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
        await this.#ensureDir(path.dirname(dest));
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
    const temp = await this.#tempNameFor(dest);
    try {
      await copyFile(spoolPath, temp, fsConstants.COPYFILE_EXCL);
      await syncFile(temp, 'r+');
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

  /** `mkdir -p` that also makes every new directory entry durable. */
  async #ensureDir(dir: string): Promise<void> {
    if (this.#knownDirs.has(dir)) return;
    let pending = this.#creatingDirs.get(dir);
    if (pending === undefined) {
      pending = this.#createDir(dir).finally(() => this.#creatingDirs.delete(dir));
      this.#creatingDirs.set(dir, pending);
    }
    await pending;
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

/**
 * Deletes temp files left under `rootDir` by writes that a crash interrupted, and returns how
 * many it removed. Call it at start-up, before the store takes writes: a temp file of a write
 * in progress would be removed too, and that write would then fail.
 */
export async function removeStaleTempFiles(rootDir: string): Promise<number> {
  const tempDir = path.join(path.resolve(rootDir), TEMP_DIR);
  let names: string[];
  try {
    names = await readdir(tempDir);
  } catch (err) {
    if (isCode(err, 'ENOENT')) return 0;
    throw wrap(err, `cannot remove stale temp files under ${rootDir}`);
  }
  let removed = 0;
  for (const name of names) {
    try {
      await unlink(path.join(tempDir, name));
      removed += 1;
    } catch (err) {
      if (!isCode(err, 'ENOENT')) throw wrap(err, `cannot remove stale temp file ${name}`);
    }
  }
  return removed;
}

function tempNameFor(rootDir: string, dest: string): string {
  return path.join(
    rootDir,
    TEMP_DIR,
    `${path.basename(dest)}.tmp-${randomBytes(6).toString('hex')}`,
  );
}

async function syncFile(file: string, flags: 'r' | 'r+'): Promise<void> {
  const handle = await open(file, flags);
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

function notFoundOr(err: unknown, key: string, message: string): Error {
  if (err instanceof ObjectNotFoundError) return err;
  if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR') || isCode(err, 'EISDIR')) {
    return new ObjectNotFoundError(key, { cause: err });
  }
  return wrap(err, message);
}

function wrap(err: unknown, message: string): Error {
  if (err instanceof StorageError || err instanceof ObjectNotFoundError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new StorageError(`${message}: ${detail}`, { cause: err });
}
