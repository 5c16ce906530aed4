/**
 * DICOM Query/Retrieve (PS3.4 C.4, C.6) answered from the study index: an identifier's keys
 * become one parameterised SELECT over patients, studies, series and instances. The SQL text
 * is made of the fixed expressions below, picked by keyword; request values only ever travel
 * as parameters (matching itself is in `qr-match.ts`).
 *
 * The Q/R SCP decodes identifiers into keyword → text (`MatchKeys`) and encodes the answers
 * (`QrMatch`). It owns QueryRetrieveLevel, SpecificCharacterSet and RetrieveAETitle: those are
 * neither matched nor answered here.
 *
 * Choices where PS3.4 leaves room (for the conformance statement):
 * - PatientName matches case-insensitively, as most PACS do (see `foldName`); every other text
 *   key, ReferringPhysicianName included, case-sensitively.
 * - `*` alone is universal matching on any key; `""` is empty value matching.
 * - A value longer than 64 characters, a list's values together (a person name: 3 × 64 + 2),
 *   is refused, whatever its VR allows below that (`MAX_VALUE_CHARS`); lists of UIDs are
 *   bounded by count.
 * - Backslash lists match when any value does: UIDs, Modality, ModalitiesInStudy (a study
 *   matches when one of its series does), InstanceAvailability.
 * - StudyDate and StudyTime ranges apply independently (no combined datetime matching).
 * - A key the index does not hold is answered empty; matching on one is refused
 *   (`QrQueryError`) rather than ignored, since ignoring it would match everything. So is a
 *   non-empty key of a level below the query's.
 * - Hierarchical queries: the unique keys above the level are required, single-valued; other
 *   keys above the level may match too.
 * - Only what can be retrieved is answered: studies and series holding instances, patients
 *   holding such studies (Patient Root skips patients without PatientID: no unique key).
 *   Counts are those of the instances held, not what the PACS announced.
 */
import type { Database, Statement } from 'better-sqlite3';
import { PN_MAX_CHARS, QrQueryError, foldName, keyCondition } from './qr-match.js';
import type { MatchKind, MatchTarget } from './qr-match.js';
import { trimEnd, trimStart } from '../dicom/padding.js';
import { SCOPED_ISSUER, scopeConditions, scopedSql, type QrScope } from './qr-scope.js';

/** What a key's value may be padded with: white space and NUL. */
const PADDING = ' \t\n\r\f\v\0';

export { QrQueryError } from './qr-match.js';
export type { QrScope } from './qr-scope.js';

/** Query/Retrieve information model (PS3.4 C.6.1, C.6.2); the same union as the DIMSE layer's. */
export type QrModel = 'PATIENT_ROOT' | 'STUDY_ROOT';

/** Query/Retrieve Level (0008,0052). */
export type QrLevel = 'PATIENT' | 'STUDY' | 'SERIES' | 'IMAGE';

/**
 * Keys of a request identifier by DICOM keyword, as text (multiple values joined with `\`).
 * `''` is universal matching: a return key. The issuer of the accession number comes as
 * `IssuerOfAccessionNumber`: the LocalNamespaceEntityID of IssuerOfAccessionNumberSequence.
 */
export type MatchKeys = Readonly<Record<string, string>>;

/** One C-FIND answer: keyword → DICOM text (dates YYYYMMDD, counts decimal), `''` if absent. */
export type QrMatch = Record<string, string>;

/** One instance selected by a C-MOVE / C-GET identifier, and where it is stored. */
export interface RetrieveItem {
  sopInstanceUid: string;
  sopClassUid: string;
  /** As stored (never transcoded). */
  transferSyntaxUid: string;
  storageKey: string;
  sizeBytes: number;
  studyUid: string;
  seriesUid: string;
}

const LEVELS: readonly QrLevel[] = ['PATIENT', 'STUDY', 'SERIES', 'IMAGE'];
const DEPTH: Readonly<Record<QrLevel, number>> = { PATIENT: 0, STUDY: 1, SERIES: 2, IMAGE: 3 };
const MODEL_LEVELS: Readonly<Record<QrModel, readonly QrLevel[]>> = {
  PATIENT_ROOT: LEVELS,
  STUDY_ROOT: ['STUDY', 'SERIES', 'IMAGE'],
};
const UNIQUE_KEY: Readonly<Record<QrLevel, string>> = {
  PATIENT: 'PatientID',
  STUDY: 'StudyInstanceUID',
  SERIES: 'SeriesInstanceUID',
  IMAGE: 'SOPInstanceUID',
};
const SCP_KEYS = new Set(['QueryRetrieveLevel', 'SpecificCharacterSet', 'RetrieveAETitle']);

const FROM: Readonly<Record<QrLevel, string>> = {
  PATIENT: 'patients p',
  STUDY: 'studies st JOIN patients p ON p.id = st.patient_fk',
  SERIES: `series se JOIN studies st ON st.id = se.study_fk
    JOIN patients p ON p.id = st.patient_fk`,
  IMAGE: `instances i JOIN series se ON se.id = i.series_fk
    JOIN studies st ON st.id = se.study_fk JOIN patients p ON p.id = st.patient_fk`,
};
// Rows outlive their instances (removeInstance keeps emptied series and studies): answer only
// what a retrieve could send.
const HELD: Readonly<Record<QrLevel, string>> = {
  PATIENT: `p.patient_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM studies s2 WHERE s2.patient_fk = p.id AND s2.received_instances > 0)`,
  STUDY: 'st.received_instances > 0',
  SERIES: 'se.instance_count > 0',
  IMAGE: '1 = 1',
};
const ORDER: Readonly<Record<QrLevel, string>> = {
  PATIENT: 'p.patient_id, p.issuer',
  STUDY: `COALESCE(st.study_date, '') DESC, COALESCE(st.study_time, '') DESC, st.study_uid`,
  SERIES: 'se.series_number IS NULL, se.series_number, se.series_uid',
  IMAGE: 'i.instance_number IS NULL, i.instance_number, i.sop_instance_uid',
};

interface Attribute extends Omit<MatchTarget, 'column'> {
  /** Depth of its level (patient attributes: 0, in Study Root too). */
  depth: number;
  /** SQL of its value for the row. */
  select: string;
  /** What conditions test, when not `select` (a column inside `within`). */
  column?: string;
  /** `select` gives a comma-separated set, answered sorted and `\`-separated. */
  set?: boolean;
}

function attr(depth: number, kind: MatchKind, select: string, more?: Partial<Attribute>) {
  return { ...more, depth, kind, select };
}

// Counts use the counters commits and removals keep in step with the instance rows.
const SERIES_OF_STUDY = 'FROM series e2 WHERE e2.study_fk = st.id AND e2.instance_count > 0';
const INSTANCES_OF_STUDY = `FROM series e2 JOIN instances i2 ON i2.series_fk = e2.id
  WHERE e2.study_fk = st.id`;
const STUDIES_OF_PATIENT = 'FROM studies s2 WHERE s2.patient_fk = p.id';
const SERIES_OF_PATIENT = `FROM studies s2 JOIN series e2 ON e2.study_fk = s2.id
  WHERE s2.patient_fk = p.id AND e2.instance_count > 0`;

/** Keys the index answers, by keyword. */
const ATTRIBUTES: ReadonlyMap<string, Attribute> = new Map([
  ['PatientName', attr(0, 'name', 'p.name', { maxChars: PN_MAX_CHARS })],
  ['PatientID', attr(0, 'text', 'p.patient_id')],
  // Stored as '' when absent, so that the patients' unique index dedups them.
  ['IssuerOfPatientID', attr(0, 'text', "NULLIF(p.issuer, '')")],
  ['PatientBirthDate', attr(0, 'date', 'p.birth_date')],
  ['PatientSex', attr(0, 'text', 'p.sex')],
  [
    'NumberOfPatientRelatedStudies',
    attr(0, 'count', `(SELECT COUNT(*) ${STUDIES_OF_PATIENT} AND s2.received_instances > 0)`),
  ],
  ['NumberOfPatientRelatedSeries', attr(0, 'count', `(SELECT COUNT(*) ${SERIES_OF_PATIENT})`)],
  [
    'NumberOfPatientRelatedInstances',
    attr(0, 'count', `(SELECT COALESCE(SUM(s2.received_instances), 0) ${STUDIES_OF_PATIENT})`),
  ],
  // Everything indexed is on durable storage.
  ['InstanceAvailability', attr(0, 'text', "'ONLINE'", { list: true })],
  ['StudyInstanceUID', attr(1, 'uid', 'st.study_uid')],
  ['StudyDate', attr(1, 'date', 'st.study_date')],
  ['StudyTime', attr(1, 'time', 'st.study_time')],
  ['AccessionNumber', attr(1, 'text', 'st.accession_number')],
  ['IssuerOfAccessionNumber', attr(1, 'text', 'st.accession_issuer')],
  ['StudyID', attr(1, 'text', 'st.study_id')],
  ['StudyDescription', attr(1, 'text', 'st.description')],
  ['ReferringPhysicianName', attr(1, 'text', 'st.referring_physician', { maxChars: PN_MAX_CHARS })],
  [
    'ModalitiesInStudy',
    // Not studies.modalities: that one keeps the modality of series emptied since.
    attr(1, 'text', `(SELECT group_concat(DISTINCT e2.modality) ${SERIES_OF_STUDY})`, {
      column: 'e2.modality',
      within: (condition) => `EXISTS (SELECT 1 ${SERIES_OF_STUDY} AND ${condition})`,
      list: true,
      set: true,
    }),
  ],
  [
    'SOPClassesInStudy',
    attr(1, 'uid', `(SELECT group_concat(DISTINCT i2.sop_class_uid) ${INSTANCES_OF_STUDY})`, {
      column: 'i2.sop_class_uid',
      within: (condition) => `EXISTS (SELECT 1 ${INSTANCES_OF_STUDY} AND ${condition})`,
      set: true,
    }),
  ],
  ['NumberOfStudyRelatedSeries', attr(1, 'count', `(SELECT COUNT(*) ${SERIES_OF_STUDY})`)],
  ['NumberOfStudyRelatedInstances', attr(1, 'count', 'st.received_instances')],
  ['SeriesInstanceUID', attr(2, 'uid', 'se.series_uid')],
  ['Modality', attr(2, 'text', 'se.modality', { list: true })],
  ['SeriesNumber', attr(2, 'int', 'se.series_number')],
  ['SeriesDescription', attr(2, 'text', 'se.description')],
  ['BodyPartExamined', attr(2, 'text', 'se.body_part')],
  ['NumberOfSeriesRelatedInstances', attr(2, 'count', 'se.instance_count')],
  ['SOPInstanceUID', attr(3, 'uid', 'i.sop_instance_uid')],
  ['SOPClassUID', attr(3, 'uid', 'i.sop_class_uid')],
  ['InstanceNumber', attr(3, 'int', 'i.instance_number')],
  ['NumberOfFrames', attr(3, 'int', 'i.frames')],
  ['AvailableTransferSyntaxUID', attr(3, 'uid', 'i.transfer_syntax_uid')],
]);

/** The attribute of `keyword` within `scope`: IssuerOfPatientID may be assumed. */
function attributeOf(keyword: string, scope: QrScope): Attribute | undefined {
  if (keyword === 'IssuerOfPatientID' && scope.issuerOfPatientId)
    return attr(0, 'text', SCOPED_ISSUER);
  return ATTRIBUTES.get(keyword);
}

/** A SELECT and how to read its rows; see `planFind` and `planRetrieve`. */
export interface QrPlan {
  sql: string;
  params: (string | number)[];
  /** Answer keys in select-list order; `held: false` ones are answered ''. */
  columns: { keyword: string; held: boolean; set: boolean }[];
}

interface Selection {
  depth: number;
  /** The keys, trimmed, in request order. */
  values: Map<string, string>;
  where: string[];
  params: (string | number)[];
}

/**
 * Checks the level and the unique keys above it (present, single value; at the level too,
 * UIDs listed, when `retrieve`), then turns every non-empty key into a condition.
 */
function select(
  model: QrModel,
  level: QrLevel,
  keys: MatchKeys,
  retrieve: boolean,
  scope: QrScope,
): Selection {
  if (!MODEL_LEVELS[model]?.includes(level))
    throw new QrQueryError('QueryRetrieveLevel', String(level), `is not a level of ${model}`);
  const depth = DEPTH[level];
  const values = new Map<string, string>();
  for (const [keyword, value] of Object.entries(keys)) {
    if (typeof value !== 'string')
      throw new QrQueryError(keyword, String(value), 'the value must be text');
    values.set(keyword, trimStart(trimEnd(value, PADDING), PADDING));
  }
  for (const above of MODEL_LEVELS[model]) {
    if (DEPTH[above] > depth || (above === level && !retrieve)) continue;
    const keyword = UNIQUE_KEY[above];
    const value = values.get(keyword) ?? '';
    // A retrieve may name several entities of its own level by UID; above it, exactly one.
    const list = above === level && above !== 'PATIENT';
    if (value === '' || value === '""' || /[*?]/.test(value) || (!list && value.includes('\\'))) {
      const what = list ? 'one or more UIDs are' : 'a single value is';
      throw new QrQueryError(keyword, value, `${what} required at ${level} level`);
    }
  }

  const where: string[] = [];
  const params: (string | number)[] = [];
  for (const [keyword, value] of values) {
    if (value === '' || SCP_KEYS.has(keyword)) continue;
    const attribute = attributeOf(keyword, scope);
    if (!attribute) throw new QrQueryError(keyword, value, 'matching on this key is not supported');
    if (attribute.depth > depth) {
      const below = LEVELS[attribute.depth];
      throw new QrQueryError(keyword, value, `is a ${below} key, below ${level} level`);
    }
    const column = attribute.column ?? attribute.select;
    const condition = keyCondition(keyword, { ...attribute, column }, value);
    if (!condition) continue;
    where.push(condition.sql);
    params.push(...condition.params);
  }
  const scoped = scopeConditions(scope, depth);
  where.push(...scoped.where);
  params.push(...scoped.params);
  return { depth, values, where, params };
}

/**
 * C-FIND: the SELECT answering `keys` at `level` of `model`, within `scope`. Each answer holds
 * the unique keys of the level and above, then every requested key in request order; at most
 * `limit` answers.
 *
 * @throws QrQueryError when the identifier cannot be answered.
 */
export function planFind(
  model: QrModel,
  level: QrLevel,
  keys: MatchKeys,
  limit?: number,
  scope: QrScope = {},
): QrPlan {
  const { depth, values, where, params } = select(model, level, keys, false, scope);
  const uniqueKeys = MODEL_LEVELS[model].filter((l) => DEPTH[l] <= depth).map((l) => UNIQUE_KEY[l]);
  const asked = [...values.keys()].filter((keyword) => !SCP_KEYS.has(keyword));
  const columns: QrPlan['columns'] = [];
  const selects: string[] = [];
  for (const keyword of new Set([...uniqueKeys, ...asked])) {
    const attribute = attributeOf(keyword, scope);
    const held = attribute !== undefined && attribute.depth <= depth;
    if (held) selects.push(attribute.select);
    columns.push({ keyword, held, set: attribute?.set ?? false });
  }
  const plan = scopedSql(
    scope,
    `SELECT ${selects.join(', ')} FROM ${FROM[level]}
    WHERE ${[HELD[level], ...where].join(' AND ')} ORDER BY ${ORDER[level]}`,
    params,
  );
  if (limit === undefined) return { ...plan, columns };
  return { sql: `${plan.sql} LIMIT ?`, params: [...plan.params, limit], columns };
}

const RETRIEVE_COLUMNS: QrPlan['columns'] = [
  'sopInstanceUid',
  'sopClassUid',
  'transferSyntaxUid',
  'storageKey',
  'sizeBytes',
  'studyUid',
  'seriesUid',
].map((keyword) => ({ keyword, held: true, set: false }));

/**
 * C-MOVE / C-GET: the SELECT of the instances an identifier names. It must hold the unique key
 * of the level (a list of UIDs allowed) and single-valued unique keys above; other non-empty
 * keys narrow the selection as in C-FIND (a PatientID that does not match retrieves nothing).
 * Of `scope`, only the issuer applies: a study not complete as held is selected, for the
 * caller to refuse rather than leave out.
 *
 * @throws QrQueryError when the identifier cannot be answered.
 */
export function planRetrieve(
  model: QrModel,
  level: QrLevel,
  keys: MatchKeys,
  scope: QrScope = {},
): QrPlan {
  const issuer = { issuerOfPatientId: scope.issuerOfPatientId ?? '' };
  const { where, params } = select(model, level, keys, true, issuer);
  const plan = scopedSql(
    issuer,
    `SELECT i.sop_instance_uid, i.sop_class_uid, i.transfer_syntax_uid, i.storage_key,
      i.size_bytes, st.study_uid, se.series_uid
    FROM ${FROM.IMAGE} WHERE ${[HELD.IMAGE, ...where].join(' AND ')}
    ORDER BY st.study_uid, ${ORDER.SERIES}, ${ORDER.IMAGE}`,
    params,
  );
  return { ...plan, columns: RETRIEVE_COLUMNS };
}

/** Runs plans on a connection; `StudyIndex` wraps it in its error mapping. */
export class QrQueries {
  readonly #db: Database;
  readonly #countStudyInstances: Statement<[string], { n: number }>;

  constructor(db: Database) {
    this.#db = db;
    db.function('qr_fold', { deterministic: true }, (value: unknown) =>
      typeof value === 'string' ? foldName(value) : null,
    );
    this.#countStudyInstances = db.prepare(`
      SELECT COUNT(*) AS n FROM instances i
      JOIN series se ON se.id = i.series_fk JOIN studies st ON st.id = se.study_fk
      WHERE st.study_uid = ?`);
  }

  /** C-FIND answers of a `planFind` plan. */
  find(plan: QrPlan): QrMatch[] {
    return this.#rows(plan).map((row) => {
      let i = 0;
      // fromEntries defines own properties: a key named __proto__ stays a key.
      return Object.fromEntries(
        plan.columns.map(({ keyword, held, set }) => {
          const raw = held ? row[i++] : null;
          const text = raw === null || raw === undefined ? '' : String(raw);
          return [keyword, set ? text.split(',').filter(Boolean).sort().join('\\') : text];
        }),
      );
    });
  }

  /** Instances of a `planRetrieve` plan. */
  retrieve(plan: QrPlan): RetrieveItem[] {
    return this.#rows(plan).map((row) => {
      const [sopInstanceUid, sopClassUid, transferSyntaxUid, storageKey, sizeBytes] = row as [
        string,
        string,
        string,
        string,
        number,
      ];
      const [studyUid, seriesUid] = row.slice(5) as [string, string];
      return {
        sopInstanceUid,
        sopClassUid,
        transferSyntaxUid,
        storageKey,
        sizeBytes,
        studyUid,
        seriesUid,
      };
    });
  }

  /** Instance rows held for the study (not its stored counter); 0 when not indexed. */
  countStudyInstances(studyUid: string): number {
    return this.#countStudyInstances.get(studyUid)?.n ?? 0;
  }

  #rows(plan: QrPlan): unknown[][] {
    // Plans vary with the keys asked: prepared per call, which costs microseconds.
    return this.#db
      .prepare(plan.sql)
      .raw(true)
      .all(...plan.params) as unknown[][];
  }
}
