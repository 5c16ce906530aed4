import { performance } from 'node:perf_hooks';
import type { Database, Statement } from 'better-sqlite3';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { StoredInstance } from '../dicom/instance-metadata.js';
import { BatchWriter } from './commit.js';
import type { CommitResult } from './commit.js';
import { IndexError, toIndexError } from './errors.js';
import { applyMigrations } from './migrations.js';
import { QrQueries, planFind, planRetrieve } from './qr-query.js';
import type { MatchKeys, QrLevel, QrMatch, QrModel, QrScope, RetrieveItem } from './qr-query.js';
import {
  INSTANCE_COLUMNS,
  SERIES_COLUMNS,
  STUDY_COLUMNS,
  toInstanceRecord,
  toSeriesRecord,
  toStudyRecord,
  toStudySummary,
} from './records.js';
import type {
  InstanceLocation,
  InstanceRecord,
  InstanceRow,
  SeriesRecord,
  SeriesRow,
  StudyRecord,
  StudyRow,
  StudySummary,
} from './records.js';
import { openDatabase } from './sqlite.js';
import type { SqliteOptions } from './sqlite.js';

export type { CommitResult } from './commit.js';
export type {
  InstanceLocation,
  InstanceRecord,
  SeriesRecord,
  StudyRecord,
  StudySummary,
} from './records.js';
export { IndexError, SERIES_IN_OTHER_STUDY } from './errors.js';
export type { MatchKeys, QrLevel, QrMatch, QrModel, QrScope, RetrieveItem } from './qr-query.js';
export { QrQueryError } from './qr-query.js';

interface LocationRow {
  dataset_sha256: string;
  storage_key: string;
  series_uid: string;
  study_uid: string;
}

/**
 * The study index: patients, studies, series and instances received, in SQLite. Every
 * method is synchronous (better-sqlite3), and every failure surfaces as `IndexError`.
 *
 * One `StudyIndex` per process writes; other processes (the CLI) may open the same file
 * to read, and WAL mode keeps them from blocking the writer.
 */
export class StudyIndex {
  readonly #db: Database;
  readonly #logger: Logger;
  readonly #commit: (
    items: readonly StoredInstance[],
    replace: ReadonlySet<string>,
  ) => CommitResult;
  readonly #clear: () => void;
  readonly #remove: (sopInstanceUid: string) => boolean;
  readonly #setExpected: (studyUid: string, expected: number | null) => void;
  /** Made on first use: the writer thread's index never queries. */
  #queries: QrQueries | undefined;
  readonly #findInstance: Statement<[string], LocationRow>;
  readonly #seriesStudy: Statement<[string], { study_uid: string }>;
  readonly #getStudy: Statement<[string], StudyRow>;
  readonly #listStudies: Statement<[], StudyRow>;
  readonly #listSeries: Statement<[string], SeriesRow>;
  readonly #listInstances: Statement<[string], InstanceRow>;
  readonly #countInstances: Statement<[], { n: number }>;

  private constructor(db: Database, logger: Logger) {
    this.#db = db;
    this.#logger = logger;
    const writer = new BatchWriter(db, logger);
    // Transaction wrappers made once, like the statements: this path runs per batch.
    const commitTx = db.transaction(
      (items: readonly StoredInstance[], replace: ReadonlySet<string>) =>
        writer.write(items, replace),
    );
    // IMMEDIATE takes the write lock up front, so a concurrent writer makes us wait
    // (busy_timeout) instead of failing mid-transaction when upgrading a read lock.
    this.#commit = (items, replace) => commitTx.immediate(items, replace);
    const removeTx = db.transaction((sopInstanceUid: string) => writer.remove(sopInstanceUid));
    this.#remove = (sopInstanceUid) => removeTx.immediate(sopInstanceUid);
    // One UPDATE: atomic without a transaction of its own.
    this.#setExpected = (studyUid, expected) => writer.setExpected(studyUid, expected);
    const deletes = ['instances', 'series', 'studies', 'patients'].map((table) =>
      // Children first: the foreign keys forbid orphans.
      db.prepare(`DELETE FROM ${table}`),
    );
    const clearTx = db.transaction(() => {
      for (const statement of deletes) statement.run();
    });
    this.#clear = () => clearTx.immediate();
    this.#findInstance = db.prepare(`
      SELECT i.dataset_sha256, i.storage_key, se.series_uid, st.study_uid
      FROM instances i
      JOIN series se ON se.id = i.series_fk
      JOIN studies st ON st.id = se.study_fk
      WHERE i.sop_instance_uid = ?`);
    this.#seriesStudy = db.prepare(`
      SELECT st.study_uid FROM series se JOIN studies st ON st.id = se.study_fk
      WHERE se.series_uid = ?`);
    this.#getStudy = db.prepare(`
      SELECT ${STUDY_COLUMNS}
      FROM studies st JOIN patients p ON p.id = st.patient_fk
      WHERE st.study_uid = ?`);
    // Newest first; COALESCE keeps undated studies last on PostgreSQL too, where NULLs
    // sort first in descending order.
    this.#listStudies = db.prepare(`
      SELECT ${STUDY_COLUMNS}
      FROM studies st JOIN patients p ON p.id = st.patient_fk
      ORDER BY COALESCE(st.study_date, '') DESC, COALESCE(st.study_time, '') DESC, st.study_uid`);
    this.#listSeries = db.prepare(`
      SELECT ${SERIES_COLUMNS}
      FROM series se JOIN studies st ON st.id = se.study_fk
      WHERE st.study_uid = ?
      ORDER BY se.series_number IS NULL, se.series_number, se.series_uid`);
    this.#listInstances = db.prepare(`
      SELECT ${INSTANCE_COLUMNS}
      FROM instances i
      JOIN series se ON se.id = i.series_fk
      JOIN studies st ON st.id = se.study_fk
      WHERE se.series_uid = ?
      ORDER BY i.instance_number IS NULL, i.instance_number, i.sop_instance_uid`);
    this.#countInstances = db.prepare('SELECT COUNT(*) AS n FROM instances');
  }

  /**
   * Opens the index at `path` (creating the file and its folder if needed; `:memory:` for a
   * throwaway one) and brings its schema up to date.
   *
   * @throws IndexError when the file cannot be opened, WAL cannot be enabled, or a
   * migration fails.
   */
  static open(path: string, logger?: Logger, options: SqliteOptions = {}): StudyIndex {
    const log = (logger ?? pino({ enabled: false })).child({ component: 'index' });
    let db: Database | undefined;
    try {
      db = openDatabase(path, options);
      const applied = applyMigrations(db, log);
      const index = new StudyIndex(db, log);
      log.info({ path, migrationsApplied: applied.length }, 'study index open');
      return index;
    } catch (err) {
      db?.close();
      throw toIndexError(`opening study index ${path}`, err);
    }
  }

  /** Where the instance with this SOP Instance UID is stored, or `undefined` if not indexed. */
  findInstance(sopInstanceUid: string): InstanceLocation | undefined {
    const row = this.#run('findInstance', () => this.#findInstance.get(sopInstanceUid));
    if (!row) return undefined;
    return {
      datasetSha256: row.dataset_sha256,
      storageKey: row.storage_key,
      seriesUid: row.series_uid,
      studyUid: row.study_uid,
    };
  }

  /** The StudyInstanceUID a series is indexed under, or `undefined` if it is not indexed. */
  seriesStudy(seriesUid: string): string | undefined {
    return this.#run('seriesStudy', () => this.#seriesStudy.get(seriesUid)?.study_uid);
  }

  /**
   * Indexes a batch of stored instances in one transaction (one fsync for the batch: group
   * commit). Patients, studies and series are created as needed; values missing so far are
   * filled in from later instances, existing values are never overwritten. An instance whose
   * SOP Instance UID is already indexed is left as it is and not counted again: deciding
   * about duplicates is the caller's job, before storing.
   *
   * Instances whose SOP Instance UID is in `replace` take the place of the row indexed for
   * that UID (the duplicate policy "replace"), in the same transaction.
   *
   * All or nothing: when it throws, none of the batch is indexed.
   *
   * @throws IndexError on any database failure (map it to DIMSE status 0xA700); with code
   * `SERIES_IN_OTHER_STUDY` when an instance's series is indexed under another study (series
   * are never shared between studies).
   */
  commitInstances(
    items: readonly StoredInstance[],
    replace: ReadonlySet<string> = new Set(),
  ): CommitResult {
    if (items.length === 0) return { inserted: 0, alreadyIndexed: 0 };
    const started = performance.now();
    const result = this.#run('commitInstances', () => this.#commit(items, replace));
    this.#logger.debug(
      { instances: items.length, ...result, durationMs: Math.round(performance.now() - started) },
      'instances indexed',
    );
    return result;
  }

  /**
   * Removes an instance's row (counts follow); false when it was not indexed. For repairing
   * the index when storage does not hold what a row points to.
   */
  removeInstance(sopInstanceUid: string): boolean {
    return this.#run('removeInstance', () => this.#remove(sopInstanceUid));
  }

  /** Every study, newest first (by study date and time; undated studies last). */
  listStudies(): StudySummary[] {
    return this.#run('listStudies', () => this.#listStudies.all().map(toStudySummary));
  }

  /** Everything about one study, or `undefined` if it is not indexed. */
  getStudy(studyUid: string): StudyRecord | undefined {
    const row = this.#run('getStudy', () => this.#getStudy.get(studyUid));
    return row && toStudyRecord(row);
  }

  /** The series of a study by series number; empty when the study is not indexed. */
  listSeries(studyUid: string): SeriesRecord[] {
    return this.#run('listSeries', () => this.#listSeries.all(studyUid).map(toSeriesRecord));
  }

  /** The instances of a series by instance number; empty when the series is not indexed. */
  listInstances(seriesUid: string): InstanceRecord[] {
    return this.#run('listInstances', () =>
      this.#listInstances.all(seriesUid).map(toInstanceRecord),
    );
  }

  /**
   * C-FIND: the entities at `level` of `model` that `keys` match (PS3.4 C.2.2.2, C.6), each
   * with the unique keys of the level and above and every key asked; at most `limit`. See
   * `qr-query.ts` for the matching rules and the choices made where PS3.4 leaves room, and
   * `qr-scope.ts` for what `scope` (the Q/R SCP's configuration) changes.
   *
   * @throws QrQueryError when the identifier cannot be answered (map it to 0xA900 or 0xC000).
   * @throws IndexError on a database failure (0xA700) or a `limit` that is not a positive integer.
   */
  query(
    model: QrModel,
    level: QrLevel,
    keys: MatchKeys,
    limit?: number,
    scope?: QrScope,
  ): QrMatch[] {
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0))
      throw new IndexError(`query limit must be a positive integer, got ${limit}`);
    // Planned outside #run, which would wrap QrQueryError into IndexError.
    const plan = planFind(model, level, keys, limit, scope);
    return this.#run('query', () => this.#qr().find(plan));
  }

  /**
   * C-MOVE / C-GET: the instances a retrieve identifier selects: the unique key of `level`
   * (several UIDs allowed) and those above it, single-valued; other non-empty keys narrow the
   * selection. Ordered by study, series number, instance number. Of `scope`, the issuer of
   * patient IDs applies.
   *
   * @throws QrQueryError when the identifier cannot be answered (map it to 0xA900 or 0xC000).
   * @throws IndexError on a database failure.
   */
  instancesFor(model: QrModel, level: QrLevel, keys: MatchKeys, scope?: QrScope): RetrieveItem[] {
    const plan = planRetrieve(model, level, keys, scope);
    return this.#run('instancesFor', () => this.#qr().retrieve(plan));
  }

  /** Instances held for a study (0 when not indexed), to check it against the PACS's count. */
  countStudyInstances(studyUid: string): number {
    return this.#run('countStudyInstances', () => this.#qr().countStudyInstances(studyUid));
  }

  /**
   * Records NumberOfStudyRelatedInstances as the PACS announces it (`null`: unknown again), in
   * `expectedInstances`. A study not indexed yet gets it with its first instance (held in
   * memory until then, so a restart forgets it).
   *
   * A write: in the daemon, call `IndexWriter.setExpectedInstances`, which runs it on the
   * writer thread's index like every commit. Called on the main thread's index it would wait
   * for the write lock on the event loop, and only that index's own commits would pick up the
   * count of a study not indexed yet.
   *
   * @throws IndexError when `expected` is not a non-negative integer or null, or on a
   * database failure.
   */
  setExpectedInstances(studyUid: string, expected: number | null): void {
    if (expected !== null && !(Number.isSafeInteger(expected) && expected >= 0))
      throw new IndexError(`expected instances must be a non-negative integer, got ${expected}`);
    this.#run('setExpectedInstances', () => this.#setExpected(studyUid, expected));
  }

  /** How many instances are indexed in all. */
  countInstances(): number {
    return this.#run('countInstances', () => this.#countInstances.get()?.n ?? 0);
  }

  /**
   * Deletes every patient, study, series and instance, in one transaction, keeping the
   * schema. For rebuilding the index from storage: clear, then `commitInstances` what the
   * store holds.
   */
  clear(): void {
    this.#run('clear', () => this.#clear());
    this.#logger.info('study index cleared');
  }

  /** Closes the database. Idempotent; any later call throws `IndexError`. */
  close(): void {
    if (!this.#db.open) return;
    this.#run('close', () => this.#db.close());
    this.#logger.info('study index closed');
  }

  #qr(): QrQueries {
    this.#queries ??= new QrQueries(this.#db);
    return this.#queries;
  }

  #run<T>(operation: string, fn: () => T): T {
    if (!this.#db.open) throw new IndexError(`${operation} failed: study index is closed`);
    try {
      return fn();
    } catch (err) {
      throw toIndexError(operation, err);
    }
  }
}
