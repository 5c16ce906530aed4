import type { Database, Statement } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { InstanceMetadata, StoredInstance } from '../dicom/instance-metadata.js';
import { SERIES_IN_OTHER_STUDY } from './errors.js';
import { joinModalities } from './records.js';

/** How many of a batch were new; the rest were already indexed and left untouched. */
export interface CommitResult {
  inserted: number;
  alreadyIndexed: number;
}

type Nullable<T> = { [K in keyof T]: T[K] | null };

type PatientValues = Nullable<{ name: string; birthDate: string; sex: string }>;
type StudyValues = Nullable<{
  accessionNumber: string;
  accessionIssuer: string;
  date: string;
  time: string;
  description: string;
  referringPhysician: string;
  studyId: string;
}>;
type SeriesParams = { uid: string; studyPk: number } & Nullable<{
  modality: string;
  number: number;
  description: string;
  bodyPart: string;
}>;
interface InstanceParams {
  uid: string;
  seriesPk: number;
  sopClassUid: string;
  number: number | null;
  frames: number | null;
  transferSyntaxUid: string;
  sizeBytes: number;
  datasetSha256: string;
  storageKey: string;
  receivedAt: string;
  callingAe: string;
}

interface StudyPatientRow {
  study_pk: number;
  patient_pk: number;
  patient_id: string | null;
  issuer: string;
}

/** Studies whose announced instance count waits for their first instance, at most. */
const MAX_PENDING_EXPECTED = 10_000;

/** What one batch changes in a study, applied once per study at the end of the batch. */
interface StudyDelta {
  instances: number;
  modalitiesMayChange: boolean;
}

/**
 * Writes batches of stored instances with statements prepared once. Not exported beyond the
 * index: `StudyIndex` wraps it in the transaction and the error mapping.
 */
export class BatchWriter {
  readonly #logger: Logger;
  readonly #findStudy: Statement<[string], StudyPatientRow>;
  readonly #upsertPatient: Statement<
    PatientValues & { patientId: string | null; issuer: string },
    { id: number }
  >;
  readonly #fillPatient: Statement<PatientValues & { pk: number }>;
  readonly #insertStudy: Statement<
    StudyValues & { uid: string; patientPk: number; now: string },
    { id: number }
  >;
  readonly #fillStudy: Statement<StudyValues & { pk: number }>;
  readonly #upsertSeries: Statement<SeriesParams, { id: number; study_fk: number }>;
  readonly #insertInstance: Statement<InstanceParams>;
  readonly #addToSeries: Statement<[number, number]>;
  readonly #deleteInstance: Statement<[string], { series_fk: number }>;
  readonly #removeFromCounts: Statement<[number]>;
  readonly #studyModalities: Statement<[number], { modality: string }>;
  readonly #updateStudy: Statement<{
    pk: number;
    instances: number;
    modalities: string | null;
    now: string;
  }>;
  readonly #setExpected: Statement<[number | null, string]>;
  /** Counts announced for studies not indexed yet, oldest first. */
  readonly #pendingExpected = new Map<string, number | null>();

  constructor(db: Database, logger: Logger) {
    this.#logger = logger;
    this.#findStudy = db.prepare(`
      SELECT st.id AS study_pk, p.id AS patient_pk, p.patient_id, p.issuer
      FROM studies st JOIN patients p ON p.id = st.patient_fk
      WHERE st.study_uid = ?`);
    // A NULL patient_id never conflicts (NULLs are distinct in unique indexes), so a
    // patient without PatientID always gets a row of its own: never merged with another.
    this.#upsertPatient = db.prepare(`
      INSERT INTO patients (patient_id, issuer, name, birth_date, sex)
      VALUES (@patientId, @issuer, @name, @birthDate, @sex)
      ON CONFLICT (patient_id, issuer) DO UPDATE SET
        name = COALESCE(patients.name, excluded.name),
        birth_date = COALESCE(patients.birth_date, excluded.birth_date),
        sex = COALESCE(patients.sex, excluded.sex)
      RETURNING id`);
    this.#fillPatient = db.prepare(`
      UPDATE patients SET
        name = COALESCE(name, @name),
        birth_date = COALESCE(birth_date, @birthDate),
        sex = COALESCE(sex, @sex)
      WHERE id = @pk`);
    this.#insertStudy = db.prepare(`
      INSERT INTO studies (study_uid, patient_fk, accession_number, accession_issuer,
        study_date, study_time, description, referring_physician, study_id,
        created_at, updated_at)
      VALUES (@uid, @patientPk, @accessionNumber, @accessionIssuer, @date, @time,
        @description, @referringPhysician, @studyId, @now, @now)
      RETURNING id`);
    // Later instances fill in what earlier ones lacked but never overwrite: the first
    // non-empty value wins, so the index does not flip between senders' spellings.
    this.#fillStudy = db.prepare(`
      UPDATE studies SET
        accession_number = COALESCE(accession_number, @accessionNumber),
        accession_issuer = COALESCE(accession_issuer, @accessionIssuer),
        study_date = COALESCE(study_date, @date),
        study_time = COALESCE(study_time, @time),
        description = COALESCE(description, @description),
        referring_physician = COALESCE(referring_physician, @referringPhysician),
        study_id = COALESCE(study_id, @studyId)
      WHERE id = @pk`);
    this.#upsertSeries = db.prepare(`
      INSERT INTO series (series_uid, study_fk, modality, series_number, description, body_part)
      VALUES (@uid, @studyPk, @modality, @number, @description, @bodyPart)
      ON CONFLICT (series_uid) DO UPDATE SET
        modality = COALESCE(series.modality, excluded.modality),
        series_number = COALESCE(series.series_number, excluded.series_number),
        description = COALESCE(series.description, excluded.description),
        body_part = COALESCE(series.body_part, excluded.body_part)
      RETURNING id, study_fk`);
    this.#insertInstance = db.prepare(`
      INSERT INTO instances (sop_instance_uid, series_fk, sop_class_uid, instance_number,
        frames, transfer_syntax_uid, size_bytes, dataset_sha256, storage_key, received_at,
        calling_ae)
      VALUES (@uid, @seriesPk, @sopClassUid, @number, @frames, @transferSyntaxUid,
        @sizeBytes, @datasetSha256, @storageKey, @receivedAt, @callingAe)
      ON CONFLICT (sop_instance_uid) DO NOTHING`);
    this.#addToSeries = db.prepare(
      'UPDATE series SET instance_count = instance_count + ? WHERE id = ?',
    );
    this.#deleteInstance = db.prepare(
      'DELETE FROM instances WHERE sop_instance_uid = ? RETURNING series_fk',
    );
    this.#removeFromCounts = db.prepare(`
      UPDATE studies SET received_instances = received_instances - 1
      WHERE id = (SELECT study_fk FROM series WHERE id = ?)`);
    this.#studyModalities = db.prepare(`
      SELECT DISTINCT modality FROM series WHERE study_fk = ? AND modality IS NOT NULL`);
    this.#updateStudy = db.prepare(`
      UPDATE studies SET
        received_instances = received_instances + @instances,
        modalities = COALESCE(@modalities, modalities),
        updated_at = @now
      WHERE id = @pk`);
    this.#setExpected = db.prepare('UPDATE studies SET expected_instances = ? WHERE study_uid = ?');
  }

  /**
   * Records how many instances the PACS says a study has (`null`: unknown again). A study not
   * indexed yet gets the count with its first instance, since the retriever asks the PACS
   * before it retrieves; until then the count is kept in memory only (for the latest
   * MAX_PENDING_EXPECTED studies), so a restart forgets it. Leaves `updated_at` alone: that
   * one tells when instances last arrived.
   */
  setExpected(studyUid: string, expected: number | null): void {
    this.#pendingExpected.delete(studyUid);
    if (this.#setExpected.run(expected, studyUid).changes > 0) return;
    this.#pendingExpected.set(studyUid, expected);
    if (this.#pendingExpected.size > MAX_PENDING_EXPECTED) {
      const [oldest] = this.#pendingExpected.keys();
      if (oldest !== undefined) this.#pendingExpected.delete(oldest);
    }
  }

  /** Removes one instance's row and its counts; false when it was not indexed. */
  remove(sopInstanceUid: string): boolean {
    const removed = this.#deleteInstance.get(sopInstanceUid);
    if (!removed) return false;
    this.#addToSeries.run(-1, removed.series_fk);
    this.#removeFromCounts.run(removed.series_fk);
    return true;
  }

  /**
   * Indexes `items`. Must run inside a transaction (the caller's), since it leaves counts
   * inconsistent between its statements. Instances already indexed are left as they are.
   */
  write(items: readonly StoredInstance[], replace: ReadonlySet<string> = new Set()): CommitResult {
    const now = new Date().toISOString();
    // Replaced instances leave their old row (and its counts) first, in the same transaction.
    for (const item of items) {
      if (replace.has(item.metadata.instance.uid)) this.remove(item.metadata.instance.uid);
    }
    // Counts and modalities are applied once per series/study at the end rather than per
    // instance: a batch usually holds many instances of few series.
    const seriesDeltas = new Map<number, number>();
    const studyDeltas = new Map<number, StudyDelta>();
    let inserted = 0;

    for (const item of items) {
      const { metadata } = item;
      const studyPk = this.#studyPk(metadata, now);
      const series = this.#upsertSeries.get({
        uid: metadata.series.uid,
        studyPk,
        modality: metadata.series.modality ?? null,
        number: metadata.series.number ?? null,
        description: metadata.series.description ?? null,
        bodyPart: metadata.series.bodyPart ?? null,
      });
      if (!series) throw new Error('series upsert returned no row');
      if (series.study_fk !== studyPk) {
        // A series UID is globally unique; a sender reusing it under another study is broken.
        // Indexing the instance under the other study would hand it out with that study (to
        // another patient, maybe): the whole batch rolls back and the instance is refused.
        throw Object.assign(
          new Error(
            `SeriesInstanceUID ${metadata.series.uid} is indexed under another study than ${metadata.study.uid}`,
          ),
          { code: SERIES_IN_OTHER_STUDY },
        );
      }

      const instance = this.#insertInstance.run({
        uid: metadata.instance.uid,
        seriesPk: series.id,
        sopClassUid: metadata.instance.sopClassUid,
        number: metadata.instance.number ?? null,
        frames: metadata.instance.frames ?? null,
        transferSyntaxUid: item.transferSyntaxUid,
        sizeBytes: item.sizeBytes,
        datasetSha256: item.datasetSha256,
        storageKey: item.storageKey,
        receivedAt: item.receivedAt,
        callingAe: item.callingAe,
      });
      const added = instance.changes;
      inserted += added;
      seriesDeltas.set(series.id, (seriesDeltas.get(series.id) ?? 0) + added);
      const delta = studyDeltas.get(series.study_fk) ?? {
        instances: 0,
        modalitiesMayChange: false,
      };
      delta.instances += added;
      delta.modalitiesMayChange ||= metadata.series.modality !== undefined;
      studyDeltas.set(series.study_fk, delta);
    }

    for (const [seriesPk, count] of seriesDeltas) {
      if (count > 0) this.#addToSeries.run(count, seriesPk);
    }
    for (const [studyPk, delta] of studyDeltas) {
      const modalities = delta.modalitiesMayChange
        ? joinModalities(this.#studyModalities.all(studyPk).map((row) => row.modality))
        : null;
      this.#updateStudy.run({ pk: studyPk, instances: delta.instances, modalities, now });
    }
    return { inserted, alreadyIndexed: items.length - inserted };
  }

  /** Finds or creates the study (and its patient), filling in values it lacked. */
  #studyPk(metadata: InstanceMetadata, now: string): number {
    const { patient, study } = metadata;
    const studyValues: StudyValues = {
      accessionNumber: study.accessionNumber ?? null,
      accessionIssuer: study.accessionIssuer ?? null,
      date: study.date ?? null,
      time: study.time ?? null,
      description: study.description ?? null,
      referringPhysician: study.referringPhysician ?? null,
      studyId: study.studyId ?? null,
    };
    const patientValues: PatientValues = {
      name: patient.name ?? null,
      birthDate: patient.birthDate ?? null,
      sex: patient.sex ?? null,
    };
    const issuer = patient.issuer ?? '';

    const existing = this.#findStudy.get(study.uid);
    if (existing) {
      if (existing.patient_id === (patient.id ?? null) && existing.issuer === issuer) {
        this.#fillPatient.run({ pk: existing.patient_pk, ...patientValues });
      } else if (patient.id !== undefined) {
        // The study keeps the patient it was first indexed under; reconciling patient
        // identity is for people (or the RIS), not for the ingest path. No patient ids in
        // the log: they are patient data.
        this.#logger.warn(
          { studyUid: study.uid },
          'instance names another patient than its study; study patient kept',
        );
      }
      this.#fillStudy.run({ pk: existing.study_pk, ...studyValues });
      return existing.study_pk;
    }

    const patientRow = this.#upsertPatient.get({
      patientId: patient.id ?? null,
      issuer,
      ...patientValues,
    });
    if (!patientRow) throw new Error('patient upsert returned no row');
    const studyRow = this.#insertStudy.get({
      uid: study.uid,
      patientPk: patientRow.id,
      ...studyValues,
      now,
    });
    if (!studyRow) throw new Error('study insert returned no row');
    // Kept after use: should this batch roll back, the next attempt needs it again.
    const expected = this.#pendingExpected.get(study.uid);
    if (expected !== undefined) this.#setExpected.run(expected, study.uid);
    return studyRow.id;
  }
}
