import type { Database } from 'better-sqlite3';
import { applyMigrations } from '../index/migrations.js';
import { openDatabase } from '../index/sqlite.js';

/** What became of one on-demand request; `refused` before it reached the service. */
export type RetrievalOutcome = 'delivered' | 'in-progress' | 'failed' | 'refused';

/** One audited on-demand request: who asked, for what, and what they got. */
export interface AuditRecord {
  at: string;
  requesterCodiceFiscale: string;
  role: string;
  application: string;
  transactionNumber: string;
  ip: string;
  reportKey: string;
  format: string;
  outcome: RetrievalOutcome;
  /** The internal error kind, when the request failed. */
  errorKind: string | undefined;
  /** Bytes of the document delivered; 0 otherwise. */
  bytes: number;
  /** How the transfer of a delivered document ended, once it has. */
  delivery?: { status: 'complete' | 'interrupted'; bytesSent: number } | undefined;
  /** Of a refused request: its address, the HTTP Basic user it gave, its fault text. */
  refusal?: Refusal | undefined;
}

/** How a request refused before it reached the service came, and why it was refused. */
export interface Refusal {
  remoteAddress: string;
  httpUser: string | undefined;
  reason: string;
}

/** A built package in object storage, reusable while its fingerprint holds. */
export interface CachedPackage {
  cacheKey: string;
  storageKey: string;
  /** What the package was built from (report version, manifest); a change makes it stale. */
  fingerprint: string;
  mimeType: string;
  bytes: number;
  createdAt: string;
  expiresAt: string;
}

interface AuditRow {
  at: string;
  requester_cf: string;
  requester_role: string;
  application: string;
  transaction_number: string;
  requester_ip: string;
  report_key: string;
  format: string;
  outcome: RetrievalOutcome;
  error_kind: string | null;
  bytes: number;
  delivery: 'complete' | 'interrupted' | null;
  bytes_sent: number | null;
  remote_address: string | null;
  http_user: string | null;
  reason: string | null;
}

interface CacheRow {
  cache_key: string;
  storage_key: string;
  fingerprint: string;
  mime_type: string;
  bytes: number;
  created_at: string;
  expires_at: string;
}

function cacheOf(row: CacheRow): CachedPackage {
  return {
    cacheKey: row.cache_key,
    storageKey: row.storage_key,
    fingerprint: row.fingerprint,
    mimeType: row.mime_type,
    bytes: row.bytes,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

/**
 * The on-demand side of the index: the audit of every retrieval request (kept, never updated)
 * and the cache of built packages (one row per report and format, pointing at an object).
 */
export class OnDemandStore {
  #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Open the index file on a connection of its own, schema brought up to date. */
  static open(path: string): OnDemandStore {
    const db = openDatabase(path);
    try {
      applyMigrations(db);
      return new OnDemandStore(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  close(): void {
    this.#db.close();
  }

  /** Record a request; returns the row's id, for its delivery later. */
  audit(record: AuditRecord): number {
    const result = this.#db
      .prepare(
        `INSERT INTO retrieval_audit (at, requester_cf, requester_role, application,
           transaction_number, requester_ip, report_key, format, outcome, error_kind, bytes,
           remote_address, http_user, reason)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        record.at,
        record.requesterCodiceFiscale,
        record.role,
        record.application,
        record.transactionNumber,
        record.ip,
        record.reportKey,
        record.format,
        record.outcome,
        record.errorKind ?? null,
        record.bytes,
        record.refusal?.remoteAddress ?? null,
        record.refusal?.httpUser ?? null,
        record.refusal?.reason ?? null,
      );
    return Number(result.lastInsertRowid);
  }

  /** How the transfer of an audited document ended. */
  delivered(id: number, status: 'complete' | 'interrupted', bytesSent: number): void {
    this.#db
      .prepare('UPDATE retrieval_audit SET delivery = ?, bytes_sent = ? WHERE id = ?')
      .run(status, bytesSent, id);
  }

  /** The audit of one report, oldest first. */
  auditOf(reportKey: string): AuditRecord[] {
    return this.#db
      .prepare<[string], AuditRow>('SELECT * FROM retrieval_audit WHERE report_key = ? ORDER BY id')
      .all(reportKey)
      .map((row) => ({
        at: row.at,
        requesterCodiceFiscale: row.requester_cf,
        role: row.requester_role,
        application: row.application,
        transactionNumber: row.transaction_number,
        ip: row.requester_ip,
        reportKey: row.report_key,
        format: row.format,
        outcome: row.outcome,
        errorKind: row.error_kind ?? undefined,
        bytes: row.bytes,
        delivery:
          row.delivery === null
            ? undefined
            : { status: row.delivery, bytesSent: row.bytes_sent ?? 0 },
        refusal:
          row.reason === null
            ? undefined
            : {
                remoteAddress: row.remote_address ?? '',
                httpUser: row.http_user ?? undefined,
                reason: row.reason,
              },
      }));
  }

  cached(cacheKey: string): CachedPackage | undefined {
    const row = this.#db
      .prepare<[string], CacheRow>('SELECT * FROM package_cache WHERE cache_key = ?')
      .get(cacheKey);
    return row ? cacheOf(row) : undefined;
  }

  /** Record a built package; returns the one it replaces, whose object the caller removes. */
  putCached(entry: CachedPackage): CachedPackage | undefined {
    return this.#db.transaction(() => {
      const previous = this.cached(entry.cacheKey);
      this.#db
        .prepare(
          `INSERT INTO package_cache
             (cache_key, storage_key, fingerprint, mime_type, bytes, created_at, expires_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (cache_key) DO UPDATE SET storage_key = excluded.storage_key,
             fingerprint = excluded.fingerprint, mime_type = excluded.mime_type,
             bytes = excluded.bytes, created_at = excluded.created_at,
             expires_at = excluded.expires_at`,
        )
        .run(
          entry.cacheKey,
          entry.storageKey,
          entry.fingerprint,
          entry.mimeType,
          entry.bytes,
          entry.createdAt,
          entry.expiresAt,
        );
      return previous && previous.storageKey !== entry.storageKey ? previous : undefined;
    })();
  }

  /** Remove and return the entries expired at `now` (ISO 8601). */
  takeExpired(now: string): CachedPackage[] {
    return this.#db.transaction(() => {
      const rows = this.#db
        .prepare<[string], CacheRow>('SELECT * FROM package_cache WHERE expires_at <= ?')
        .all(now);
      this.#db.prepare('DELETE FROM package_cache WHERE expires_at <= ?').run(now);
      return rows.map(cacheOf);
    })();
  }
}
