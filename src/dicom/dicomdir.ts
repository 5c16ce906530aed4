/**
 * The DICOMDIR of a PS3.10 file-set (Media Storage Directory Storage, PS3.3 F.3): a Basic
 * Directory whose Directory Record Sequence holds PATIENT → STUDY → SERIES → IMAGE (or SR
 * DOCUMENT, KEY OBJECT DOC, WAVEFORM, ENCAP DOC, PRESENTATION) records linked by byte offsets. Pure: the caller supplies the hierarchy, the file IDs and the UID.
 *
 * Every item and the sequence are written with explicit lengths, so each record's encoded
 * length does not depend on the offsets it carries (all UL, 4 bytes): the records are encoded
 * once to measure them, laid out, then encoded again with their real offsets.
 */
import { vrProblem, type CheckedVr } from './dataset-writer.js';
import { encodeFileMeta } from './file-meta.js';
import { encodeIdentifier, type Identifier, type IdentifierValue } from './identifier.js';

export const MEDIA_STORAGE_DIRECTORY_SOP_CLASS = '1.2.840.10008.1.3.10';
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

/** The record types of instances this writer knows (PS3.3 F.5); IMAGE when not said. */
export type InstanceRecordType =
  'IMAGE' | 'SR DOCUMENT' | 'KEY OBJECT DOC' | 'WAVEFORM' | 'ENCAP DOC' | 'PRESENTATION';

/** A record type other than IMAGE, with its keys as read from the instance (see dicomdir-keys). */
export interface InstanceRecordKeys {
  type: InstanceRecordType;
  keys: Array<[tag: number, vr: string, value: IdentifierValue]>;
}

export interface DicomdirInstance {
  /** Referenced File ID components, e.g. `['DICOM', 'S0000001', 'I0000001']`. */
  fileId: string[];
  sopClassUid: string;
  sopInstanceUid: string;
  /** Transfer syntax of the file as stored. */
  transferSyntaxUid: string;
  instanceNumber?: number | string | undefined;
  /** The record's type and keys for a non-image instance; an IMAGE record when absent. */
  record?: InstanceRecordKeys | undefined;
}

export interface DicomdirSeries {
  seriesInstanceUid: string;
  modality?: string | undefined;
  seriesNumber?: number | string | undefined;
  instances: DicomdirInstance[];
}

export interface DicomdirStudy {
  studyInstanceUid: string;
  /** YYYYMMDD (an ACR-NEMA `YYYY.MM.DD` is converted). */
  studyDate?: string | undefined;
  studyTime?: string | undefined;
  studyId?: string | undefined;
  accessionNumber?: string | undefined;
  studyDescription?: string | undefined;
  series: DicomdirSeries[];
}

export interface DicomdirPatient {
  patientId?: string | undefined;
  /** PN with `^` between components. */
  patientName?: string | undefined;
  studies: DicomdirStudy[];
}

export interface DicomdirInput {
  /** The DICOMDIR's own Media Storage SOP Instance UID. */
  sopInstanceUid: string;
  /** File-set ID (0004,1130): up to 16 upper-case letters, digits, space or underscore. */
  fileSetId?: string | undefined;
  patients: DicomdirPatient[];
}

/** Input a DICOMDIR cannot be built from; `field` is its path in the input. */
export class DicomdirInputError extends Error {
  override readonly name = 'DicomdirInputError';
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field} ${reason}`);
  }
}

/** One File ID component (PS3.10 8.2 / PS3.12 ISO 9660): 1–8 of A–Z, 0–9 and `_`. */
export const FILE_ID_COMPONENT = /^[A-Z0-9_]{1,8}$/;
/** PS3.10 8.5: a File ID has at most 8 components. */
const MAX_FILE_ID_COMPONENTS = 8;

// ---------------------------------------------------------------------------------------------
// Values from the index. They were copied from received instances, which may hold values their
// VR cannot (ACR-NEMA dates, over-long strings): such a value is repaired when the repair is
// unambiguous (a `YYYY.MM.DD` date, an over-long string clipped to its VR's maximum) and dropped
// otherwise. A DICOMDIR is an index for media readers: refusing the whole package over a
// cosmetic key would serve nobody, and the referenced files are copied unchanged anyway.

const MAX_CHARS: Partial<Record<CheckedVr, number>> = { CS: 16, SH: 16, LO: 64 };

/** A value `vr` can hold, made from `raw`, or `undefined` when it cannot be made one. */
export function cleanValue(vr: CheckedVr, raw: string | number | undefined): string | undefined {
  if (raw === undefined) return undefined;
  let value = String(raw).trim();
  if (vr === 'DA') value = value.replace(/^(\d{4})[.-](\d{2})[.-](\d{2})$/, '$1$2$3');
  if (vr === 'TM') value = value.replace(/^(\d{2}):(\d{2})(?::(\d{2}(\.\d+)?))?$/, '$1$2$3');
  const max = MAX_CHARS[vr];
  if (max !== undefined && value.length > max) value = value.slice(0, max).trimEnd();
  if (value === '') return undefined;
  return vrProblem(vr, value) === undefined ? value : undefined;
}

/** An IS value: an integer in the range PS3.5 allows, or `undefined`. */
function cleanInteger(raw: string | number | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const value = typeof raw === 'number' ? raw : Number(String(raw).trim());
  const ok = Number.isSafeInteger(value) && value >= -(2 ** 31) && value <= 2 ** 31 - 1;
  return ok && String(raw).trim() !== '' ? String(value) : undefined;
}

function uid(field: string, value: string): string {
  // UIDs name the objects; one that is not valid cannot be referenced, so this one fails.
  const problem = vrProblem('UI', typeof value === 'string' ? value : '');
  if (problem !== undefined)
    throw new DicomdirInputError(field, `${problem}: ${JSON.stringify(value)}`);
  return value;
}

function fileId(field: string, components: string[]): string {
  if (!Array.isArray(components) || components.length === 0)
    throw new DicomdirInputError(field, 'must have at least one component');
  if (components.length > MAX_FILE_ID_COMPONENTS)
    throw new DicomdirInputError(field, `has more than ${MAX_FILE_ID_COMPONENTS} components`);
  for (const component of components) {
    if (typeof component !== 'string' || !FILE_ID_COMPONENT.test(component))
      throw new DicomdirInputError(
        field,
        `component ${JSON.stringify(component)} is not 1-8 of A-Z, 0-9, _`,
      );
  }
  return components.join('\\');
}

// ---------------------------------------------------------------------------------------------
// Records

const TAG = {
  FileSetID: 0x00041130,
  FirstRootRecord: 0x00041200,
  LastRootRecord: 0x00041202,
  FileSetConsistencyFlag: 0x00041212,
  DirectoryRecordSequence: 0x00041220,
  NextRecord: 0x00041400,
  RecordInUseFlag: 0x00041410,
  LowerLevelRecord: 0x00041420,
  DirectoryRecordType: 0x00041430,
  ReferencedFileID: 0x00041500,
  ReferencedSOPClassUIDInFile: 0x00041510,
  ReferencedSOPInstanceUIDInFile: 0x00041511,
  ReferencedTransferSyntaxUIDInFile: 0x00041512,
  StudyDate: 0x00080020,
  StudyTime: 0x00080030,
  AccessionNumber: 0x00080050,
  Modality: 0x00080060,
  StudyDescription: 0x00081030,
  PatientName: 0x00100010,
  PatientID: 0x00100020,
  StudyInstanceUID: 0x0020000d,
  SeriesInstanceUID: 0x0020000e,
  StudyID: 0x00200010,
  SeriesNumber: 0x00200011,
  InstanceNumber: 0x00200013,
} as const;

type Keys = Array<[number, string, IdentifierValue]>;

interface DirectoryRecord {
  type: 'PATIENT' | 'STUDY' | 'SERIES' | InstanceRecordType;
  keys: Keys;
  children: DirectoryRecord[];
  /** Offset of the record's item tag from the start of the file, once laid out. */
  offset: number;
  length: number;
}

function ul(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value, 0);
  return bytes;
}

function us(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16LE(value, 0);
  return bytes;
}

function identifier(keys: Keys): Identifier {
  return new Map(keys.map(([tag, vr, value]) => [tag, { tag, vr, value }]));
}

/** A record as an item of explicit length; `next` and `lower` are file offsets or 0. */
function encodeRecord(record: DirectoryRecord, next: number, lower: number): Buffer {
  const body = encodeIdentifier(
    identifier([
      [TAG.NextRecord, 'UL', ul(next)],
      // Retired since 2008 but still Type 1 for dciodvfy and older readers; FFFFH: in use.
      [TAG.RecordInUseFlag, 'US', us(0xffff)],
      [TAG.LowerLevelRecord, 'UL', ul(lower)],
      [TAG.DirectoryRecordType, 'CS', record.type],
      ...record.keys,
    ]),
    { explicitVr: true },
  );
  const item = Buffer.alloc(8);
  item.writeUInt16LE(0xfffe, 0);
  item.writeUInt16LE(0xe000, 2);
  item.writeUInt32LE(body.length, 4);
  return Buffer.concat([item, body]);
}

function instanceRecord(instance: DicomdirInstance, at: string, position: number): DirectoryRecord {
  return {
    type: instance.record?.type ?? 'IMAGE',
    keys: [
      ...(instance.record?.keys ?? []),
      // Type 1: an instance without a usable number gets its position in the series.
      [TAG.InstanceNumber, 'IS', cleanInteger(instance.instanceNumber) ?? String(position)],
      [TAG.ReferencedFileID, 'CS', fileId(`${at}.fileId`, instance.fileId)],
      [TAG.ReferencedSOPClassUIDInFile, 'UI', uid(`${at}.sopClassUid`, instance.sopClassUid)],
      [
        TAG.ReferencedSOPInstanceUIDInFile,
        'UI',
        uid(`${at}.sopInstanceUid`, instance.sopInstanceUid),
      ],
      [
        TAG.ReferencedTransferSyntaxUIDInFile,
        'UI',
        uid(`${at}.transferSyntaxUid`, instance.transferSyntaxUid),
      ],
    ],
    children: [],
    offset: 0,
    length: 0,
  };
}

function nonEmpty<T>(field: string, value: T[] | undefined, what: string): T[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new DicomdirInputError(field, `must list at least one ${what}`);
  return value;
}

function claim(seen: Map<string, string>, field: string, value: string): void {
  const first = seen.get(value);
  if (first !== undefined)
    throw new DicomdirInputError(field, `repeats ${first}: ${JSON.stringify(value)}`);
  seen.set(value, field);
}

/**
 * The record tree. Type 1 keys that the index lacks get stand-ins, as DCMTK's dcmmkdir does:
 * a patient without an ID is numbered, a study without ID or date gets its position and
 * 19000101 / 000000, a series without a number its position and without a modality `OT`.
 */
function recordTree(input: DicomdirInput): DirectoryRecord[] {
  const uids = new Map<string, string>();
  const files = new Map<string, string>();
  const patients = nonEmpty('patients', input.patients, 'patient');
  return patients.map((patient, p) => {
    const studies = nonEmpty(`patients[${p}].studies`, patient.studies, 'study');
    return {
      type: 'PATIENT',
      keys: [
        [TAG.PatientName, 'PN', cleanValue('PN', patient.patientName) ?? ''],
        [TAG.PatientID, 'LO', cleanValue('LO', patient.patientId) ?? `PDI_PATIENT_${p + 1}`],
      ],
      offset: 0,
      length: 0,
      children: studies.map((study, s): DirectoryRecord => {
        const at = `patients[${p}].studies[${s}]`;
        const studyUid = uid(`${at}.studyInstanceUid`, study.studyInstanceUid);
        claim(uids, `${at}.studyInstanceUid`, studyUid);
        return {
          type: 'STUDY',
          keys: [
            [TAG.StudyDate, 'DA', cleanValue('DA', study.studyDate) ?? '19000101'],
            [TAG.StudyTime, 'TM', cleanValue('TM', study.studyTime) ?? '000000'],
            [TAG.AccessionNumber, 'SH', cleanValue('SH', study.accessionNumber) ?? ''],
            [TAG.StudyDescription, 'LO', cleanValue('LO', study.studyDescription) ?? ''],
            [TAG.StudyInstanceUID, 'UI', studyUid],
            [TAG.StudyID, 'SH', cleanValue('SH', study.studyId) ?? String(s + 1)],
          ],
          offset: 0,
          length: 0,
          children: nonEmpty(`${at}.series`, study.series, 'series').map((series, r) => {
            const seriesAt = `${at}.series[${r}]`;
            const seriesUid = uid(`${seriesAt}.seriesInstanceUid`, series.seriesInstanceUid);
            claim(uids, `${seriesAt}.seriesInstanceUid`, seriesUid);
            const instances = nonEmpty(`${seriesAt}.instances`, series.instances, 'instance');
            return {
              type: 'SERIES',
              keys: [
                [TAG.Modality, 'CS', cleanValue('CS', series.modality) ?? 'OT'],
                [TAG.SeriesInstanceUID, 'UI', seriesUid],
                [TAG.SeriesNumber, 'IS', cleanInteger(series.seriesNumber) ?? String(r + 1)],
              ],
              offset: 0,
              length: 0,
              children: instances.map((instance, i) => {
                const instanceAt = `${seriesAt}.instances[${i}]`;
                const record = instanceRecord(instance, instanceAt, i + 1);
                claim(uids, `${instanceAt}.sopInstanceUid`, instance.sopInstanceUid);
                claim(files, `${instanceAt}.fileId`, instance.fileId.join('\\'));
                return record;
              }),
            };
          }),
        };
      }),
    };
  });
}

/** Records in the order they are written: each followed by its lower level, depth first. */
function flatten(records: DirectoryRecord[], out: DirectoryRecord[] = []): DirectoryRecord[] {
  for (const record of records) {
    out.push(record);
    flatten(record.children, out);
  }
  return out;
}

/** The (next, lower) offsets of every record, once each record's `offset` is known. */
function links(records: DirectoryRecord[], result = new Map<DirectoryRecord, [number, number]>()) {
  records.forEach((record, i) => {
    result.set(record, [records[i + 1]?.offset ?? 0, record.children[0]?.offset ?? 0]);
    links(record.children, result);
  });
  return result;
}

function header(first: number, last: number, fileSetId: string, sequenceLength: number): Buffer {
  const top = encodeIdentifier(
    identifier([
      [TAG.FileSetID, 'CS', fileSetId],
      [TAG.FirstRootRecord, 'UL', ul(first)],
      [TAG.LastRootRecord, 'UL', ul(last)],
      [TAG.FileSetConsistencyFlag, 'US', us(0)], // 0: no known inconsistencies
    ]),
    { explicitVr: true },
  );
  const sequence = Buffer.alloc(12);
  sequence.writeUInt16LE(0x0004, 0);
  sequence.writeUInt16LE(0x1220, 2);
  sequence.write('SQ', 4, 'latin1');
  sequence.writeUInt32LE(sequenceLength, 8);
  return Buffer.concat([top, sequence]);
}

/**
 * The DICOMDIR of `input` as a PS3.10 file (Explicit VR Little Endian). Records are written
 * depth first (each patient, then its first study, its first series, that series' images, ...);
 * every offset is the byte position of the record's item tag from the start of the file
 * (preamble included), as PS3.3 F.3.2.1 defines. Each SOP Instance, study and series UID and
 * each File ID must appear once. Throws `DicomdirInputError` naming the field on a UID that is
 * not valid, a File ID that is not ISO 9660 safe, or an empty level; other values that their VR
 * cannot hold are repaired or dropped (see `cleanValue`).
 */
export function buildDicomdir(input: DicomdirInput): Buffer {
  const sopInstanceUid = uid('sopInstanceUid', input.sopInstanceUid);
  const fileSetId = cleanValue('CS', input.fileSetId) ?? '';
  const roots = recordTree(input);
  const ordered = flatten(roots);
  const meta = encodeFileMeta({
    sopClassUid: MEDIA_STORAGE_DIRECTORY_SOP_CLASS,
    sopInstanceUid,
    transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN,
  });
  for (const record of ordered) record.length = encodeRecord(record, 0, 0).length;
  const sequenceLength = ordered.reduce((sum, record) => sum + record.length, 0);
  let offset = meta.length + header(0, 0, fileSetId, sequenceLength).length;
  for (const record of ordered) {
    record.offset = offset;
    offset += record.length;
  }
  const offsets = links(roots);
  const items = ordered.map((record) => {
    const [next, lower] = offsets.get(record)!;
    const bytes = encodeRecord(record, next, lower);
    // Guards the layout's premise: a record's length never depends on its offsets.
    if (bytes.length !== record.length) throw new Error('DICOMDIR record length changed');
    return bytes;
  });
  const dataset = header(roots[0]!.offset, roots.at(-1)!.offset, fileSetId, sequenceLength);
  return Buffer.concat([meta, dataset, ...items]);
}
