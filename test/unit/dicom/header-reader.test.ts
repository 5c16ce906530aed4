import { readFileSync } from 'node:fs';
import dcmjs from 'dcmjs';
import { describe, expect, it } from 'vitest';
import { createWalker } from '../../../src/dicom/analyse.js';
import { silenceDcmjs } from '../../../src/dicom/dcmjs-quiet.js';
import { encodeFileMeta, parseFileMeta } from '../../../src/dicom/file-meta.js';
import { readHeaderValues } from '../../../src/dicom/header-reader.js';
import { extractMetadata, keyUids, walkedSyntax } from '../../../src/dicom/metadata.js';
import { encodingOf } from '../../../src/dicom/transfer-syntax.js';
import type { InstanceMetadata } from '../../../src/dicom/instance-metadata.js';
import { sampleName, validSamples } from '../../helpers/samples.js';
import { inflateRawSync } from 'node:zlib';

const uids = {
  sopClassUid: '1.2.3',
  sopInstanceUid: '1.2.3.4',
  studyUid: '1.2.3.5',
  seriesUid: '1.2.3.6',
};

/** dcmjs's reading of the same header: the oracle the bridge's own reader must agree with. */
function dcmjsMetadata(header: Buffer, syntax: string): Record<string, unknown> {
  silenceDcmjs();
  const file = Buffer.concat([encodeFileMeta({ ...uids, transferSyntaxUid: syntax }), header]);
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
  const data = dcmjs.data.DicomMetaDictionary.naturalizeDataset(parsed.dict) as Record<
    string,
    unknown
  >;
  const text = (value: unknown): string | undefined => {
    const first = Array.isArray(value) ? value[0] : value;
    if (first === undefined || first === null) return undefined;
    if (typeof first === 'object') return text((first as { Alphabetic?: unknown }).Alphabetic);
    const result = String(first).replace(/\0+$/, '').trim();
    return result === '' ? undefined : result;
  };
  const issuer = (
    data.IssuerOfAccessionNumberSequence as Record<string, unknown>[] | undefined
  )?.[0];
  return {
    patient: {
      id: text(data.PatientID),
      issuer: text(data.IssuerOfPatientID),
      name: text(data.PatientName),
      birthDate: text(data.PatientBirthDate),
      sex: text(data.PatientSex),
    },
    accessionNumber: text(data.AccessionNumber),
    accessionIssuer: text(issuer?.LocalNamespaceEntityID) ?? text(issuer?.UniversalEntityID),
    date: text(data.StudyDate),
    time: text(data.StudyTime),
    description: text(data.StudyDescription),
    referringPhysician: text(data.ReferringPhysicianName),
    studyId: text(data.StudyID),
    modality: text(data.Modality),
    seriesDescription: text(data.SeriesDescription),
    bodyPart: text(data.BodyPartExamined),
  };
}

/** The bridge's reading, in the oracle's shape. */
function ourReading(metadata: InstanceMetadata): Record<string, unknown> {
  return {
    patient: metadata.patient,
    accessionNumber: metadata.study.accessionNumber,
    accessionIssuer: metadata.study.accessionIssuer,
    date: metadata.study.date,
    time: metadata.study.time,
    description: metadata.study.description,
    referringPhysician: metadata.study.referringPhysician,
    studyId: metadata.study.studyId,
    modality: metadata.series.modality,
    seriesDescription: metadata.series.description,
    bodyPart: metadata.series.bodyPart,
  };
}

type Encoding = { explicitVr: boolean; littleEndian: boolean };
const EXPLICIT_LE: Encoding = { explicitVr: true, littleEndian: true };
const IMPLICIT_LE: Encoding = { explicitVr: false, littleEndian: true };
const EXPLICIT_BE: Encoding = { explicitVr: true, littleEndian: false };

/** One element, encoded; `length` overrides the value's length (0xffffffff: undefined). */
function element(tag: number, vr: string, value: Buffer, enc: Encoding, length?: number): Buffer {
  const long = ['SQ', 'UT', 'OB', 'UN'].includes(vr);
  const head = Buffer.alloc(enc.explicitVr ? (long ? 12 : 8) : 8);
  const u16 = (v: number, at: number): number =>
    enc.littleEndian ? head.writeUInt16LE(v, at) : head.writeUInt16BE(v, at);
  const u32 = (v: number, at: number): number =>
    enc.littleEndian ? head.writeUInt32LE(v, at) : head.writeUInt32BE(v, at);
  u16(tag >>> 16, 0);
  u16(tag & 0xffff, 2);
  const len = length ?? value.length;
  if (!enc.explicitVr) u32(len, 4);
  else {
    head.write(vr, 4, 'latin1');
    if (long) u32(len, 8);
    else u16(len, 6);
  }
  return Buffer.concat([head, value]);
}

function item(content: Buffer, enc: Encoding, undefinedLength: boolean): Buffer {
  const head = Buffer.alloc(8);
  const le = enc.littleEndian;
  (le ? head.writeUInt16LE.bind(head) : head.writeUInt16BE.bind(head))(0xfffe, 0);
  (le ? head.writeUInt16LE.bind(head) : head.writeUInt16BE.bind(head))(0xe000, 2);
  (le ? head.writeUInt32LE.bind(head) : head.writeUInt32BE.bind(head))(
    undefinedLength ? 0xffffffff : content.length,
    4,
  );
  if (!undefinedLength) return Buffer.concat([head, content]);
  const end = Buffer.alloc(8);
  (le ? end.writeUInt16LE.bind(end) : end.writeUInt16BE.bind(end))(0xfffe, 0);
  (le ? end.writeUInt16LE.bind(end) : end.writeUInt16BE.bind(end))(0xe00d, 2);
  return Buffer.concat([head, content, end]);
}

function sequence(tag: number, items: Buffer[], enc: Encoding, undefinedLength: boolean): Buffer {
  const content = Buffer.concat(items);
  if (!undefinedLength) return element(tag, 'SQ', content, enc);
  const end = Buffer.alloc(8);
  (enc.littleEndian ? end.writeUInt16LE.bind(end) : end.writeUInt16BE.bind(end))(0xfffe, 0);
  (enc.littleEndian ? end.writeUInt16LE.bind(end) : end.writeUInt16BE.bind(end))(0xe0dd, 2);
  return Buffer.concat([element(tag, 'SQ', Buffer.concat([content, end]), enc, 0xffffffff)]);
}

const text = (value: string, encoding: BufferEncoding = 'latin1'): Buffer => {
  const bytes = Buffer.from(value, encoding);
  return bytes.length % 2 === 0 ? bytes : Buffer.concat([bytes, Buffer.from(' ')]);
};

/** A header with a nested sequence ahead of the accession issuer, in `enc`. */
function header(enc: Encoding, undefinedLengths: boolean): Buffer {
  const nested = sequence(
    0x00081110, // ReferencedStudySequence, with a nested sequence inside its item
    [
      item(
        sequence(
          0x00081199,
          [item(element(0x00081150, 'UI', text('1.2'), enc), enc, undefinedLengths)],
          enc,
          undefinedLengths,
        ),
        enc,
        undefinedLengths,
      ),
    ],
    enc,
    undefinedLengths,
  );
  const issuer = sequence(
    0x00080051,
    [
      item(
        Buffer.concat([
          element(0x00400031, 'UT', text('RIS-A'), enc),
          element(0x00400032, 'UT', text('2.16.840.1'), enc),
        ]),
        enc,
        undefinedLengths,
      ),
      item(element(0x00400031, 'UT', text('SECOND'), enc), enc, undefinedLengths),
    ],
    enc,
    undefinedLengths,
  );
  return Buffer.concat([
    element(0x00080005, 'CS', text('ISO_IR 100'), enc),
    element(0x00080020, 'DA', text('20261126'), enc),
    element(0x00080050, 'SH', text('ACC1'), enc),
    issuer,
    element(0x00080060, 'CS', text('CT'), enc),
    element(0x00080090, 'PN', text('Bianchi^Luca=ビアンキ'), enc),
    nested,
    element(0x00100010, 'PN', text('Rossi^Niccolò'), enc),
    element(0x00100020, 'LO', text('PID7\\OTHER'), enc),
    element(0x00181030, 'LO', text('after the patient'), enc),
  ]);
}

describe('header reader', () => {
  for (const [name, enc, syntax] of [
    ['explicit little endian', EXPLICIT_LE, '1.2.840.10008.1.2.1'],
    ['implicit little endian', IMPLICIT_LE, '1.2.840.10008.1.2'],
    ['explicit big endian', EXPLICIT_BE, '1.2.840.10008.1.2.2'],
  ] as const) {
    for (const undefinedLengths of [false, true]) {
      it(`reads top-level values and the first item of a sequence: ${name}, ${undefinedLengths ? 'undefined' : 'defined'} lengths`, () => {
        const bytes = header(enc, undefinedLengths);
        const { metadata, warnings } = extractMetadata(bytes, syntax, uids, new Map());
        expect(warnings).toEqual([]);
        expect(metadata.study.accessionNumber).toBe('ACC1');
        expect(metadata.study.accessionIssuer).toBe('RIS-A');
        expect(metadata.study.date).toBe('20261126');
        expect(metadata.study.referringPhysician).toBe('Bianchi^Luca');
        expect(metadata.series.modality).toBe('CT');
        expect(metadata.patient.name).toBe('Rossi^Niccolò');
        expect(metadata.patient.id).toBe('PID7');
        if (enc !== EXPLICIT_BE) {
          // dcmjs reads big endian headers only from files; it is the oracle for the others.
          expect(ourReading(metadata)).toEqual(dcmjsMetadata(bytes, syntax));
        }
      });
    }
  }

  it('keeps what precedes a malformed element and says why it stopped', () => {
    const good = header(EXPLICIT_LE, true);
    const cut = good.subarray(0, good.length - 10);
    const read = readHeaderValues(cut, EXPLICIT_LE, {
      top: new Set([0x00080050, 0x00100010, 0x00181030]),
      sequences: new Map(),
    });
    expect(read.top.get(0x00080050)?.toString('latin1')).toBe('ACC1');
    expect(read.top.get(0x00100010)?.toString('latin1')).toBe('Rossi^Niccolò ');
    expect(read.top.has(0x00181030)).toBe(false);
    expect(read.error).toMatch(/overruns|incomplete/);
    const { warnings, metadata } = extractMetadata(cut, '1.2.840.10008.1.2.1', uids, new Map());
    expect(warnings.join()).toMatch(/header could not be parsed/);
    expect(metadata.patient.name).toBe('Rossi^Niccolò');
  });

  it('reads no value of an item from beyond the end of its sequence', () => {
    const tail = element(0x00400031, 'UT', text('NOT-IN-THE-SEQUENCE'), EXPLICIT_LE);
    // A sequence of defined length 8 holding only an item header, whose item claims the
    // bytes that follow the sequence.
    const itemHeader = Buffer.from(item(Buffer.alloc(0), EXPLICIT_LE, false).subarray(0, 8));
    itemHeader.writeUInt32LE(tail.length, 4);
    const bytes = Buffer.concat([
      element(0x00080050, 'SH', text('ACC3'), EXPLICIT_LE),
      element(0x00080051, 'SQ', itemHeader, EXPLICIT_LE),
      tail,
    ]);
    const read = readHeaderValues(bytes, EXPLICIT_LE, {
      top: new Set([0x00080050]),
      sequences: new Map([[0x00080051, new Set([0x00400031])]]),
    });
    expect(read.top.get(0x00080050)?.toString()).toBe('ACC3');
    expect(read.items.get(0x00080051)?.get(0x00400031)).toBeUndefined();
    expect(read.error).toMatch(/item overruns its sequence/);
  });

  it('stops on an unclosed item and on garbage without throwing', () => {
    const unclosed = Buffer.concat([
      element(0x00080050, 'SH', text('ACC2'), EXPLICIT_LE),
      element(
        0x00081110,
        'SQ',
        item(Buffer.alloc(0), EXPLICIT_LE, false).subarray(0, 8),
        EXPLICIT_LE,
        0xffffffff,
      ),
    ]);
    const read = readHeaderValues(unclosed, EXPLICIT_LE, {
      top: new Set([0x00080050]),
      sequences: new Map(),
    });
    expect(read.top.get(0x00080050)?.toString()).toBe('ACC2');
    expect(read.error).toBeDefined();
    const garbage = readHeaderValues(
      Buffer.from('0800200044410800ffffffffffff', 'hex'),
      EXPLICIT_LE,
      {
        top: new Set([0x00080020]),
        sequences: new Map(),
      },
    );
    expect(garbage.error).toBeDefined();
  });

  it('never throws on corrupted or truncated headers: it stops and says why', () => {
    let seed = 11;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    let stopped = 0;
    for (const [enc, syntax] of [
      [EXPLICIT_LE, '1.2.840.10008.1.2.1'],
      [IMPLICIT_LE, '1.2.840.10008.1.2'],
      [EXPLICIT_BE, '1.2.840.10008.1.2.2'],
    ] as const) {
      for (const undefinedLengths of [false, true]) {
        const valid = header(enc, undefinedLengths);
        for (let round = 0; round < 1500; round++) {
          const bytes = Buffer.from(valid.subarray(0, 1 + Math.floor(next() * valid.length)));
          for (let flips = Math.floor(next() * 4); flips > 0; flips--) {
            const at = Math.floor(next() * bytes.length);
            bytes[at] = next() < 0.5 ? Math.floor(next() * 256) : [0x00, 0xff, 0xfe, 0xe0][at % 4]!;
          }
          const { metadata, warnings } = extractMetadata(bytes, syntax, uids, new Map());
          expect(metadata.study.uid).toBe(uids.studyUid);
          if (warnings.length > 0) stopped++;
        }
      }
    }
    // Most of the damaged headers are noticed, none makes the read throw.
    expect(stopped).toBeGreaterThan(8000);
  });

  it('decodes by the first Specific Character Set term, Latin-1 when the term is unknown', () => {
    const utf8 = Buffer.concat([
      element(0x00080005, 'CS', text('ISO_IR 192'), EXPLICIT_LE),
      element(0x00100010, 'PN', text('Müller^Jörg', 'utf8'), EXPLICIT_LE),
    ]);
    expect(
      extractMetadata(utf8, '1.2.840.10008.1.2.1', uids, new Map()).metadata.patient.name,
    ).toBe('Müller^Jörg');
    const cyrillic = Buffer.concat([
      element(0x00080005, 'CS', text('ISO_IR 144'), EXPLICIT_LE),
      element(0x00100010, 'PN', Buffer.from([0xbb, 0xee, 0xda, 0xd0]), EXPLICIT_LE),
    ]);
    expect(
      extractMetadata(cyrillic, '1.2.840.10008.1.2.1', uids, new Map()).metadata.patient.name,
    ).toBe('Люка');
    const unknown = Buffer.concat([
      element(0x00080005, 'CS', text('ISO_IR 999'), EXPLICIT_LE),
      element(0x00100010, 'PN', text('Niccolò'), EXPLICIT_LE),
    ]);
    expect(
      extractMetadata(unknown, '1.2.840.10008.1.2.1', uids, new Map()).metadata.patient.name,
    ).toBe('Niccolò');
  });
});

describe('metadata of every valid sample', () => {
  it('agrees with dcmjs reading the same header', () => {
    let compared = 0;
    for (const path of validSamples()) {
      const file = readFileSync(path);
      const meta = parseFileMeta(file);
      const syntax = meta.transferSyntaxUid;
      const walker = createWalker(syntax, 1024 * 1024);
      const dataset = file.subarray(meta.datasetOffset);
      walker.push(encodingOf(syntax).deflated ? inflateRawSync(dataset) : dataset);
      const walked = walker.finish();
      const keys = keyUids(walked.values);
      const { metadata, warnings } = extractMetadata(
        walked.header,
        walkedSyntax(syntax),
        keys,
        walked.values,
      );
      expect(
        warnings.filter((w) => w.includes('header')),
        sampleName(path),
      ).toEqual([]);
      if (!encodingOf(walkedSyntax(syntax)).littleEndian) continue;
      expect(ourReading(metadata), sampleName(path)).toEqual(
        dcmjsMetadata(walked.header, walkedSyntax(syntax)),
      );
      compared++;
    }
    expect(compared).toBeGreaterThan(20);
  });
});
