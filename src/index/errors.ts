/**
 * The study index could not complete an operation (SQLite error, locked database, disk full,
 * constraint violated, index closed). Callers answering a C-STORE map it to DIMSE status
 * 0xA700 (Out of Resources) and keep nothing half-written: the transaction was rolled back.
 */
export class IndexError extends Error {
  override readonly name = 'IndexError';
  /** SQLite's extended result code when the cause is a SQLite error, e.g. `SQLITE_BUSY`. */
  readonly code: string | undefined;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = sqliteCode(options?.cause);
  }
}

/**
 * `IndexError.code` of a commit refused because an instance's SeriesInstanceUID is indexed
 * under another study: the index never merges two studies through a reused series UID. Not a
 * SQLite code, so no database failure is mistaken for it.
 */
export const SERIES_IN_OTHER_STUDY = 'BRIDGE_SERIES_IN_OTHER_STUDY';

/** Wraps whatever `operation` threw into an `IndexError`, unless it already is one. */
export function toIndexError(operation: string, err: unknown): IndexError {
  if (err instanceof IndexError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new IndexError(`${operation} failed: ${reason}`, { cause: err });
}

function sqliteCode(cause: unknown): string | undefined {
  // better-sqlite3's SqliteError carries the code as a string property; checked structurally
  // so this module does not depend on the driver (the PostgreSQL port will bring its own).
  if (typeof cause !== 'object' || cause === null || !('code' in cause)) return undefined;
  const { code } = cause as { code: unknown };
  return typeof code === 'string' ? code : undefined;
}
