import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import { IndexError } from './errors.js';
import { AE_CONFIG_MIGRATION } from '../admin/ae-config-migration.js';

/** One schema change: applied once, in its own transaction, recorded in `schema_migrations`. */
export interface Migration {
  /** Position in the sequence: 1, 2, 3, … never reused, never reordered. */
  readonly id: number;
  /** Short label stored with the id, for people reading `schema_migrations`. */
  readonly name: string;
  /** Plain SQL (no SQLite-only syntax beyond `INTEGER PRIMARY KEY`), so it ports to PostgreSQL. */
  readonly sql: string;
}

/**
 * The schema, in order. Append new migrations; never edit one that has shipped, because
 * databases that already applied it will not run it again.
 *
 * Column naming: `id` is each table's surrogate key and `*_fk` the references to it, so they
 * cannot be mistaken for the DICOM attributes `patient_id` (PatientID) and `study_id` (StudyID).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'study index: patients, studies, series, instances',
    sql: `
      CREATE TABLE patients (
        id          INTEGER PRIMARY KEY,
        -- NULL when the instances carry no PatientID: such patients are never merged, one
        -- row per study, because merging anonymous patients would show one name for all.
        patient_id  TEXT,
        -- '' when absent (exposed as undefined), so that the unique index below dedups
        -- patients without an issuer: NULLs would all count as distinct.
        issuer      TEXT NOT NULL DEFAULT '',
        name        TEXT,
        birth_date  TEXT,
        sex         TEXT
      );
      -- Also serves lookups by patient_id (leftmost column).
      CREATE UNIQUE INDEX patients_patient_id_issuer ON patients (patient_id, issuer);

      CREATE TABLE studies (
        id                  INTEGER PRIMARY KEY,
        study_uid           TEXT NOT NULL UNIQUE,
        patient_fk          INTEGER NOT NULL REFERENCES patients (id),
        accession_number    TEXT,
        accession_issuer    TEXT,
        study_date          TEXT,
        study_time          TEXT,
        description         TEXT,
        referring_physician TEXT,
        study_id            TEXT,
        -- Distinct modalities of the study's series, sorted, comma-separated.
        modalities          TEXT NOT NULL DEFAULT '',
        -- From the PACS (C-FIND NumberOfStudyRelatedInstances); NULL until asked.
        expected_instances  INTEGER,
        received_instances  INTEGER NOT NULL DEFAULT 0,
        status              TEXT NOT NULL DEFAULT 'receiving',
        created_at          TEXT NOT NULL,
        updated_at          TEXT NOT NULL
      );
      CREATE INDEX studies_accession ON studies (accession_number, accession_issuer);
      CREATE INDEX studies_patient_fk ON studies (patient_fk);

      CREATE TABLE series (
        id             INTEGER PRIMARY KEY,
        series_uid     TEXT NOT NULL UNIQUE,
        study_fk       INTEGER NOT NULL REFERENCES studies (id),
        modality       TEXT,
        series_number  INTEGER,
        description    TEXT,
        body_part      TEXT,
        instance_count INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX series_study_fk ON series (study_fk);

      CREATE TABLE instances (
        id                  INTEGER PRIMARY KEY,
        sop_instance_uid    TEXT NOT NULL UNIQUE,
        series_fk           INTEGER NOT NULL REFERENCES series (id),
        sop_class_uid       TEXT NOT NULL,
        instance_number     INTEGER,
        frames              INTEGER,
        transfer_syntax_uid TEXT NOT NULL,
        size_bytes          INTEGER NOT NULL CHECK (size_bytes >= 0),
        dataset_sha256      TEXT NOT NULL CHECK (length(dataset_sha256) = 64),
        storage_key         TEXT NOT NULL,
        received_at         TEXT NOT NULL,
        calling_ae          TEXT NOT NULL
      );
      CREATE INDEX instances_series_fk ON instances (series_fk);
    `,
  },
  {
    id: 2,
    name: 'outbox: notifications to the FSE side',
    sql: `
      CREATE TABLE outbox (
        id               INTEGER PRIMARY KEY,
        -- 'images-available' | 'report-cancelled'; checked in code, not by a CHECK, so that a
        -- new kind needs no table rebuild (SQLite cannot alter a constraint).
        kind             TEXT NOT NULL,
        -- The report the notification is about: codCL and codDocumentoDipartimentale.
        -- Notifications of one report are delivered in id order.
        report_key       TEXT NOT NULL,
        -- Sent as the Idempotency-Key header; enqueueing a key again keeps the first row.
        idempotency_key  TEXT NOT NULL UNIQUE,
        -- The request body, JSON text, sent byte for byte at every attempt.
        payload          TEXT NOT NULL,
        status           TEXT NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'delivered', 'dead')),
        -- Attempts that got an outcome (an answer, a timeout, a connection error).
        attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        -- ISO 8601 UTC (toISOString): the fixed width makes text order time order.
        next_attempt_at  TEXT NOT NULL,
        last_error       TEXT,
        last_http_status INTEGER,
        created_at       TEXT NOT NULL,
        updated_at       TEXT NOT NULL,
        delivered_at     TEXT
      );
      CREATE INDEX outbox_status_next_attempt ON outbox (status, next_attempt_at);
      CREATE INDEX outbox_report_key ON outbox (report_key, status);
    `,
  },
  {
    id: 3,
    name: 'reports: accessions, linked studies, KOS manifests, HL7 messages seen',
    sql: `
  CREATE TABLE reports (
    id                INTEGER PRIMARY KEY,
    -- codCL ^ codDocumentoDipartimentale: how the FSE names the report.
    report_key        TEXT NOT NULL UNIQUE,
    cod_cl            TEXT NOT NULL,
    cod_documento     TEXT NOT NULL,
    id_documento_ilec TEXT,
    patient_id        TEXT NOT NULL,
    patient_issuer    TEXT NOT NULL DEFAULT '',
    codice_fiscale    TEXT,
    signed_at         TEXT,
    -- waiting | linked | cancelled
    status            TEXT NOT NULL,
    version           INTEGER NOT NULL DEFAULT 1,
    source            TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
  );

  CREATE TABLE report_accessions (
    id                 INTEGER PRIMARY KEY,
    report_fk          INTEGER NOT NULL REFERENCES reports (id),
    accession_number   TEXT NOT NULL,
    accession_issuer   TEXT NOT NULL DEFAULT '',
    -- waiting | complete | incomplete | not-found | pacs-unreachable | refused
    status             TEXT NOT NULL,
    -- When the images became available (dataNotificaPacs).
    data_notifica_pacs TEXT,
    last_error         TEXT,
    updated_at         TEXT NOT NULL,
    UNIQUE (report_fk, accession_number, accession_issuer)
  );
  CREATE INDEX report_accessions_accession ON report_accessions (accession_number);

  CREATE TABLE report_studies (
    report_fk    INTEGER NOT NULL REFERENCES reports (id),
    accession_fk INTEGER NOT NULL REFERENCES report_accessions (id) ON DELETE CASCADE,
    study_uid    TEXT NOT NULL,
    instances    INTEGER NOT NULL,
    PRIMARY KEY (report_fk, study_uid)
  );
  CREATE INDEX report_studies_study ON report_studies (study_uid);

  CREATE TABLE manifests (
    id               INTEGER PRIMARY KEY,
    report_fk        INTEGER NOT NULL REFERENCES reports (id),
    sop_instance_uid TEXT NOT NULL UNIQUE,
    study_uid        TEXT NOT NULL,
    storage_key      TEXT NOT NULL,
    instances        INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    superseded_at    TEXT
  );

  CREATE TABLE hl7_messages (
    sending_application TEXT NOT NULL,
    sending_facility    TEXT NOT NULL,
    message_control_id  TEXT NOT NULL,
    ack_code            TEXT NOT NULL,
    received_at         TEXT NOT NULL,
    PRIMARY KEY (sending_application, sending_facility, message_control_id)
  );
    `,
  },
  {
    id: 4,
    name: 'reports: obscuration in force, and every obscuration change received',
    sql: `
      -- Event codes in force (P97, P98, P99), comma-separated; '' when not obscured.
      ALTER TABLE reports ADD COLUMN obscuration TEXT NOT NULL DEFAULT '';

      CREATE TABLE obscuration_events (
        id          INTEGER PRIMARY KEY,
        report_key  TEXT NOT NULL,
        event_code  TEXT NOT NULL,
        source      TEXT NOT NULL,
        received_at TEXT NOT NULL
      );
      CREATE INDEX obscuration_events_report ON obscuration_events (report_key);
    `,
  },
  {
    id: 5,
    name: 'on-demand retrieval: audit of every request, cache of built packages',
    sql: `
      CREATE TABLE retrieval_audit (
        id                 INTEGER PRIMARY KEY,
        at                 TEXT NOT NULL,
        requester_cf       TEXT NOT NULL,
        requester_role     TEXT NOT NULL,
        application        TEXT NOT NULL,
        transaction_number TEXT NOT NULL,
        requester_ip       TEXT NOT NULL,
        report_key         TEXT NOT NULL,
        format             TEXT NOT NULL,
        -- delivered, in-progress or failed
        outcome            TEXT NOT NULL,
        -- internal error kind when failed (document-obscured, busy, ...)
        error_kind         TEXT,
        bytes              INTEGER NOT NULL,
        -- for a delivered document, once its transfer ended: complete or interrupted, and
        -- the bytes of the document that went out
        delivery           TEXT,
        bytes_sent         INTEGER
      );
      CREATE INDEX retrieval_audit_report ON retrieval_audit (report_key);

      -- One built package per report and format: served while its fingerprint (report version
      -- and manifest) still holds and until it expires.
      CREATE TABLE package_cache (
        cache_key   TEXT PRIMARY KEY,
        storage_key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        mime_type   TEXT NOT NULL,
        bytes       INTEGER NOT NULL,
        created_at  TEXT NOT NULL,
        expires_at  TEXT NOT NULL
      );
      CREATE INDEX package_cache_expiry ON package_cache (expires_at);
    `,
  },
  AE_CONFIG_MIGRATION,
  {
    id: 7,
    name: 'on-demand retrieval: audit of requests refused before they reach the service',
    sql: `
      -- For a refused request (outcome refused): the address it came from, the HTTP Basic user
      -- name it gave (NULL when none), and the fault text it was answered with. Its requester
      -- fields, report key and format are '' when it carried none that could be read.
      ALTER TABLE retrieval_audit ADD COLUMN remote_address TEXT;
      ALTER TABLE retrieval_audit ADD COLUMN http_user TEXT;
      ALTER TABLE retrieval_audit ADD COLUMN reason TEXT;
    `,
  },
  {
    id: 8,
    name: 'HL7 notifications: message control id of each outbox item, facility and RIS id of reports',
    sql: `
      -- MSH-10 of the HL7 message that carries the notification: fixed when it is enqueued, the
      -- same at every attempt. Rows enqueued before get one derived from their id ('OUTBOX' and
      -- digits), which no generated id (hexadecimal) can equal.
      ALTER TABLE outbox ADD COLUMN message_id TEXT;
      UPDATE outbox SET message_id = 'OUTBOX' || id;
      CREATE UNIQUE INDEX outbox_message_id ON outbox (message_id);

      -- The sending facility (MSH-4) a report came from over HL7, NULL from the HTTP API; and
      -- the patient's id at the RIS (the PID-3 repetition assigned by RIS), when it sent one.
      ALTER TABLE reports ADD COLUMN facility TEXT;
      ALTER TABLE reports ADD COLUMN ris_id TEXT;
    `,
  },
];

/**
 * Brings `db` up to the latest schema: applies each migration not yet recorded, each in its
 * own transaction together with its `schema_migrations` row, so a crash leaves the schema at
 * a migration boundary. Safe to call on every start and from several processes at once
 * (`BEGIN IMMEDIATE` takes the write lock before re-checking what is applied).
 *
 * @returns the ids applied by this call (empty when the schema was already current).
 * @throws IndexError when the database was migrated by a newer version of the bridge.
 */
export function applyMigrations(
  db: Database,
  logger?: Logger,
  migrations: readonly Migration[] = MIGRATIONS,
): number[] {
  assertOrdered(migrations);
  db.exec(`
    CREATE TABLE IF NOT EXISTS schema_migrations (
      id         INTEGER PRIMARY KEY,
      name       TEXT NOT NULL,
      applied_at TEXT NOT NULL
    )
  `);
  const isApplied = db.prepare<[number], { id: number }>(
    'SELECT id FROM schema_migrations WHERE id = ?',
  );
  const record = db.prepare<[number, string, string]>(
    'INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)',
  );

  const latestKnown = migrations.at(-1)?.id ?? 0;
  const latestApplied =
    db.prepare<[], { id: number | null }>('SELECT MAX(id) AS id FROM schema_migrations').get()
      ?.id ?? 0;
  if (latestApplied > latestKnown) {
    // Running old code on a newer schema could silently write rows the new code misreads.
    throw new IndexError(
      `index schema is at migration ${latestApplied}, newer than this version knows (${latestKnown})`,
    );
  }

  const applied: number[] = [];
  for (const migration of migrations) {
    const applyOne = db.transaction(() => {
      if (isApplied.get(migration.id)) return false;
      db.exec(migration.sql);
      record.run(migration.id, migration.name, new Date().toISOString());
      return true;
    });
    if (applyOne.immediate()) {
      applied.push(migration.id);
      logger?.info({ migration: migration.id, name: migration.name }, 'index migration applied');
    }
  }
  return applied;
}

function assertOrdered(migrations: readonly Migration[]): void {
  migrations.forEach((migration, i) => {
    if (migration.id !== i + 1) {
      throw new IndexError(
        `migration ids must be 1, 2, 3, … in order: position ${i + 1} has id ${migration.id}`,
      );
    }
  });
}
