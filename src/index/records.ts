/**
 * What the index returns, in the bridge's vocabulary (camelCase, `undefined` for absent
 * values), and the mapping from the SQL rows (snake_case, `NULL`, '' for an absent issuer).
 */

/** Where a received instance is stored and what it belongs to; for duplicate detection. */
export interface InstanceLocation {
  /** Hex sha256 of the dataset as first received. */
  datasetSha256: string;
  /** Object key in the store. */
  storageKey: string;
  seriesUid: string;
  studyUid: string;
}

/** One line of the study list. Patient fields are patient data: never log them. */
export interface StudySummary {
  studyUid: string;
  patientId: string | undefined;
  patientName: string | undefined;
  accessionNumber: string | undefined;
  accessionIssuer: string | undefined;
  /** `YYYYMMDD`. */
  studyDate: string | undefined;
  description: string | undefined;
  /** Distinct modalities of the study's series, sorted. */
  modalities: string[];
  seriesCount: number;
  /** Instances received and indexed so far. */
  instanceCount: number;
  /** Instances the PACS says the study has; `undefined` until asked. */
  expectedInstances: number | undefined;
  /** Lifecycle state; `receiving` when created. */
  status: string;
}

/** Everything the index holds about one study. */
export interface StudyRecord extends StudySummary {
  patientIssuer: string | undefined;
  /** `YYYYMMDD`. */
  patientBirthDate: string | undefined;
  patientSex: string | undefined;
  studyTime: string | undefined;
  referringPhysician: string | undefined;
  /** DICOM StudyID (0020,0010), not a database key. */
  studyId: string | undefined;
  /** ISO 8601 UTC. */
  createdAt: string;
  /** ISO 8601 UTC of the last commit that touched the study (even with duplicates only). */
  updatedAt: string;
}

/** One series of a study. */
export interface SeriesRecord {
  seriesUid: string;
  studyUid: string;
  modality: string | undefined;
  seriesNumber: number | undefined;
  description: string | undefined;
  bodyPart: string | undefined;
  instanceCount: number;
}

/** One received instance. */
export interface InstanceRecord {
  sopInstanceUid: string;
  seriesUid: string;
  studyUid: string;
  sopClassUid: string;
  instanceNumber: number | undefined;
  frames: number | undefined;
  transferSyntaxUid: string;
  sizeBytes: number;
  datasetSha256: string;
  storageKey: string;
  /** ISO 8601 UTC. */
  receivedAt: string;
  callingAe: string;
}

/** Row of `STUDY_COLUMNS` below. */
export interface StudyRow {
  study_uid: string;
  patient_id: string | null;
  patient_issuer: string;
  patient_name: string | null;
  patient_birth_date: string | null;
  patient_sex: string | null;
  accession_number: string | null;
  accession_issuer: string | null;
  study_date: string | null;
  study_time: string | null;
  description: string | null;
  referring_physician: string | null;
  study_id: string | null;
  modalities: string;
  series_count: number;
  received_instances: number;
  expected_instances: number | null;
  status: string;
  created_at: string;
  updated_at: string;
}

/** Select list for `StudyRow`; expects `studies st JOIN patients p`. */
export const STUDY_COLUMNS = `
  st.study_uid, p.patient_id, p.issuer AS patient_issuer, p.name AS patient_name,
  p.birth_date AS patient_birth_date, p.sex AS patient_sex,
  st.accession_number, st.accession_issuer, st.study_date, st.study_time, st.description,
  st.referring_physician, st.study_id, st.modalities,
  (SELECT COUNT(*) FROM series se WHERE se.study_fk = st.id) AS series_count,
  st.received_instances, st.expected_instances, st.status, st.created_at, st.updated_at`;

/** Row of `SERIES_COLUMNS` below. */
export interface SeriesRow {
  series_uid: string;
  study_uid: string;
  modality: string | null;
  series_number: number | null;
  description: string | null;
  body_part: string | null;
  instance_count: number;
}

/** Select list for `SeriesRow`; expects `series se JOIN studies st`. */
export const SERIES_COLUMNS = `
  se.series_uid, st.study_uid, se.modality, se.series_number, se.description, se.body_part,
  se.instance_count`;

/** Row of `INSTANCE_COLUMNS` below. */
export interface InstanceRow {
  sop_instance_uid: string;
  series_uid: string;
  study_uid: string;
  sop_class_uid: string;
  instance_number: number | null;
  frames: number | null;
  transfer_syntax_uid: string;
  size_bytes: number;
  dataset_sha256: string;
  storage_key: string;
  received_at: string;
  calling_ae: string;
}

/** Select list for `InstanceRow`; expects `instances i JOIN series se JOIN studies st`. */
export const INSTANCE_COLUMNS = `
  i.sop_instance_uid, se.series_uid, st.study_uid, i.sop_class_uid, i.instance_number,
  i.frames, i.transfer_syntax_uid, i.size_bytes, i.dataset_sha256, i.storage_key,
  i.received_at, i.calling_ae`;

/** Joins modalities for the `studies.modalities` column. */
export function joinModalities(modalities: Iterable<string>): string {
  return [...new Set(modalities)].sort().join(',');
}

/** Maps a `StudyRow` to the full record. */
export function toStudyRecord(row: StudyRow): StudyRecord {
  return {
    studyUid: row.study_uid,
    patientId: opt(row.patient_id),
    patientName: opt(row.patient_name),
    accessionNumber: opt(row.accession_number),
    accessionIssuer: opt(row.accession_issuer),
    studyDate: opt(row.study_date),
    description: opt(row.description),
    modalities: row.modalities === '' ? [] : row.modalities.split(','),
    seriesCount: row.series_count,
    instanceCount: row.received_instances,
    expectedInstances: opt(row.expected_instances),
    status: row.status,
    patientIssuer: opt(row.patient_issuer),
    patientBirthDate: opt(row.patient_birth_date),
    patientSex: opt(row.patient_sex),
    studyTime: opt(row.study_time),
    referringPhysician: opt(row.referring_physician),
    studyId: opt(row.study_id),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Maps a `StudyRow` to a list line. */
export function toStudySummary(row: StudyRow): StudySummary {
  const r = toStudyRecord(row);
  return {
    studyUid: r.studyUid,
    patientId: r.patientId,
    patientName: r.patientName,
    accessionNumber: r.accessionNumber,
    accessionIssuer: r.accessionIssuer,
    studyDate: r.studyDate,
    description: r.description,
    modalities: r.modalities,
    seriesCount: r.seriesCount,
    instanceCount: r.instanceCount,
    expectedInstances: r.expectedInstances,
    status: r.status,
  };
}

/** Maps a `SeriesRow`. */
export function toSeriesRecord(row: SeriesRow): SeriesRecord {
  return {
    seriesUid: row.series_uid,
    studyUid: row.study_uid,
    modality: opt(row.modality),
    seriesNumber: opt(row.series_number),
    description: opt(row.description),
    bodyPart: opt(row.body_part),
    instanceCount: row.instance_count,
  };
}

/** Maps an `InstanceRow`. */
export function toInstanceRecord(row: InstanceRow): InstanceRecord {
  return {
    sopInstanceUid: row.sop_instance_uid,
    seriesUid: row.series_uid,
    studyUid: row.study_uid,
    sopClassUid: row.sop_class_uid,
    instanceNumber: opt(row.instance_number),
    frames: opt(row.frames),
    transferSyntaxUid: row.transfer_syntax_uid,
    sizeBytes: row.size_bytes,
    datasetSha256: row.dataset_sha256,
    storageKey: row.storage_key,
    receivedAt: row.received_at,
    callingAe: row.calling_ae,
  };
}

// '' only occurs for the patient issuer (stored so the unique index dedups); the metadata
// never carries empty strings, so mapping '' back to undefined loses nothing.
function opt<T>(value: T | null): T | undefined {
  return value === null || value === '' ? undefined : value;
}
