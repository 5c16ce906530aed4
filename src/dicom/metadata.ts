import dcmjs from 'dcmjs';
import type { InstanceMetadata } from './instance-metadata.js';
import { TransferSyntax } from './transfer-syntax.js';
import { encodeFileMeta } from './file-meta.js';
import { assertValidUid } from './uid.js';

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
  return (values.get(tag)?.toString('latin1') ?? '').replace(/[\0 ]+$/, '').trim();
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

let quiet = false;
export function silenceDcmjs(): void {
  if (quiet) return;
  // dcmjs logs every odd value through loglevel; the bridge reports problems itself.
  dcmjs.log.setLevel('silent');
  dcmjs.log.getLogger('validation.dcmjs').setLevel('silent');
  quiet = true;
}

function text(value: unknown): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined || first === null) return undefined;
  if (typeof first === 'object') {
    const alphabetic = (first as { Alphabetic?: unknown }).Alphabetic;
    return text(alphabetic);
  }
  const result = String(first).trim();
  return result === '' ? undefined : result;
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
  silenceDcmjs();
  const warnings: string[] = [];
  let data: Record<string, unknown> = {};
  try {
    const file = Buffer.concat([
      encodeFileMeta({
        sopClassUid: uids.sopClassUid,
        sopInstanceUid: uids.sopInstanceUid,
        transferSyntaxUid: encodingSyntaxUid,
      }),
      header,
    ]);
    const parsed = dcmjs.data.DicomMessage.readFile(
      file.buffer.slice(file.byteOffset, file.byteOffset + file.length),
      {
        ignoreErrors: true,
        untilTag: '7FE00010',
        includeUntilTagValue: false,
        noCopy: false,
        forceStoreRaw: false,
      },
    );
    data = dcmjs.data.DicomMetaDictionary.naturalizeDataset(parsed.dict);
  } catch (error) {
    warnings.push(`header could not be parsed for metadata: ${(error as Error).message}`);
  }
  const issuerItem = (
    data.IssuerOfAccessionNumberSequence as Record<string, unknown>[] | undefined
  )?.[0];
  const metadata: InstanceMetadata = {
    patient: {
      id: text(data.PatientID),
      issuer: text(data.IssuerOfPatientID),
      name: text(data.PatientName),
      birthDate: text(data.PatientBirthDate),
      sex: text(data.PatientSex),
    },
    study: {
      uid: uids.studyUid,
      accessionNumber: text(data.AccessionNumber),
      accessionIssuer:
        text(issuerItem?.LocalNamespaceEntityID) ?? text(issuerItem?.UniversalEntityID),
      date: text(data.StudyDate),
      time: text(data.StudyTime),
      description: text(data.StudyDescription),
      referringPhysician: text(data.ReferringPhysicianName),
      studyId: text(data.StudyID),
    },
    series: {
      uid: uids.seriesUid,
      modality: text(data.Modality),
      number: integer(values, Tag.SeriesNumber, 'SeriesNumber', warnings),
      description: text(data.SeriesDescription),
      bodyPart: text(data.BodyPartExamined),
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
