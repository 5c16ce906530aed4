import { open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import {
  ObjectNotFoundError,
  StorageError,
  assertValidPrefix,
  toStorageError,
} from './object-store.js';
import type { ObjectInfo, ObjectStore, SpoolArea, SpoolAreaOptions } from './object-store.js';
import { syncDir } from './dir-sync.js';
import { FilePlacer, TEMP_DIR, objectPath } from './fs-place.js';
import { isCode, walk } from './fs-files.js';
import { LocalSpoolAreas } from './local-spool.js';

/** Options of {@link FilesystemStore}. */
export interface FilesystemStoreOptions {
  /** Directory holding the objects; created on first write when missing. */
  rootDir: string;
  /**
   * Directory of the spool areas, on the same filesystem as `rootDir` so that storing a
   * spooled file is a rename (elsewhere every file is copied). Default `<rootDir>/.spool`.
   */
  spoolDir?: string;
}

/**
 * Object store on a local filesystem: one file per key under `rootDir`. Writes go to a temp
 * file or a spool file that is fsynced and renamed into place, and the directory is fsynced
 * afterwards, so a key is either absent or complete and durable, even after a crash.
 */
export class FilesystemStore implements ObjectStore {
  readonly description: string;
  readonly #rootDir: string;
  readonly #placer: FilePlacer;
  readonly #spools: LocalSpoolAreas;

  constructor(options: FilesystemStoreOptions, logger?: Logger) {
    if (typeof options.rootDir !== 'string' || options.rootDir === '') {
      throw new StorageError(`rootDir must be a non-empty path, got ${String(options.rootDir)}`);
    }
    this.#rootDir = path.resolve(options.rootDir);
    this.description = `fs:${this.#rootDir}`;
    this.#placer = new FilePlacer(this.#rootDir, logger?.child({ component: 'fs-store' }));
    this.#spools = new LocalSpoolAreas(
      path.resolve(options.spoolDir ?? path.join(this.#rootDir, '.spool')),
      { syncsData: true, place: (file, key) => this.#placer.place(file, key) },
    );
  }

  openSpoolArea(name: string, options?: SpoolAreaOptions): Promise<SpoolArea> {
    return this.#spools.open(name, options);
  }

  /** Start the threads that make stored files durable (otherwise started by the first writes). */
  start(): Promise<void> {
    return this.#placer.start();
  }

  async putBuffer(key: string, data: Buffer): Promise<void> {
    const dest = this.#pathOf(key);
    const temp = await this.#placer.tempNameFor(dest);
    try {
      await this.#placer.ensureDir(path.dirname(dest));
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
      throw toStorageError(err, `cannot store ${key}`);
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
      throw toStorageError(err, `cannot stat ${key}`);
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
      throw toStorageError(err, `cannot delete ${key}`);
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
      throw toStorageError(err, `cannot list ${JSON.stringify(prefix)}`);
    }
  }

  async close(): Promise<void> {
    await this.#placer.close();
  }

  #pathOf(key: string): string {
    return objectPath(this.#rootDir, key);
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
    throw toStorageError(err, `cannot remove stale temp files under ${rootDir}`);
  }
  let removed = 0;
  for (const name of names) {
    try {
      await unlink(path.join(tempDir, name));
      removed += 1;
    } catch (err) {
      if (!isCode(err, 'ENOENT'))
        throw toStorageError(err, `cannot remove stale temp file ${name}`);
    }
  }
  return removed;
}

function notFoundOr(err: unknown, key: string, message: string): Error {
  if (err instanceof ObjectNotFoundError) return err;
  if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR') || isCode(err, 'EISDIR')) {
    return new ObjectNotFoundError(key, { cause: err });
  }
  return toStorageError(err, message);
}
