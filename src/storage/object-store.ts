import type { Readable } from 'node:stream';

/** One entry of a listing. */
export interface ObjectInfo {
  key: string;
  sizeBytes: number;
}

/**
 * The object-store port. Instances are first written to a local spool file by the receiver
 * (so nothing half-written ever appears under a real key); `putFile` then makes that file
 * durable under its key. Adapters: filesystem (default) and S3.
 */
export interface ObjectStore {
  /** Human-readable description for logs, e.g. `fs:/srv/bridge/data/objects`. */
  readonly description: string;
  /**
   * True when `putFile` makes the object durable from the spool file itself, so the file's data
   * must be synced (by the store, or by the caller ahead of it); false when the object is made
   * durable elsewhere (S3: by the server), so syncing the spool would only cost time.
   */
  readonly syncsSpool: boolean;
  /**
   * Make the spooled file durable under `key` and remove the spool file. Resolves only when
   * the object is durable (fsync + rename + directory fsync, or S3 PUT acknowledged). On
   * failure nothing is left under `key` and the spool file is left for the caller to remove.
   * `fd` is an open descriptor of the spool file, handed over: the store closes it whatever
   * happens (a local store syncs through it instead of opening the file again). `synced` says
   * the caller has fdatasync'd the file already.
   */
  putFile(
    key: string,
    spoolPath: string,
    options?: { fd?: number; synced?: boolean },
  ): Promise<void>;
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
