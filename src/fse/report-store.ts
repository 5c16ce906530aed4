import type { Database } from 'better-sqlite3';
import { applyMigrations } from '../index/migrations.js';
import { openDatabase } from '../index/sqlite.js';
import { reportKey, type ReportRegistration } from './report.js';
import type { AccessionStatus, ManifestState, ReportState, ReportStatus } from './report-state.js';
import {
  applyObscuration,
  deserializeObscuration,
  serializeObscuration,
  type ObscurationEvent,
} from './obscuration.js';

interface ReportRow {
  id: number;
  report_key: string;
  cod_cl: string;
  cod_documento: string;
  id_documento_ilec: string | null;
  patient_id: string;
  patient_issuer: string;
  codice_fiscale: string | null;
  signed_at: string | null;
  facility: string | null;
  ris_id: string | null;
  status: ReportStatus;
  version: number;
  source: string;
  obscuration: string;
  created_at: string;
  updated_at: string;
}

interface AccessionRow {
  id: number;
  accession_number: string;
  accession_issuer: string;
  status: AccessionStatus;
  data_notifica_pacs: string | null;
  last_error: string | null;
}

/**
 * Reports, their accessions, the studies linked to them and their KOS manifests, in the index
 * database on a connection of their own. Writes are rare (one per report event) and short, so
 * they run on the main thread.
 */
export class ReportStore {
  #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Open the index file on a connection of its own, schema brought up to date. */
  static open(path: string): ReportStore {
    const db = openDatabase(path);
    try {
      applyMigrations(db);
      return new ReportStore(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  close(): void {
    this.#db.close();
  }

  /**
   * Record a registration: a new report, or a replacement of one already known (its accessions
   * are replaced, its links dropped to be made again, its version increased).
   */
  upsert(registration: ReportRegistration, now: string): ReportState {
    const key = reportKey(registration);
    this.#db.transaction(() => {
      const existing = this.#row(key);
      if (existing) {
        this.#db
          .prepare(
            `UPDATE reports SET id_documento_ilec = ?, patient_id = ?, patient_issuer = ?,
               codice_fiscale = ?, signed_at = ?, status = 'waiting', version = version + 1,
               source = ?, facility = ?, ris_id = ?, updated_at = ? WHERE id = ?`,
          )
          .run(
            registration.idDocumentoIlec ?? null,
            registration.patientId,
            registration.issuerOfPatientId,
            registration.codiceFiscale ?? null,
            registration.signedAt ?? null,
            registration.source,
            registration.facility ?? null,
            registration.risId || null,
            now,
            existing.id,
          );
        this.#db.prepare('DELETE FROM report_studies WHERE report_fk = ?').run(existing.id);
        this.#db.prepare('DELETE FROM report_accessions WHERE report_fk = ?').run(existing.id);
      } else {
        this.#db
          .prepare(
            `INSERT INTO reports (report_key, cod_cl, cod_documento, id_documento_ilec, patient_id,
               patient_issuer, codice_fiscale, signed_at, status, version, source, facility,
               ris_id, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'waiting', 1, ?, ?, ?, ?, ?)`,
          )
          .run(
            key,
            registration.codCL,
            registration.codDocumentoDipartimentale,
            registration.idDocumentoIlec ?? null,
            registration.patientId,
            registration.issuerOfPatientId,
            registration.codiceFiscale ?? null,
            registration.signedAt ?? null,
            registration.source,
            registration.facility ?? null,
            registration.risId || null,
            now,
            now,
          );
      }
      const id = this.#row(key)!.id;
      const insert = this.#db.prepare(
        `INSERT OR IGNORE INTO report_accessions (report_fk, accession_number, accession_issuer,
           status, updated_at) VALUES (?, ?, ?, 'waiting', ?)`,
      );
      for (const accession of registration.accessions)
        insert.run(id, accession.accessionNumber, accession.issuer, now);
    })();
    return this.get(key)!;
  }

  /** Record where an accession stands, with the studies found for it. */
  setAccession(
    accessionId: number,
    update: {
      status: AccessionStatus;
      lastError?: string;
      studies?: Array<{ studyInstanceUid: string; instances: number }>;
    },
    now: string,
  ): void {
    this.#db.transaction(() => {
      const row = this.#db
        .prepare<[number], { report_fk: number; data_notifica_pacs: string | null }>(
          'SELECT report_fk, data_notifica_pacs FROM report_accessions WHERE id = ?',
        )
        .get(accessionId);
      if (!row) return;
      // The moment the images became available is kept once known.
      const available =
        update.status === 'complete' ? (row.data_notifica_pacs ?? now) : row.data_notifica_pacs;
      this.#db
        .prepare(
          `UPDATE report_accessions SET status = ?, last_error = ?, data_notifica_pacs = ?,
             updated_at = ? WHERE id = ?`,
        )
        .run(update.status, update.lastError ?? null, available, now, accessionId);
      if (update.studies) {
        this.#db.prepare('DELETE FROM report_studies WHERE accession_fk = ?').run(accessionId);
        const insert = this.#db.prepare(
          `INSERT OR REPLACE INTO report_studies (report_fk, accession_fk, study_uid, instances)
           VALUES (?, ?, ?, ?)`,
        );
        for (const study of update.studies)
          insert.run(row.report_fk, accessionId, study.studyInstanceUid, study.instances);
      }
    })();
  }

  setStatus(key: string, status: ReportStatus, now: string): void {
    this.#db
      .prepare('UPDATE reports SET status = ?, updated_at = ? WHERE report_key = ?')
      .run(status, now, key);
  }

  /** Record a new manifest as the report's current one; earlier ones are superseded. */
  addManifest(key: string, manifest: Omit<ManifestState, 'createdAt'>, now: string): void {
    this.#db.transaction(() => {
      const report = this.#row(key);
      if (!report) return;
      this.#supersedeManifests(report.id, now);
      this.#db
        .prepare(
          `INSERT INTO manifests (report_fk, sop_instance_uid, study_uid, storage_key, instances,
             created_at) VALUES (?, ?, ?, ?, ?, ?)`,
        )
        .run(
          report.id,
          manifest.sopInstanceUid,
          manifest.studyInstanceUid,
          manifest.storageKey,
          manifest.instances,
          now,
        );
    })();
  }

  /** Supersede the current manifest and drop the links (a cancelled report). */
  unlink(key: string, now: string): void {
    this.#db.transaction(() => {
      const report = this.#row(key);
      if (!report) return;
      this.#supersedeManifests(report.id, now);
      this.#db.prepare('DELETE FROM report_studies WHERE report_fk = ?').run(report.id);
      this.#db
        .prepare(`UPDATE reports SET status = 'cancelled', updated_at = ? WHERE id = ?`)
        .run(now, report.id);
    })();
  }

  /** The ACK code given to an HL7 message already processed, or undefined. */
  seenMessage(application: string, facility: string, controlId: string): string | undefined {
    return this.#db
      .prepare<[string, string, string], { ack_code: string }>(
        `SELECT ack_code FROM hl7_messages WHERE sending_application = ? AND sending_facility = ?
         AND message_control_id = ?`,
      )
      .get(application, facility, controlId)?.ack_code;
  }

  recordMessage(
    application: string,
    facility: string,
    controlId: string,
    ackCode: string,
    now: string,
  ): void {
    this.#db
      .prepare(
        `INSERT OR IGNORE INTO hl7_messages (sending_application, sending_facility,
           message_control_id, ack_code, received_at) VALUES (?, ?, ?, ?, ?)`,
      )
      .run(application, facility, controlId, ackCode, now);
  }

  #supersedeManifests(reportId: number, now: string): void {
    this.#db
      .prepare(
        'UPDATE manifests SET superseded_at = ? WHERE report_fk = ? AND superseded_at IS NULL',
      )
      .run(now, reportId);
  }

  /**
   * Record an obscuration change and the codes in force after it (in one transaction); returns
   * the report, or `undefined` when there is no such report.
   */
  changeObscuration(
    key: string,
    change: { eventCode: ObscurationEvent; source: string },
    now: string,
  ): ReportState | undefined {
    const changed = this.#db.transaction(() => {
      const row = this.#row(key);
      if (!row) return false;
      const inForce = serializeObscuration(
        applyObscuration(deserializeObscuration(row.obscuration), change.eventCode),
      );
      this.#db
        .prepare(
          'INSERT INTO obscuration_events (report_key, event_code, source, received_at) VALUES (?, ?, ?, ?)',
        )
        .run(key, change.eventCode, change.source, now);
      this.#db
        .prepare('UPDATE reports SET obscuration = ?, updated_at = ? WHERE report_key = ?')
        .run(inForce, now, key);
      return true;
    })();
    return changed ? this.get(key) : undefined;
  }

  get(key: string): ReportState | undefined {
    const row = this.#row(key);
    return row ? this.#state(row) : undefined;
  }

  /** Reports with an accession number (any issuer), newest first. */
  byAccession(accessionNumber: string): ReportState[] {
    const rows = this.#db
      .prepare<[string], ReportRow>(
        `SELECT DISTINCT r.* FROM reports r JOIN report_accessions a ON a.report_fk = r.id
         WHERE a.accession_number = ? ORDER BY r.updated_at DESC`,
      )
      .all(accessionNumber);
    return rows.map((row) => this.#state(row));
  }

  /** Reports still waiting for images of this accession number. */
  waitingFor(accessionNumber: string): ReportState[] {
    return this.byAccession(accessionNumber).filter((report) => report.status === 'waiting');
  }

  /** Every report still waiting for images. */
  waiting(): ReportState[] {
    return this.#db
      .prepare<[], ReportRow>(`SELECT * FROM reports WHERE status = 'waiting'`)
      .all()
      .map((row) => this.#state(row));
  }

  #row(key: string): ReportRow | undefined {
    return this.#db
      .prepare<[string], ReportRow>('SELECT * FROM reports WHERE report_key = ?')
      .get(key);
  }

  #state(row: ReportRow): ReportState {
    const accessions = this.#db
      .prepare<[number], AccessionRow>(
        'SELECT * FROM report_accessions WHERE report_fk = ? ORDER BY id',
      )
      .all(row.id);
    const studies = this.#db
      .prepare<[number], { accession_fk: number; study_uid: string; instances: number }>(
        'SELECT accession_fk, study_uid, instances FROM report_studies WHERE report_fk = ? ORDER BY study_uid',
      )
      .all(row.id);
    const manifest = this.#db
      .prepare<
        [number],
        {
          sop_instance_uid: string;
          study_uid: string;
          storage_key: string;
          instances: number;
          created_at: string;
        }
      >(
        `SELECT sop_instance_uid, study_uid, storage_key, instances, created_at FROM manifests
         WHERE report_fk = ? AND superseded_at IS NULL ORDER BY id DESC LIMIT 1`,
      )
      .get(row.id);
    return {
      reportKey: row.report_key,
      codCL: row.cod_cl,
      codDocumentoDipartimentale: row.cod_documento,
      idDocumentoIlec: row.id_documento_ilec ?? undefined,
      patientId: row.patient_id,
      issuerOfPatientId: row.patient_issuer,
      codiceFiscale: row.codice_fiscale ?? undefined,
      signedAt: row.signed_at ?? undefined,
      facility: row.facility ?? undefined,
      risId: row.ris_id ?? undefined,
      status: row.status,
      version: row.version,
      obscuration: row.obscuration,
      source: row.source,
      accessions: accessions.map((a) => ({
        id: a.id,
        accessionNumber: a.accession_number,
        issuer: a.accession_issuer,
        status: a.status,
        dataNotificaPacs: a.data_notifica_pacs ?? undefined,
        lastError: a.last_error ?? undefined,
        studies: studies
          .filter((s) => s.accession_fk === a.id)
          .map((s) => ({ studyInstanceUid: s.study_uid, instances: s.instances })),
      })),
      manifest: manifest && {
        sopInstanceUid: manifest.sop_instance_uid,
        studyInstanceUid: manifest.study_uid,
        storageKey: manifest.storage_key,
        instances: manifest.instances,
        createdAt: manifest.created_at,
      },
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }
}
