import type { InstanceMetadata } from './instance-metadata.js';
import { characterSetDecoder, type TextDecoderLike } from './charset.js';
import { readHeaderValues, type HeaderRequest } from './header-reader.js';
import { encodingOf, TransferSyntax } from './transfer-syntax.js';
import { assertValidUid } from './uid.js';
import { trimEnd } from './padding.js';

export const Tag = {
  SpecificCharacterSet: 0x00080005,
  SopClassUid: 0x00080016,
  SopInstanceUid: 0x00080018,
  StudyInstanceUid: 0x0020000d,
  SeriesInstanceUid: 0x0020000e,
  SeriesNumber: 0x00200011,
  InstanceNumber: 0x00200013,
  NumberOfFrames: 0x00280008,
} as const;

/**
 * The top-level values the walker captures raw: the UIDs that become keys, and the integer
 * strings (IS) that dcmjs would "repair" silently (it strips the letters of "1A").
 */
export const KEY_TAGS: ReadonlySet<number> = new Set(Object.values(Tag));

export interface KeyUids {
  sopClassUid: string;
  sopInstanceUid: string;
  studyUid: string;
  seriesUid: string;
}

function uidValue(values: Map<number, Buffer>, tag: number): string {
  return trimEnd(values.get(tag)?.toString('latin1') ?? '').trim();
}

/** The key UIDs from raw captured values, validated; throws `InvalidUidError` naming the field. */
export function keyUids(values: Map<number, Buffer>): KeyUids {
  const uids = {
    sopClassUid: uidValue(values, Tag.SopClassUid),
    sopInstanceUid: uidValue(values, Tag.SopInstanceUid),
    studyUid: uidValue(values, Tag.StudyInstanceUid),
    seriesUid: uidValue(values, Tag.SeriesInstanceUid),
  };
  assertValidUid('SOPClassUID', uids.sopClassUid);
  assertValidUid('SOPInstanceUID', uids.sopInstanceUid);
  assertValidUid('StudyInstanceUID', uids.studyUid);
  assertValidUid('SeriesInstanceUID', uids.seriesUid);
  return uids;
}

/**
 * The key UIDs once all four have been captured and are valid, while a dataset still streams;
 * undefined before that (or when one is invalid: the check at the end names it).
 */
export function capturedKeyUids(values: Map<number, Buffer>): KeyUids | undefined {
  if (!values.has(Tag.StudyInstanceUid) || !values.has(Tag.SeriesInstanceUid)) return undefined;
  try {
    return keyUids(values);
  } catch {
    return undefined;
  }
}

/** Header values the index reads, beyond the captured key tags. */
const Meta = {
  PatientName: 0x00100010,
  PatientId: 0x00100020,
  IssuerOfPatientId: 0x00100021,
  PatientBirthDate: 0x00100030,
  PatientSex: 0x00100040,
  AccessionNumber: 0x00080050,
  IssuerOfAccessionNumberSequence: 0x00080051,
  LocalNamespaceEntityId: 0x00400031,
  UniversalEntityId: 0x00400032,
  StudyDate: 0x00080020,
  StudyTime: 0x00080030,
  ReferringPhysicianName: 0x00080090,
  StudyDescription: 0x00081030,
  StudyId: 0x00200010,
  Modality: 0x00080060,
  SeriesDescription: 0x0008103e,
  BodyPartExamined: 0x00180015,
} as const;

const HEADER_REQUEST: HeaderRequest = {
  top: new Set([Tag.SpecificCharacterSet, ...Object.values(Meta)]),
  sequences: new Map([
    [
      Meta.IssuerOfAccessionNumberSequence,
      new Set<number>([Meta.LocalNamespaceEntityId, Meta.UniversalEntityId]),
    ],
  ]),
};

/** Text whose bytes follow Specific Character Set (PS3.5 6.1.2.3); the rest is ASCII. */
type TextKind = 'ascii' | 'coded' | 'coded-single' | 'person';

/** The first value of a text element, trimmed; undefined when absent or empty. */
function text(
  raw: Buffer | undefined,
  kind: TextKind,
  decoder: TextDecoderLike,
): string | undefined {
  if (raw === undefined || raw.length === 0) return undefined;
  const decoded = kind === 'ascii' ? raw.toString('latin1') : decoder.decode(raw);
  let value = trimEnd(decoded);
  if (kind !== 'coded-single') value = value.split('\\')[0]!;
  if (kind === 'person') value = value.split('=')[0]!;
  value = value.trim();
  return value === '' ? undefined : value;
}

/**
 * Longest text value indexed, in characters: far beyond what any of these elements may hold
 * (64 at most), so only a broken or hostile sender exceeds it. Such a value is left out of the
 * index with a warning (the stored instance keeps it): every query that matches on it would
 * otherwise pay for its length, row by row.
 */
export const MAX_INDEXED_CHARS = 1024;

function bounded(value: string | undefined, field: string, warnings: string[]): string | undefined {
  if (value === undefined || value.length <= MAX_INDEXED_CHARS) return value;
  warnings.push(`${field} is longer than ${MAX_INDEXED_CHARS} characters: not indexed`);
  return undefined;
}

/** An IS value read from its raw bytes; invalid values are reported, not guessed. */
function integer(
  values: Map<number, Buffer>,
  tag: number,
  field: string,
  warnings: string[],
): number | undefined {
  const raw = values.get(tag)?.toString('latin1').replace(/\0/g, '').trim();
  if (raw === undefined || raw === '') return undefined;
  if (!/^[+-]?\d+$/.test(raw)) {
    warnings.push(`${field} has an invalid value ${JSON.stringify(raw.slice(0, 16))}`);
    return undefined;
  }
  return Number(raw);
}

export interface MetadataResult {
  metadata: InstanceMetadata;
  /** Problems in non-key elements: logged, never a reason to refuse the instance. */
  warnings: string[];
}

/**
 * Read the index metadata from a dataset header (the top-level elements before the pixel data,
 * in `encodingSyntaxUid`), with dcmjs. Key UIDs come from the walker's captured values, already
 * validated; a header dcmjs cannot parse still yields them, with a warning.
 */
export function extractMetadata(
  header: Buffer,
  encodingSyntaxUid: string,
  uids: KeyUids,
  values: Map<number, Buffer>,
): MetadataResult {
  const warnings: string[] = [];
  const read = readHeaderValues(header, encodingOf(encodingSyntaxUid), HEADER_REQUEST);
  if (read.error) warnings.push(`header could not be parsed for metadata: ${read.error}`);
  const decoder = characterSetDecoder(read.top.get(Tag.SpecificCharacterSet)?.toString('latin1'));
  const top = (field: keyof typeof Meta, kind: TextKind): string | undefined =>
    bounded(text(read.top.get(Meta[field]), kind, decoder), field, warnings);
  const issuer = read.items.get(Meta.IssuerOfAccessionNumberSequence);
  const metadata: InstanceMetadata = {
    patient: {
      id: top('PatientId', 'coded'),
      issuer: top('IssuerOfPatientId', 'coded'),
      name: top('PatientName', 'person'),
      birthDate: top('PatientBirthDate', 'ascii'),
      sex: top('PatientSex', 'ascii'),
    },
    study: {
      uid: uids.studyUid,
      accessionNumber: top('AccessionNumber', 'coded'),
      accessionIssuer: bounded(
        text(issuer?.get(Meta.LocalNamespaceEntityId), 'coded-single', decoder) ??
          text(issuer?.get(Meta.UniversalEntityId), 'coded-single', decoder),
        'IssuerOfAccessionNumberSequence',
        warnings,
      ),
      date: top('StudyDate', 'ascii'),
      time: top('StudyTime', 'ascii'),
      description: top('StudyDescription', 'coded'),
      referringPhysician: top('ReferringPhysicianName', 'person'),
      studyId: top('StudyId', 'coded'),
    },
    series: {
      uid: uids.seriesUid,
      modality: top('Modality', 'ascii'),
      number: integer(values, Tag.SeriesNumber, 'SeriesNumber', warnings),
      description: top('SeriesDescription', 'coded'),
      bodyPart: top('BodyPartExamined', 'ascii'),
    },
    instance: {
      uid: uids.sopInstanceUid,
      sopClassUid: uids.sopClassUid,
      number: integer(values, Tag.InstanceNumber, 'InstanceNumber', warnings),
      frames: integer(values, Tag.NumberOfFrames, 'NumberOfFrames', warnings),
    },
  };
  return { metadata, warnings };
}

/** The syntax the walked (and header) bytes are in: deflated datasets are walked inflated. */
export function walkedSyntax(transferSyntaxUid: string): string {
  return transferSyntaxUid === TransferSyntax.DeflatedExplicitVrLittleEndian
    ? TransferSyntax.ExplicitVrLittleEndian
    : transferSyntaxUid;
}
