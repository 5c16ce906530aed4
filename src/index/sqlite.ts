import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { IndexError } from './errors.js';

/** How long a writer waits for another connection's lock before failing with SQLITE_BUSY. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

/** Connection settings for the index database. */
export interface SqliteOptions {
  /** Wait this long for a lock held by another connection; default 5 s. */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating it and its parent folder if needed) the SQLite file at `path` with the
 * settings the durability rule needs. `:memory:` gives a private in-memory database.
 *
 * - `journal_mode=WAL`: readers (CLI, HTTP) do not block the ingest writer.
 * - `synchronous=FULL`: in WAL mode, NORMAL may lose the last commits on power loss; FULL
 *   fsyncs the WAL at every commit, so a C-STORE answered Success stays indexed.
 * - `foreign_keys=ON`: SQLite leaves it off by default, per connection.
 */
export function openDatabase(path: string, options: SqliteOptions = {}): SqliteDatabase {
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new IndexError(`busyTimeoutMs must be a non-negative integer, got ${busyTimeoutMs}`);
  }
  const inMemory = path === ':memory:';
  if (!inMemory) mkdirSync(dirname(path), { recursive: true });

  const db = new Database(path, { timeout: busyTimeoutMs });
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    // The pragma reports the mode in force; it stays e.g. `delete` on file systems
    // without shared memory support, and we would rather know than run without WAL.
    if (!inMemory && mode !== 'wal') {
      throw new IndexError(`could not enable WAL journal mode (got ${String(mode)}): ${path}`);
    }
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
