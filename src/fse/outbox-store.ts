import type { Database, Statement } from 'better-sqlite3';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { toIndexError } from '../index/errors.js';
import { applyMigrations } from '../index/migrations.js';
import { openDatabase } from '../index/sqlite.js';
import type { SqliteOptions } from '../index/sqlite.js';
import {
  OUTBOX_COLUMNS,
  checkEntry,
  clip,
  newMessageId,
  toItem,
  type DeadLetter,
  type OutboxEntry,
  type OutboxItem,
  type OutboxRow,
  type OutboxStatus,
} from './outbox-entry.js';

export interface EnqueueResult {
  item: OutboxItem;
  /** False when the idempotency key was already enqueued: `item` is the existing row. */
  created: boolean;
}

/** Why `resend` refused. */
export type ResendRefusal = 'not-found' | 'not-dead' | 'superseded';

/**
 * A dead letter cannot be re-sent: it does not exist (`not-found`), is not dead (`not-dead`),
 * or a newer notification of the same report is pending or delivered (`superseded`): sending
 * the older one after it would leave the FSE side with stale information.
 */
export class OutboxResendError extends Error {
  override readonly name = 'OutboxResendError';
  constructor(
    readonly id: number,
    readonly reason: ResendRefusal,
  ) {
    super(
      reason === 'not-found'
        ? `outbox item ${id} does not exist`
        : reason === 'not-dead'
          ? `outbox item ${id} is not a dead letter`
          : `outbox item ${id} is superseded by a newer notification of the same report`,
    );
  }
}

export interface OutboxStoreOptions extends SqliteOptions {
  logger?: Logger;
  /** The clock for `created_at`, `updated_at` and the first attempt; tests inject one. */
  now?: () => Date;
}

/**
 * The outbox table, on a connection of its own to the index database.
 *
 * Its writes run synchronously on the calling (main) thread, unlike instance commits, which
 * the index writer thread does. That is acceptable here: there is one enqueue per report and one
 * update per delivery attempt, each a single short transaction. The cost is one fsync
 * (`synchronous=FULL`) and, while the writer thread holds the write lock for a batch, a wait of
 * at most that batch's commit (bounded by `busy_timeout`).
 *
 * Every failure surfaces as `IndexError` (with SQLite's code), except the refusals documented
 * on each method.
 */
export class OutboxStore {
  readonly #db: Database;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #insert: Statement<[string, string, string, string, string, string, string, string]>;
  readonly #byKey: Statement<[string], OutboxRow>;
  readonly #byId: Statement<[number], OutboxRow>;
  readonly #due: Statement<[string, number], OutboxRow>;
  readonly #delivered: Statement<[number | null, string, string, number]>;
  readonly #retry: Statement<[string, number | null, string, string, number]>;
  readonly #dead: Statement<[string, number | null, string, number]>;
  readonly #listDead: Statement<[], OutboxRow>;
  readonly #newerLive: Statement<[string, number], { id: number }>;
  readonly #revive: Statement<[string, string, number]>;
  readonly #counts: Statement<[], { status: string; n: number }>;
  readonly #resendTx: (id: number) => OutboxItem;

  private constructor(db: Database, log: Logger, now: () => Date) {
    this.#db = db;
    this.#log = log;
    this.#now = now;
    // Portable upsert (SQLite ≥ 3.24, PostgreSQL ≥ 9.5): a second enqueue of a key is a no-op.
    this.#insert = db.prepare(`
      INSERT INTO outbox (kind, report_key, idempotency_key, payload, status, attempts,
                          next_attempt_at, created_at, updated_at, message_id)
      VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)
      ON CONFLICT (idempotency_key) DO NOTHING`);
    this.#byKey = db.prepare(`SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE idempotency_key = ?`);
    this.#byId = db.prepare(`SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE id = ?`);
    // Only the oldest pending notification of each report is due: they are delivered in order,
    // so that "cancelled" never overtakes the "images available" it cancels.
    this.#due = db.prepare(`
      SELECT ${OUTBOX_COLUMNS} FROM outbox o
      WHERE o.status = 'pending' AND o.next_attempt_at <= ?
        AND NOT EXISTS (
          SELECT 1 FROM outbox earlier
          WHERE earlier.report_key = o.report_key AND earlier.status = 'pending'
            AND earlier.id < o.id)
      ORDER BY o.next_attempt_at, o.id
      LIMIT ?`);
    // `status = 'pending'` in each update: an outcome never overwrites what an operator or
    // another outcome decided in the meantime.
    this.#delivered = db.prepare(`
      UPDATE outbox SET status = 'delivered', attempts = attempts + 1, last_error = NULL,
        last_http_status = ?, delivered_at = ?, updated_at = ?
      WHERE id = ? AND status = 'pending'`);
    this.#retry = db.prepare(`
      UPDATE outbox SET attempts = attempts + 1, last_error = ?, last_http_status = ?,
        next_attempt_at = ?, updated_at = ?
      WHERE id = ? AND status = 'pending'`);
    this.#dead = db.prepare(`
      UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = ?,
        last_http_status = ?, updated_at = ?
      WHERE id = ? AND status = 'pending'`);
    this.#listDead = db.prepare(
      `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE status = 'dead' ORDER BY updated_at, id`,
    );
    this.#newerLive = db.prepare(`
      SELECT id FROM outbox
      WHERE report_key = ? AND id > ? AND status IN ('pending', 'delivered')
      LIMIT 1`);
    this.#revive = db.prepare(`
      UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?
      WHERE id = ? AND status = 'dead'`);
    this.#counts = db.prepare('SELECT status, COUNT(*) AS n FROM outbox GROUP BY status');
    const resend = db.transaction((id: number): OutboxItem => {
      const row = this.#byId.get(id);
      if (!row) throw new OutboxResendError(id, 'not-found');
      if (row.status !== 'dead') throw new OutboxResendError(id, 'not-dead');
      if (this.#newerLive.get(row.report_key, id)) throw new OutboxResendError(id, 'superseded');
      const at = this.#now().toISOString();
      this.#revive.run(at, at, id);
      return toItem(this.#byId.get(id)!);
    });
    // IMMEDIATE: the check and the update see the same table, even with another writer around.
    this.#resendTx = (id) => resend.immediate(id);
  }

  /**
   * Opens the outbox in the index database at `path` (the file `StudyIndex` uses), creating it
   * and applying the migrations if needed (safe when `StudyIndex` does so too).
   *
   * @throws IndexError when the file cannot be opened, WAL cannot be enabled, or a migration fails.
   */
  static open(path: string, options: OutboxStoreOptions = {}): OutboxStore {
    const log = (options.logger ?? pino({ enabled: false })).child({ component: 'outbox' });
    let db: Database | undefined;
    try {
      db = openDatabase(path, options);
      applyMigrations(db, log);
      return new OutboxStore(db, log, options.now ?? (() => new Date()));
    } catch (err) {
      db?.close();
      throw toIndexError(`opening outbox ${path}`, err);
    }
  }

  /**
   * Stores a notification as pending, due now, with a new message control id (`messageId`).
   * Idempotent on `idempotencyKey`: when the key is already stored (whatever its status),
   * nothing changes (its message control id included) and the existing row is returned with
   * `created: false`; if its payload differs, the first is kept and a warning logged.
   *
   * @throws OutboxEntryError when a field is missing or out of bounds, naming it.
   */
  enqueue(entry: OutboxEntry): EnqueueResult {
    checkEntry(entry);
    return this.#run('enqueue', () => {
      const at = this.#now().toISOString();
      const { changes } = this.#insert.run(
        entry.kind,
        entry.reportKey,
        entry.idempotencyKey,
        entry.payload,
        at,
        at,
        at,
        newMessageId(),
      );
      const item = toItem(this.#byKey.get(entry.idempotencyKey)!);
      if (changes === 0 && item.payload !== entry.payload) {
        this.#log.warn(
          { outboxId: item.id, kind: item.kind, status: item.status },
          'notification enqueued again with another payload: the first one is kept',
        );
      }
      return { item, created: changes > 0 };
    });
  }

  /**
   * Pending notifications due at `now`, earliest first, at most `limit`; only the oldest
   * pending one of each report (later ones wait for it to be delivered or dead).
   */
  due(now: Date, limit: number): OutboxItem[] {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(`limit must be a positive integer, got ${limit}`);
    }
    return this.#run('due', () => this.#due.all(now.toISOString(), limit).map(toItem));
  }

  /**
   * Records a 2xx answer. Returns false (and changes nothing) unless the item is pending.
   */
  markDelivered(id: number, httpStatus: number | undefined): boolean {
    return this.#run('markDelivered', () => {
      const at = this.#now().toISOString();
      return this.#delivered.run(httpStatus ?? null, at, at, id).changes > 0;
    });
  }

  /** Records a failed attempt to be retried at `nextAttemptAt`. False unless pending. */
  markRetry(
    id: number,
    error: string,
    httpStatus: number | undefined,
    nextAttemptAt: Date,
  ): boolean {
    return this.#run('markRetry', () => {
      const at = this.#now().toISOString();
      return (
        this.#retry.run(clip(error), httpStatus ?? null, nextAttemptAt.toISOString(), at, id)
          .changes > 0
      );
    });
  }

  /** Records a final refusal (or the last failed attempt): the item becomes a dead letter. */
  markDead(id: number, error: string, httpStatus: number | undefined): boolean {
    return this.#run('markDead', () => {
      const at = this.#now().toISOString();
      return this.#dead.run(clip(error), httpStatus ?? null, at, id).changes > 0;
    });
  }

  /** Every dead letter, oldest refusal first, without payloads (they hold patient data). */
  listDeadLetters(): DeadLetter[] {
    return this.#run('listDeadLetters', () =>
      this.#listDead.all().map((row) => {
        const item: Partial<OutboxItem> = toItem(row);
        delete item.payload;
        return item as DeadLetter;
      }),
    );
  }

  /**
   * Makes a dead letter pending again, due now. Its attempt count is reset to 0, so it gets
   * the whole retry budget again (whoever re-sends it has presumably fixed the cause);
   * `lastError` and `lastHttpStatus` stay until the next attempt replaces them. A worker in
   * another process picks it up at its next poll.
   *
   * @throws OutboxResendError when the item does not exist, is not dead, or is superseded by a
   * newer pending or delivered notification of the same report.
   */
  resend(id: number): OutboxItem {
    return this.#run('resend', () => this.#resendTx(id));
  }

  /**
   * Re-sends every dead letter that is not superseded (see `resend`), for when a cause common
   * to all was fixed (credentials, URL). Returns the ids made pending.
   */
  resendAllDead(): number[] {
    const resent: number[] = [];
    for (const { id } of this.listDeadLetters()) {
      try {
        resent.push(this.resend(id).id);
      } catch (err) {
        if (!(err instanceof OutboxResendError)) throw err;
      }
    }
    return resent;
  }

  /** One item with its payload, or `undefined`. */
  get(id: number): OutboxItem | undefined {
    const row = this.#run('get', () => this.#byId.get(id));
    return row && toItem(row);
  }

  /** How many items are in each status (for metrics). */
  counts(): Record<OutboxStatus, number> {
    const counts: Record<OutboxStatus, number> = { pending: 0, delivered: 0, dead: 0 };
    for (const { status, n } of this.#run('counts', () => this.#counts.all())) {
      counts[status as OutboxStatus] = n;
    }
    return counts;
  }

  /** Pending notifications that failed at least once (waiting for a retry). */
  countRetrying(): number {
    return this.#run(
      'countRetrying',
      () =>
        this.#db
          .prepare<[], { n: number }>(
            "SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending' AND attempts > 0",
          )
          .get()!.n,
    );
  }

  /** Closes the connection. Idempotent; any later call throws `IndexError`. */
  close(): void {
    if (this.#db.open) this.#db.close();
  }

  #run<T>(operation: string, fn: () => T): T {
    if (!this.#db.open) throw toIndexError(operation, new Error('outbox is closed'));
    try {
      return fn();
    } catch (err) {
      if (err instanceof OutboxResendError) throw err;
      throw toIndexError(`outbox ${operation}`, err);
    }
  }
}
