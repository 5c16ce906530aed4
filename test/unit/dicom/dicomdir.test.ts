import { decodeIdentifier } from '../../../src/dicom/identifier-decode.js';
import { describe, expect, it } from 'vitest';
import {
  buildDicomdir,
  cleanValue,
  DicomdirInputError,
  FILE_ID_COMPONENT,
  type DicomdirInput,
} from '../../../src/dicom/dicomdir.js';
import { parseFileMeta } from '../../../src/dicom/file-meta.js';
import type { Identifier } from '../../../src/dicom/identifier.js';

const CT = '1.2.840.10008.5.1.4.1.1.2';
const EXPLICIT = '1.2.840.10008.1.2.1';

function input(patients = 2, studies = 2, series = 2, instances = 3): DicomdirInput {
  let s = 0;
  return {
    sopInstanceUid: '1.2.3.999',
    fileSetId: 'FSEBRIDGE',
    patients: Array.from({ length: patients }, (_, p) => ({
      patientId: `P${p}`,
      patientName: p === 0 ? 'Rossi^Mario' : 'Müller^Jürgen',
      studies: Array.from({ length: studies }, (_, t) => ({
        studyInstanceUid: `1.2.3.${p}.${t}`,
        studyDate: '1997.04.24', // ACR-NEMA form: converted
        studyTime: '101010',
        studyId: 'an over-long study id', // clipped to 16
        accessionNumber: `A${p}${t}`,
        studyDescription: 'bad\\value', // a backslash would split it: dropped
        series: Array.from({ length: series }, (_, r) => {
          s++;
          return {
            seriesInstanceUid: `1.2.3.${p}.${t}.${r}`,
            modality: 'CT',
            seriesNumber: r + 1,
            instances: Array.from({ length: instances }, (_, i) => ({
              fileId: [
                'DICOM',
                `S${String(s).padStart(7, '0')}`,
                `I${String(i + 1).padStart(7, '0')}`,
              ],
              sopClassUid: CT,
              sopInstanceUid: `1.2.3.${p}.${t}.${r}.${i}`,
              transferSyntaxUid: EXPLICIT,
              instanceNumber: i === 0 ? 'x' : i + 1, // not an integer: replaced by position
            })),
          };
        }),
      })),
    })),
  };
}

function ul(dataset: Identifier, tag: number): number {
  const value = dataset.get(tag)?.value;
  expect(Buffer.isBuffer(value) && value.length === 4).toBe(true);
  return (value as Buffer).readUInt32LE(0);
}

interface Record {
  dataset: Identifier;
  next: number;
  lower: number;
}

/** The record whose item starts at `offset`, read with the bridge's own decoder. */
function recordAt(file: Buffer, offset: number): Record {
  expect(file.readUInt16LE(offset)).toBe(0xfffe);
  expect(file.readUInt16LE(offset + 2)).toBe(0xe000);
  const length = file.readUInt32LE(offset + 4);
  const dataset = decodeIdentifier(file.subarray(offset + 8, offset + 8 + length), {
    explicitVr: true,
  });
  return { dataset, next: ul(dataset, 0x00041400), lower: ul(dataset, 0x00041420) };
}

function text(dataset: Identifier, tag: number): string | undefined {
  const value = dataset.get(tag)?.value;
  return typeof value === 'string' ? value : undefined;
}

function walk(file: Buffer): Array<{ type: string; dataset: Identifier; depth: number }> {
  const meta = parseFileMeta(file);
  const top = decodeIdentifier(file.subarray(meta.datasetOffset), { explicitVr: true });
  const first = ul(top, 0x00041200);
  const found: Array<{ type: string; dataset: Identifier; depth: number }> = [];
  const visit = (offset: number, depth: number): void => {
    for (let at = offset; at !== 0;) {
      const record = recordAt(file, at);
      found.push({ type: text(record.dataset, 0x00041430)!, dataset: record.dataset, depth });
      if (record.lower !== 0) visit(record.lower, depth + 1);
      at = record.next;
    }
  };
  visit(first, 0);
  return found;
}

describe('buildDicomdir', () => {
  it('writes a PS3.10 Media Storage Directory in Explicit VR Little Endian', () => {
    const meta = parseFileMeta(buildDicomdir(input()));
    expect(meta.sopClassUid).toBe('1.2.840.10008.1.3.10');
    expect(meta.sopInstanceUid).toBe('1.2.3.999');
    expect(meta.transferSyntaxUid).toBe(EXPLICIT);
  });

  it('links records by offsets that point at record starts, level by level', () => {
    const file = buildDicomdir(input());
    const records = walk(file);
    const levels = ['PATIENT', 'STUDY', 'SERIES', 'IMAGE'];
    for (const record of records) expect(record.type).toBe(levels[record.depth]);
    expect(records.filter((r) => r.type === 'PATIENT')).toHaveLength(2);
    expect(records.filter((r) => r.type === 'SERIES')).toHaveLength(8);
    const meta = parseFileMeta(file);
    const top = decodeIdentifier(file.subarray(meta.datasetOffset), { explicitVr: true });
    const last = ul(top, 0x00041202);
    const lastPatient = recordAt(file, last);
    expect(lastPatient.next).toBe(0);
    expect(text(lastPatient.dataset, 0x00100020)).toBe('P1');
  });

  it('lists every instance once, with ISO 9660 safe file IDs and its UIDs', () => {
    const images = walk(buildDicomdir(input())).filter((r) => r.type === 'IMAGE');
    expect(images).toHaveLength(2 * 2 * 2 * 3);
    const uids = images.map((r) => text(r.dataset, 0x00041511));
    expect(new Set(uids).size).toBe(images.length);
    for (const image of images) {
      const components = text(image.dataset, 0x00041500)!.split('\\');
      expect(components).toHaveLength(3);
      for (const component of components) expect(component).toMatch(FILE_ID_COMPONENT);
      expect(text(image.dataset, 0x00041510)).toBe(CT);
      expect(text(image.dataset, 0x00041512)).toBe(EXPLICIT);
    }
    expect(images.map((r) => text(r.dataset, 0x00200013)).slice(0, 3)).toEqual(['1', '2', '3']);
  });

  it('repairs or drops index values their VR cannot hold', () => {
    const study = walk(buildDicomdir(input())).find((r) => r.type === 'STUDY')!.dataset;
    expect(text(study, 0x00080020)).toBe('19970424');
    expect(text(study, 0x00200010)).toBe('an over-long stu');
    expect(text(study, 0x00081030)).toBe('');
    expect(cleanValue('DA', '20230230')).toBeUndefined();
    expect(cleanValue('TM', '10:20:30')).toBe('102030');
    expect(cleanValue('CS', 'mr')).toBeUndefined();
  });

  it('declares UTF-8 in the records that hold non-ASCII names', () => {
    const patients = walk(buildDicomdir(input())).filter((r) => r.type === 'PATIENT');
    expect(text(patients[0]!.dataset, 0x00080005)).toBeUndefined();
    expect(text(patients[1]!.dataset, 0x00080005)).toBe('ISO_IR 192');
    expect(text(patients[1]!.dataset, 0x00100010)).toBe('Müller^Jürgen');
  });

  it('refuses file IDs that are not ISO 9660 safe, repeated instances and bad UIDs', () => {
    const lower = input(1, 1, 1, 1);
    lower.patients[0]!.studies[0]!.series[0]!.instances[0]!.fileId = ['dicom', 'S1', 'I1'];
    expect(() => buildDicomdir(lower)).toThrow(DicomdirInputError);
    const long = input(1, 1, 1, 1);
    long.patients[0]!.studies[0]!.series[0]!.instances[0]!.fileId = ['DICOM', 'S000000001'];
    expect(() => buildDicomdir(long)).toThrow(/fileId/);
    const twice = input(1, 1, 1, 2);
    const instances = twice.patients[0]!.studies[0]!.series[0]!.instances;
    instances[1]!.sopInstanceUid = instances[0]!.sopInstanceUid;
    expect(() => buildDicomdir(twice)).toThrow(/instances\[1\]\.sopInstanceUid repeats/);
    const badUid = input(1, 1, 1, 1);
    badUid.patients[0]!.studies[0]!.studyInstanceUid = '1.2.abc';
    expect(() => buildDicomdir(badUid)).toThrow(/studyInstanceUid/);
  });
});
