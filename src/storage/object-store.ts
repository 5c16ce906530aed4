import type { Readable } from 'node:stream';

/** One entry of a listing. */
export interface ObjectInfo {
  key: string;
  sizeBytes: number;
}

/**
 * Data being written before it is stored under a key: nothing half-written ever appears under
 * a real key. Obtained from a {@link SpoolArea}; whoever takes one either commits it or
 * discards it.
 */
export interface Spool {
  /** Bytes taken so far (written, or gathered to be written). */
  readonly bytes: number;
  /**
   * Takes `chunks` (which must not change afterwards). They are gathered and written with one
   * system call per 256 KiB, synchronously: a write lands in the page cache without waiting on
   * the disk, and blocking the caller while it runs is the back-pressure. Throws
   * `StorageError` when the data cannot be written; the spool is then only good to discard.
   */
  write(chunks: Buffer | readonly Buffer[]): void;
  /** No more data: writes what is gathered. Throws as `write` does. */
  end(): void;
  /**
   * Start making the data durable now, ahead of `commit`, for a caller that has something
   * else to wait for first: the two waits then overlap. A store whose objects are made durable
   * elsewhere (S3: by the server) does nothing. `commit` waits for it and fails if it fails.
   */
  syncAhead(): void;
  /**
   * Make the data durable under `key` (ending the spool first). Resolves only when the object
   * is durable (data synced, renamed under its key, directory synced; or the S3 PUT
   * acknowledged). On failure nothing is left under `key` that was not there before, and the
   * spool is gone.
   */
  commit(key: string): Promise<void>;
  /** Drop the data; nothing is stored. Safe to call at any time, and again. */
  discard(): Promise<void>;
}

/** The spool of one user of the store (ingest, package building): see `openSpoolArea`. */
export interface SpoolArea {
  /** Spools with data that an earlier run left in this area, removed when it was opened. */
  readonly leftovers: number;
  /** A new, empty spool; throws `StorageError` when none can be created. */
  createSpool(): Spool;
  /**
   * Remove the spools prepared ahead and never taken (resolves once they are removed); spools
   * taken stay usable.
   */
  close(): Promise<void>;
}

/** Options of `ObjectStore.openSpoolArea`. */
export interface SpoolAreaOptions {
  /**
   * Spools prepared ahead of need, so that taking one costs no system call (creating a file
   * is journalled and can stall the caller while other syncs commit). Default 0.
   */
  prepared?: number;
}

/**
 * The object-store port. Data is written to a {@link Spool} first, which then makes it durable
 * under its key. Adapters: filesystem (default) and S3.
 */
export interface ObjectStore {
  /** Human-readable description for logs, e.g. `fs:/srv/bridge/data/objects`. */
  readonly description: string;
  /**
   * Open the spool area called `name` (lower-case letters, digits and `-`), one per user: the
   * user's start-up empties it of what an earlier run left, and touches no other user's area.
   * One area of a name may be open at a time; close it before opening it again.
   */
  openSpoolArea(name: string, options?: SpoolAreaOptions): Promise<SpoolArea>;
  /** Store a small buffer durably under `key` (packages, manifests). */
  putBuffer(key: string, data: Buffer): Promise<void>;
  /** Read an object as a stream. Rejects with `ObjectNotFoundError` when absent. */
  read(key: string): Promise<Readable>;
  /** Read an object whole. Rejects with `ObjectNotFoundError` when absent. */
  readBuffer(key: string): Promise<Buffer>;
  /** Size of an object, or `undefined` when absent. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  /** Remove an object; absent objects are not an error. */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with `prefix`, in no particular order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Release connections and handles. */
  close(): Promise<void>;
}

/** The object asked for does not exist. */
export class ObjectNotFoundError extends Error {
  override readonly name = 'ObjectNotFoundError';
  constructor(
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`object not found: ${key}`, options);
  }
}

/** The store could not complete an operation (I/O error, S3 error, timeout). */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** `error` as a `StorageError` saying `message` and what went wrong; store errors pass as they are. */
export function toStorageError(error: unknown, message: string): Error {
  if (error instanceof StorageError || error instanceof ObjectNotFoundError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new StorageError(`${message}: ${detail}`, { cause: error });
}

/**
 * Throws `StorageError` naming the key unless it is a safe relative key: `/`-separated
 * segments, none empty, `.` or `..`, no backslash or NUL, not absolute. Every adapter checks
 * keys with this one rule, so a key accepted by one store is accepted by all of them and can
 * never name a path outside the store's root.
 */
export function assertValidKey(key: string): void {
  const problem = keyProblem(key);
  if (problem !== undefined) {
    throw new StorageError(`invalid object key ${JSON.stringify(key.slice(0, 200))}: ${problem}`);
  }
}

/**
 * Like {@link assertValidKey} for a listing prefix: the empty prefix and a trailing `/` are
 * allowed, the last segment may be partial.
 */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  const problem = keyProblem(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  if (problem !== undefined) {
    throw new StorageError(
      `invalid key prefix ${JSON.stringify(prefix.slice(0, 200))}: ${problem}`,
    );
  }
}

function keyProblem(key: string): string | undefined {
  if (key === '') return 'empty';
  if (key.includes('\0')) return 'contains NUL';
  if (key.includes('\\')) return 'contains a backslash';
  if (key.startsWith('/')) return 'absolute';
  for (const segment of key.split('/')) {
    if (segment === '') return 'empty segment';
    if (segment === '.' || segment === '..') return `"${segment}" segment`;
  }
  return undefined;
}
