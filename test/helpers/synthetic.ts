import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeFileMeta } from '../../src/dicom/file-meta.js';

export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';
/** Root for synthetic UIDs (a UUID-derived 2.25 root). */
const ROOT = '2.25.299319212498727616254171315227512781817';

const LONG_VRS = new Set(['OB', 'OW', 'SQ', 'UN', 'UT']);

function element(group: number, elementNumber: number, vr: string, value: Buffer): Buffer {
  const long = LONG_VRS.has(vr);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(elementNumber, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(value.length, 8);
  else header.writeUInt16LE(value.length, 6);
  return Buffer.concat([header, value]);
}

function str(value: string, vr: string): Buffer {
  const padded = value.length % 2 === 1 ? value + (vr === 'UI' ? '\0' : ' ') : value;
  return Buffer.from(padded, 'latin1');
}

function us(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16LE(value, 0);
  return buffer;
}

export interface SyntheticOptions {
  study: number;
  series: number;
  instance: number;
  rows: number;
  columns: number;
  /** UIDs used instead of those the numbers give: a sender reusing a UID by mistake. */
  reuse?: { seriesUid?: string; sopInstanceUid?: string };
  /** PatientID instead of `SYN<study>`. */
  patientId?: string;
  /** IssuerOfPatientID; none when absent. */
  issuerOfPatientId?: string;
  /** AccessionNumber instead of `ACC<study>`. */
  accessionNumber?: string;
}

export function syntheticUids(
  options: Pick<SyntheticOptions, 'study' | 'series' | 'instance' | 'reuse'>,
): {
  study: string;
  series: string;
  sop: string;
} {
  return {
    study: `${ROOT}.1.${options.study}`,
    series: options.reuse?.seriesUid ?? `${ROOT}.2.${options.study}.${options.series}`,
    sop:
      options.reuse?.sopInstanceUid ??
      `${ROOT}.3.${options.study}.${options.series}.${options.instance}`,
  };
}

/** The header of a synthetic 16-bit CT instance (explicit VR little endian), before its pixel data. */
export function syntheticHeader(options: SyntheticOptions): Buffer {
  const uids = syntheticUids(options);
  return Buffer.concat([
    element(0x0008, 0x0005, 'CS', str('ISO_IR 100', 'CS')),
    element(0x0008, 0x0016, 'UI', str(CT_IMAGE_STORAGE, 'UI')),
    element(0x0008, 0x0018, 'UI', str(uids.sop, 'UI')),
    element(0x0008, 0x0020, 'DA', str('20261126', 'DA')),
    element(0x0008, 0x0050, 'SH', str(options.accessionNumber ?? `ACC${options.study}`, 'SH')),
    element(0x0008, 0x0060, 'CS', str('CT', 'CS')),
    element(0x0010, 0x0010, 'PN', str(`Synthetic^Patient${options.study}`, 'PN')),
    element(0x0010, 0x0020, 'LO', str(options.patientId ?? `SYN${options.study}`, 'LO')),
    ...(options.issuerOfPatientId === undefined
      ? []
      : [element(0x0010, 0x0021, 'LO', str(options.issuerOfPatientId, 'LO'))]),
    element(0x0020, 0x000d, 'UI', str(uids.study, 'UI')),
    element(0x0020, 0x000e, 'UI', str(uids.series, 'UI')),
    element(0x0020, 0x0011, 'IS', str(String(options.series), 'IS')),
    element(0x0020, 0x0013, 'IS', str(String(options.instance), 'IS')),
    element(0x0028, 0x0002, 'US', us(1)),
    element(0x0028, 0x0004, 'CS', str('MONOCHROME2', 'CS')),
    element(0x0028, 0x0010, 'US', us(options.rows)),
    element(0x0028, 0x0011, 'US', us(options.columns)),
    element(0x0028, 0x0100, 'US', us(16)),
    element(0x0028, 0x0101, 'US', us(12)),
    element(0x0028, 0x0102, 'US', us(11)),
    element(0x0028, 0x0103, 'US', us(0)),
  ]);
}

/** Header of the pixel data element for `bytes` of native pixels. */
export function pixelDataHeader(bytes: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16LE(0x7fe0, 0);
  header.writeUInt16LE(0x0010, 2);
  header.write('OW', 4, 'latin1');
  header.writeUInt32LE(bytes, 8);
  return header;
}

/** A whole synthetic dataset; the pixels vary with the instance so every dataset is distinct. */
export function syntheticDataset(options: SyntheticOptions): Buffer {
  const pixelBytes = options.rows * options.columns * 2;
  const pixels = Buffer.alloc(pixelBytes);
  for (let i = 0; i < pixelBytes; i += 2)
    pixels.writeUInt16LE((i * 7 + options.instance * 13) & 0x0fff, i);
  return Buffer.concat([syntheticHeader(options), pixelDataHeader(pixelBytes), pixels]);
}

/**
 * Write `count` distinct instances as PS3.10 files into `dir` (`I000001.dcm`, ...), spread over
 * studies of `perStudy` instances (study `study * 100000 + k` has AccessionNumber `ACC<that>`).
 * Returns the paths and SOP Instance UIDs in order.
 */
export function writeSyntheticInstances(
  dir: string,
  count: number,
  size: { rows: number; columns: number },
  study = 1,
  perStudy = 100,
): Array<{ path: string; sopInstanceUid: string }> {
  mkdirSync(dir, { recursive: true });
  const written: Array<{ path: string; sopInstanceUid: string }> = [];
  for (let i = 0; i < count; i++) {
    const options = {
      study: study * 100000 + Math.floor(i / perStudy),
      series: 1 + (Math.floor(i / 50) % 2),
      instance: i + 1,
      ...size,
    };
    const path = join(dir, `I${String(i + 1).padStart(6, '0')}.dcm`);
    written.push({ path, sopInstanceUid: writeSyntheticFile(path, options) });
  }
  return written;
}

/** Write one synthetic instance as a PS3.10 file at `path`; returns its SOP Instance UID. */
export function writeSyntheticFile(path: string, options: SyntheticOptions): string {
  const { sop } = syntheticUids(options);
  writeFileSync(
    path,
    Buffer.concat([
      encodeFileMeta({
        sopClassUid: CT_IMAGE_STORAGE,
        sopInstanceUid: sop,
        transferSyntaxUid: EXPLICIT_LE,
      }),
      syntheticDataset(options),
    ]),
  );
  return sop;
}
