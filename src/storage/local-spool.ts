/**
 * Spools as local files, for both stores: one directory per user of the spool (its area), a
 * few empty files created ahead in it, writes gathered into one `writev` per batch. What makes
 * a spooled file durable under its key is the store's: see {@link PlaceFile}.
 */
import { closeSync, fdatasync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FilePool, type PooledFile } from '../ingest/file-pool.js';
import { SpoolWriter } from '../ingest/spool-writer.js';
import { StorageError, toStorageError } from './object-store.js';
import type { Spool, SpoolArea, SpoolAreaOptions } from './object-store.js';

const fdatasyncAsync = promisify(fdatasync);

/** A spooled file handed to its store to be made durable under a key. */
export interface SpooledFile {
  /**
   * Open descriptor of the file, handed over: the store closes it whatever happens, once
   * `synced` has settled (a descriptor closed under a sync could be reused by another file).
   */
  fd: number;
  path: string;
  /** The data's sync started ahead (`Spool.syncAhead`); undefined when the store is to sync it. */
  synced: Promise<void> | undefined;
}

/**
 * How a store makes a spooled file durable under `key`. It rejects with `StorageError` when it
 * cannot, leaving nothing under the key; the file is then removed by the spool.
 */
export type PlaceFile = (file: SpooledFile, key: string) => Promise<void>;

/** What a store tells its spools. */
export interface LocalSpoolStore {
  /**
   * True when the object is made durable from the spool file's own data (filesystem): syncing
   * it ahead is then worth it. False when it is made durable elsewhere (S3: by the server).
   */
  syncsData: boolean;
  place: PlaceFile;
}

/** Area names, which are directory names: nothing from the network ever becomes one. */
const AREA_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
const SUFFIX = '.part';

/** The spool areas of one store: `<dir>/<area name>/`. */
export class LocalSpoolAreas {
  readonly #dir: string | undefined;
  readonly #store: LocalSpoolStore;
  readonly #open = new Set<string>();

  /** `dir`: where the areas go; undefined when the store was given none (areas cannot open). */
  constructor(dir: string | undefined, store: LocalSpoolStore) {
    this.#dir = dir;
    this.#store = store;
  }

  async open(name: string, options: SpoolAreaOptions = {}): Promise<SpoolArea> {
    if (!AREA_NAME.test(name))
      throw new StorageError(`invalid spool area name ${JSON.stringify(name.slice(0, 80))}`);
    if (this.#dir === undefined)
      throw new StorageError(`no local spool directory was given for spool area ${name}`);
    if (this.#open.has(name)) throw new StorageError(`spool area ${name} is open already`);
    const dir = join(this.#dir, name);
    this.#open.add(name);
    try {
      await mkdir(dir, { recursive: true });
      const leftovers = await emptyArea(dir);
      const pool = new FilePool(dir, SUFFIX, { size: options.prepared ?? 0, durable: false });
      await pool.fill();
      return new LocalSpoolArea(dir, leftovers, pool, this.#store, () => this.#open.delete(name));
    } catch (error) {
      this.#open.delete(name);
      throw toStorageError(error, `cannot open spool area ${name} in ${this.#dir}`);
    }
  }
}

/** Empties an area of what an earlier run left; returns how many files held data. */
async function emptyArea(dir: string): Promise<number> {
  let withData = 0;
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    // Files prepared ahead and never used are empty; one with data was being written.
    if ((await stat(path)).size > 0) withData++;
    await rm(path, { recursive: true, force: true });
  }
  return withData;
}

class LocalSpoolArea implements SpoolArea {
  readonly leftovers: number;
  readonly #dir: string;
  readonly #pool: FilePool;
  readonly #store: LocalSpoolStore;
  #release: (() => void) | undefined;

  constructor(
    dir: string,
    leftovers: number,
    pool: FilePool,
    store: LocalSpoolStore,
    release: () => void,
  ) {
    this.#dir = dir;
    this.leftovers = leftovers;
    this.#pool = pool;
    this.#store = store;
    this.#release = release;
  }

  createSpool(): Spool {
    if (this.#release === undefined) throw new StorageError(`spool area ${this.#dir} is closed`);
    let file: PooledFile;
    try {
      file = this.#pool.take();
    } catch (error) {
      throw toStorageError(error, `cannot create a spool file in ${this.#dir}`);
    }
    return new LocalSpool(file, this.#store);
  }

  close(): Promise<void> {
    this.#release?.();
    this.#release = undefined;
    return this.#pool.close();
  }
}

type State = 'writing' | 'ended' | 'broken' | 'committing' | 'committed' | 'discarded';

/** A spool file, open for writing. */
class LocalSpool implements Spool {
  readonly #path: string;
  readonly #store: LocalSpoolStore;
  readonly #writer: SpoolWriter;
  /** -1 once handed to the store or closed. */
  #fd: number;
  #bytes = 0;
  #state: State = 'writing';
  #synced: Promise<void> | undefined;
  #committed: Promise<void> | undefined;
  #discarded: Promise<void> | undefined;

  constructor(file: PooledFile, store: LocalSpoolStore) {
    this.#fd = file.fd;
    this.#path = file.path;
    this.#store = store;
    this.#writer = new SpoolWriter(file.fd);
  }

  get bytes(): number {
    return this.#bytes;
  }

  write(chunks: Buffer | readonly Buffer[]): void {
    if (this.#state !== 'writing') this.#expect('writing');
    try {
      if (Buffer.isBuffer(chunks)) this.#take(chunks);
      else for (const chunk of chunks) this.#take(chunk);
    } catch (error) {
      throw this.#broken(error);
    }
  }

  #take(chunk: Buffer): void {
    this.#bytes += chunk.length;
    this.#writer.write(chunk);
  }

  end(): void {
    if (this.#state !== 'writing') return this.#expect('ended', 'committing', 'committed');
    try {
      this.#writer.flush();
    } catch (error) {
      throw this.#broken(error);
    }
    this.#state = 'ended';
  }

  syncAhead(): void {
    this.end();
    if (!this.#store.syncsData || this.#synced || this.#state !== 'ended') return;
    this.#synced = fdatasyncAsync(this.#fd);
    // Its failure is reported by `commit`, which waits for it.
    this.#synced.catch(() => undefined);
  }

  commit(key: string): Promise<void> {
    if (this.#state === 'committing' || this.#state === 'committed')
      return Promise.reject(new StorageError(`spool committed already (under ${key})`));
    this.#committed = this.#commit(key);
    return this.#committed;
  }

  async #commit(key: string): Promise<void> {
    try {
      this.end();
    } catch (error) {
      await this.discard();
      throw new StorageError(`cannot store ${key}: ${(error as Error).message}`, { cause: error });
    }
    this.#state = 'committing';
    const file: SpooledFile = { fd: this.#fd, path: this.#path, synced: this.#synced };
    this.#fd = -1;
    try {
      await this.#store.place(file, key);
      this.#state = 'committed';
    } catch (error) {
      this.#state = 'discarded';
      // Left behind, it would only be garbage, which the next start removes.
      await rm(this.#path, { force: true }).catch(noop);
      throw error;
    }
  }

  discard(): Promise<void> {
    if (this.#state === 'committing') return this.#committed!.then(noop, noop);
    if (this.#state === 'committed') return Promise.resolve();
    this.#discarded ??= this.#discard();
    return this.#discarded;
  }

  async #discard(): Promise<void> {
    this.#state = 'discarded';
    this.#writer.discard();
    // The descriptor is closed only once the sync using it is over.
    await this.#synced?.catch(noop);
    if (this.#fd !== -1) closeSync(this.#fd);
    this.#fd = -1;
    await rm(this.#path, { force: true });
  }

  /** A write failed: the spool is good only to discard. */
  #broken(error: unknown): Error {
    this.#state = 'broken';
    return toStorageError(error, 'spool write failed');
  }

  #expect(...states: State[]): void {
    if (states.includes(this.#state)) return;
    const why = this.#state === 'broken' ? 'a write failed' : `it is ${this.#state}`;
    throw new StorageError(`the spool cannot take this: ${why}`);
  }
}

function noop(): void {}
