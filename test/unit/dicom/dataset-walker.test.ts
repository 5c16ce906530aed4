import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  DatasetError,
  DatasetWalker,
  type WalkResult,
  type WalkerOptions,
} from '../../../src/dicom/dataset-walker.js';
import { parseFileMeta } from '../../../src/dicom/file-meta.js';
import { encodingOf } from '../../../src/dicom/transfer-syntax.js';
import { SAMPLES_DIR, sampleName, validSamples } from '../../helpers/samples.js';

const MIB = 1024 * 1024;
const SOP_INSTANCE_UID = 0x00080018;
const UNDEFINED = 0xffffffff;
/** Captured here: SpecificCharacterSet and the four key UIDs. */
const CAPTURE: ReadonlySet<number> = new Set([
  0x00080005, 0x00080016, 0x00080018, 0x0020000d, 0x0020000e,
]);

function options(overrides: Partial<WalkerOptions> = {}): WalkerOptions {
  return {
    explicitVr: true,
    littleEndian: true,
    captureTags: CAPTURE,
    maxHeaderBytes: MIB,
    maxKeptElementBytes: MIB,
    ...overrides,
  };
}

/** Walk `chunks` in order; throws what the walker throws. */
function walk(chunks: Buffer[], walkerOptions: WalkerOptions): WalkResult {
  const walker = new DatasetWalker(walkerOptions);
  for (const chunk of chunks) walker.push(chunk);
  return walker.finish();
}

/** A deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomChunks(data: Buffer, seed: number, maxSize: number): Buffer[] {
  const next = random(seed);
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < data.length;) {
    const size = 1 + Math.floor(next() * maxSize);
    chunks.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

function expectDatasetError(run: () => unknown, what: string): void {
  let error: unknown;
  try {
    run();
  } catch (caught) {
    error = caught;
  }
  expect(error, what).toBeInstanceOf(DatasetError);
}

function sameResult(a: WalkResult, b: WalkResult): void {
  expect(b.length).toBe(a.length);
  expect(b.header.equals(a.header)).toBe(true);
  expect([...b.values.entries()].map(([tag, value]) => [tag, value.toString('hex')])).toEqual(
    [...a.values.entries()].map(([tag, value]) => [tag, value.toString('hex')]),
  );
}

// ---------------------------------------------------------------------------------------------
// A small encoder for hand-made datasets (independent of the code under test).

interface Enc {
  little: boolean;
  explicit: boolean;
}
const EXPLICIT_LE: Enc = { little: true, explicit: true };
const EXPLICIT_BE: Enc = { little: false, explicit: true };
const IMPLICIT_LE: Enc = { little: true, explicit: false };
const LONG = new Set([
  'OB',
  'OD',
  'OF',
  'OL',
  'OV',
  'OW',
  'SQ',
  'SV',
  'UC',
  'UN',
  'UR',
  'UT',
  'UV',
]);

function u16(value: number, little: boolean): Buffer {
  const b = Buffer.alloc(2);
  if (little) b.writeUInt16LE(value, 0);
  else b.writeUInt16BE(value, 0);
  return b;
}
function u32(value: number, little: boolean): Buffer {
  const b = Buffer.alloc(4);
  if (little) b.writeUInt32LE(value, 0);
  else b.writeUInt32BE(value, 0);
  return b;
}
function tag(value: number, little: boolean): Buffer {
  return Buffer.concat([u16(value >>> 16, little), u16(value & 0xffff, little)]);
}
/** Element header; `length` may be UNDEFINED. */
function header(t: number, vr: string, length: number, enc: Enc): Buffer {
  if (!enc.explicit) return Buffer.concat([tag(t, enc.little), u32(length, enc.little)]);
  if (LONG.has(vr))
    return Buffer.concat([
      tag(t, enc.little),
      Buffer.from(vr, 'latin1'),
      Buffer.alloc(2),
      u32(length, enc.little),
    ]);
  return Buffer.concat([tag(t, enc.little), Buffer.from(vr, 'latin1'), u16(length, enc.little)]);
}
function text(value: string): Buffer {
  return Buffer.from(value.length % 2 ? `${value} ` : value, 'latin1');
}
function uid(value: string): Buffer {
  return Buffer.from(value.length % 2 ? `${value}\0` : value, 'latin1');
}
function el(t: number, vr: string, value: Buffer, enc: Enc = EXPLICIT_LE): Buffer {
  return Buffer.concat([header(t, vr, value.length, enc), value]);
}
function definedItem(content: Buffer, enc: Enc = EXPLICIT_LE): Buffer {
  return Buffer.concat([tag(0xfffee000, enc.little), u32(content.length, enc.little), content]);
}
function undefinedItem(content: Buffer, enc: Enc = EXPLICIT_LE): Buffer {
  return Buffer.concat([
    tag(0xfffee000, enc.little),
    u32(UNDEFINED, enc.little),
    content,
    tag(0xfffee00d, enc.little),
    u32(0, enc.little),
  ]);
}
function undefinedSequence(
  t: number,
  vr: string,
  items: Buffer[],
  enc: Enc = EXPLICIT_LE,
  delimiterEnc: Enc = enc,
): Buffer {
  return Buffer.concat([
    header(t, vr, UNDEFINED, enc),
    ...items,
    tag(0xfffee0dd, delimiterEnc.little),
    u32(0, delimiterEnc.little),
  ]);
}
function definedSequence(t: number, items: Buffer[], enc: Enc = EXPLICIT_LE): Buffer {
  const content = Buffer.concat(items);
  return Buffer.concat([header(t, 'SQ', content.length, enc), content]);
}

const SOP = '1.2.826.0.1.3680043.10.1.77.1';
const STUDY = '1.2.826.0.1.3680043.10.1.77';
const SERIES = '1.2.826.0.1.3680043.10.1.77.2';
const CT_CLASS = '1.2.840.10008.5.1.4.1.1.2';

/** Top-level elements of a dataset with nested undefined-length sequences, UN, encapsulated pixels. */
function richElements(): Buffer[] {
  const innerItem = Buffer.concat([
    el(0x00081150, 'UI', uid(CT_CLASS)),
    el(0x00081155, 'UI', uid('1.2.3.4.5')),
  ]);
  // A SOP Instance UID nested in an item: must not be captured as the top-level one.
  const nestedKey = el(SOP_INSTANCE_UID, 'UI', uid('9.9.9.9'));
  const referenced = undefinedSequence(0x00081140, 'SQ', [
    undefinedItem(
      Buffer.concat([
        nestedKey,
        undefinedSequence(0x00081199, 'SQ', [
          undefinedItem(innerItem),
          definedItem(innerItem),
          undefinedItem(Buffer.alloc(0)),
        ]),
      ]),
    ),
    definedItem(
      Buffer.concat([
        definedSequence(0x00400275, [definedItem(innerItem)]),
        el(0x00081160, 'IS', text('1')),
      ]),
    ),
    undefinedItem(
      Buffer.concat([
        undefinedSequence(0x0040a730, 'SQ', [
          undefinedItem(
            undefinedSequence(0x0040a730, 'SQ', [
              undefinedItem(el(0x0040a010, 'CS', text('CONTAINS'))),
            ]),
          ),
        ]),
      ]),
    ),
  ]);
  // Private UN with undefined length: its content is implicit VR little endian (PS3.5 6.2.2),
  // including a nested undefined-length sequence (no VR to tell it is one).
  const implicitItem = Buffer.concat([
    el(0x00091011, 'LO', text('vendor'), IMPLICIT_LE),
    undefinedSequence(
      0x00091012,
      '',
      [undefinedItem(el(0x00091013, 'DS', text('1.5'), IMPLICIT_LE), IMPLICIT_LE)],
      IMPLICIT_LE,
    ),
    el(0x00091014, '', Buffer.alloc(6), IMPLICIT_LE),
  ]);
  const privateUn = undefinedSequence(
    0x00091010,
    'UN',
    [undefinedItem(implicitItem, IMPLICIT_LE), definedItem(implicitItem, IMPLICIT_LE)],
    EXPLICIT_LE,
    IMPLICIT_LE,
  );
  const fragments = [
    definedItem(Buffer.from([0, 0, 0, 0, 8, 0, 0, 0])), // basic offset table
    definedItem(Buffer.alloc(8, 0xaa)),
    definedItem(Buffer.alloc(12, 0xbb)),
  ];
  return [
    el(0x00080005, 'CS', text('ISO_IR 192')),
    el(0x00080016, 'UI', uid(CT_CLASS)),
    el(SOP_INSTANCE_UID, 'UI', uid(SOP)),
    el(0x00080060, 'CS', text('CT')),
    referenced,
    privateUn,
    el(0x00100010, 'PN', Buffer.from('Müller^Jörg', 'utf8')),
    el(0x0020000d, 'UI', uid(STUDY)),
    el(0x0020000e, 'UI', uid(SERIES)),
    el(0x00280010, 'US', u16(4, true)),
    undefinedSequence(0x7fe00010, 'OB', fragments),
    el(0xfffcfffc, 'OB', Buffer.alloc(4)),
  ];
}

/** The offsets where a top-level element starts or the dataset ends. */
function boundaries(elements: Buffer[]): Set<number> {
  const set = new Set<number>();
  let offset = 0;
  for (const element of elements) {
    offset += element.length;
    set.add(offset);
  }
  return set;
}

/** Every valid sample's dataset as the walker sees it (deflated ones inflated). */
function sampleDatasets(): Array<{
  name: string;
  dataset: Buffer;
  walkerOptions: WalkerOptions;
  sopInstanceUid: string;
}> {
  return validSamples().map((path) => {
    const file = readFileSync(path);
    const meta = parseFileMeta(file);
    const encoding = encodingOf(meta.transferSyntaxUid);
    const raw = file.subarray(meta.datasetOffset);
    return {
      name: sampleName(path),
      dataset: encoding.deflated ? inflateRawSync(raw) : raw,
      walkerOptions: options({
        explicitVr: encoding.explicitVr,
        littleEndian: encoding.littleEndian,
      }),
      sopInstanceUid: meta.sopInstanceUid,
    };
  });
}

function stripUid(value: Buffer | undefined): string | undefined {
  return value?.toString('latin1').replace(/[\0 ]+$/, '');
}

describe('DatasetWalker on the samples', () => {
  const samples = sampleDatasets();

  it('has samples of every encoding to walk', () => {
    expect(samples.length).toBeGreaterThanOrEqual(40);
    const kinds = new Set(
      samples.map((s) => `${s.walkerOptions.explicitVr}/${s.walkerOptions.littleEndian}`),
    );
    expect(kinds).toEqual(new Set(['true/true', 'false/true', 'true/false']));
  });

  it('walks every valid sample cleanly, fed whole and in random small chunks, with the same result', () => {
    for (const sample of samples) {
      const whole = walk([sample.dataset], sample.walkerOptions);
      expect(whole.length, sample.name).toBe(sample.dataset.length);
      expect(stripUid(whole.values.get(SOP_INSTANCE_UID)), sample.name).toBe(sample.sopInstanceUid);
      for (const key of CAPTURE)
        if (key !== 0x00080005)
          expect(whole.values.has(key), `${sample.name} captures ${key.toString(16)}`).toBe(true);
      for (let seed = 1; seed <= 3; seed++) {
        sameResult(
          whole,
          walk(
            randomChunks(sample.dataset, seed * 1000 + sample.dataset.length, 1 + seed * 7),
            sample.walkerOptions,
          ),
        );
      }
    }
  });

  it('walks every valid sample fed byte by byte', () => {
    for (const sample of samples.filter((s) => s.dataset.length < 50_000)) {
      const bytes = [...sample.dataset].map((byte) => Buffer.from([byte]));
      sameResult(walk([sample.dataset], sample.walkerOptions), walk(bytes, sample.walkerOptions));
    }
  });

  it('keeps the header up to the pixel data: a prefix of the dataset, without the pixel data', () => {
    let withPixels = 0;
    for (const sample of samples) {
      const { header } = walk([sample.dataset], sample.walkerOptions);
      expect(sample.dataset.subarray(0, header.length).equals(header), sample.name).toBe(true);
      if (header.length === sample.dataset.length) continue; // no pixel data (SR, ECG)
      const little = sample.walkerOptions.littleEndian;
      const next = little
        ? sample.dataset.readUInt16LE(header.length)
        : sample.dataset.readUInt16BE(header.length);
      const nextElement = little
        ? sample.dataset.readUInt16LE(header.length + 2)
        : sample.dataset.readUInt16BE(header.length + 2);
      expect([next, nextElement], `${sample.name}: header stops at (7FE0,0010)`).toEqual([
        0x7fe0, 0x0010,
      ]);
      withPixels++;
    }
    expect(withPixels).toBeGreaterThanOrEqual(38);
  });

  it('throws DatasetError for a sample cut anywhere inside an element', () => {
    for (const sample of samples) {
      const { header } = walk([sample.dataset], sample.walkerOptions);
      const length = sample.dataset.length;
      // Inside the first element's header, and inside the last element (at least 8 bytes long).
      const cuts = [1, 4, 7, length - 1, length - 3, length - 7];
      if (header.length < length) {
        const pd = header.length;
        const little = sample.walkerOptions.littleEndian;
        const explicit = sample.walkerOptions.explicitVr;
        const headerLength = explicit ? 12 : 8;
        const valueLength = little
          ? sample.dataset.readUInt32LE(pd + headerLength - 4)
          : sample.dataset.readUInt32BE(pd + headerLength - 4);
        cuts.push(pd + 2, pd + 6, pd + headerLength - 1);
        if (valueLength === UNDEFINED) {
          // Encapsulated: inside the first item header, inside the offset table or first fragment,
          // between fragments and in the sequence delimiter.
          const botLength = sample.dataset.readUInt32LE(pd + headerLength + 4);
          cuts.push(
            pd + headerLength + 3,
            pd + headerLength + 8 + botLength + 4,
            pd + headerLength + 8 + botLength + 9,
          );
          // Just before the end of the fragment sequence (some samples have trailing padding after it).
          const delimiter = sample.dataset.lastIndexOf(Buffer.from('feffdde000000000', 'hex'));
          expect(delimiter, `${sample.name} has a sequence delimiter`).toBeGreaterThan(pd);
          cuts.push(delimiter - 1, delimiter, delimiter + 4);
        } else {
          cuts.push(pd + headerLength + Math.floor(valueLength / 2));
        }
      }
      for (const cut of cuts) {
        expect(cut, sample.name).toBeGreaterThan(0);
        expect(cut, sample.name).toBeLessThan(length);
        expectDatasetError(
          () => walk([sample.dataset.subarray(0, cut)], sample.walkerOptions),
          `${sample.name} cut at ${cut} of ${length}`,
        );
        expectDatasetError(
          () => walk(randomChunks(sample.dataset.subarray(0, cut), cut, 16), sample.walkerOptions),
          `${sample.name} cut at ${cut}, chunked`,
        );
      }
    }
  });

  it('throws DatasetError inside the top-level sequences of the samples', () => {
    const cases: Array<[string, number]> = [
      ['single/CT_small.dcm', 0x00101002], // OtherPatientIDsSequence, explicit length
      ['generated/MR_utf8_iso_ir_192.dcm', 0x00080051], // IssuerOfAccessionNumberSequence
    ];
    for (const [name, sequenceTag] of cases) {
      const sample = samples.find((s) => s.name === name)!;
      const at = sample.dataset.indexOf(Buffer.concat([tag(sequenceTag, true), Buffer.from('SQ')]));
      expect(at, name).toBeGreaterThan(0);
      for (const cut of [at + 13, at + 12 + 8, at + 12 + 8 + 3, at + 12 + 8 + 9]) {
        expectDatasetError(
          () => walk([sample.dataset.subarray(0, cut)], sample.walkerOptions),
          `${name} cut at ${cut}`,
        );
      }
    }
  });

  it('throws DatasetError for the truncated bad samples', () => {
    for (const name of ['bad/MR_truncated.dcm', 'bad/rtplan_truncated.dcm']) {
      const file = readFileSync(join(SAMPLES_DIR, name));
      const meta = parseFileMeta(file);
      const encoding = encodingOf(meta.transferSyntaxUid);
      expectDatasetError(
        () =>
          walk(
            [file.subarray(meta.datasetOffset)],
            options({ explicitVr: encoding.explicitVr, littleEndian: encoding.littleEndian }),
          ),
        name,
      );
    }
  });
});

describe('DatasetWalker on hand-made datasets', () => {
  const elements = richElements();
  const dataset = Buffer.concat(elements);
  const pixelIndex = elements.findIndex((element) => element.readUInt16LE(0) === 0x7fe0);

  it('walks nested undefined-length sequences, UN with implicit content and encapsulated pixels', () => {
    const result = walk([dataset], options());
    expect(result.length).toBe(dataset.length);
    expect(
      stripUid(result.values.get(SOP_INSTANCE_UID)),
      'the top-level SOP Instance UID, not the nested one',
    ).toBe(SOP);
    expect(stripUid(result.values.get(0x0020000d))).toBe(STUDY);
    expect(stripUid(result.values.get(0x0020000e))).toBe(SERIES);
    expect(stripUid(result.values.get(0x00080016))).toBe(CT_CLASS);
    expect(result.values.get(0x00080005)?.toString('latin1')).toBe('ISO_IR 192');
    // The header is every element before the pixel data, sequences and UN included.
    expect(result.header.equals(Buffer.concat(elements.slice(0, pixelIndex)))).toBe(true);
    const bytewise = walk(
      [...dataset].map((byte) => Buffer.from([byte])),
      options(),
    );
    sameResult(result, bytewise);
  });

  it('truncated at any offset throws DatasetError unless cut between top-level elements', () => {
    const clean = boundaries(elements);
    let thrown = 0;
    for (let cut = 1; cut < dataset.length; cut++) {
      if (clean.has(cut)) {
        expect(walk([dataset.subarray(0, cut)], options()).length, `cut at ${cut}`).toBe(cut);
      } else {
        expectDatasetError(() => walk([dataset.subarray(0, cut)], options()), `cut at ${cut}`);
        thrown++;
      }
    }
    expect(thrown).toBe(dataset.length - clean.size);
  });

  it('walks the same structures in implicit VR little endian and explicit VR big endian', () => {
    for (const enc of [IMPLICIT_LE, EXPLICIT_BE]) {
      const item = Buffer.concat([
        el(0x00081150, 'UI', uid(CT_CLASS), enc),
        el(0x00081155, 'UI', uid('1.2.3.4'), enc),
      ]);
      const parts = [
        el(0x00080016, 'UI', uid(CT_CLASS), enc),
        el(SOP_INSTANCE_UID, 'UI', uid(SOP), enc),
        undefinedSequence(
          0x00081140,
          'SQ',
          [
            undefinedItem(
              undefinedSequence(
                0x00081199,
                'SQ',
                [undefinedItem(item, enc), definedItem(item, enc)],
                enc,
              ),
              enc,
            ),
            definedItem(item, enc),
          ],
          enc,
        ),
        definedSequence(0x00081200, [definedItem(item, enc)], enc),
        el(0x0020000d, 'UI', uid(STUDY), enc),
        el(0x7fe00010, 'OW', Buffer.alloc(32, 1), enc),
      ];
      const data = Buffer.concat(parts);
      const walkerOptions = options({ explicitVr: enc.explicit, littleEndian: enc.little });
      const result = walk([data], walkerOptions);
      const name = enc.explicit ? 'explicit big endian' : 'implicit little endian';
      expect(result.length, name).toBe(data.length);
      expect(stripUid(result.values.get(SOP_INSTANCE_UID)), name).toBe(SOP);
      expect(result.header.equals(Buffer.concat(parts.slice(0, -1))), name).toBe(true);
      const clean = boundaries(parts);
      for (let cut = 1; cut < data.length; cut++) {
        if (!clean.has(cut))
          expectDatasetError(
            () => walk([data.subarray(0, cut)], walkerOptions),
            `${name} cut at ${cut}`,
          );
      }
    }
  });

  it('throws DatasetError on file meta elements (group 0002) in the dataset', () => {
    const withMeta = Buffer.concat([el(0x00020010, 'UI', uid('1.2.840.10008.1.2.1')), ...elements]);
    expectDatasetError(() => walk([withMeta], options()), 'group 0002 first');
    expectDatasetError(
      () => walk([Buffer.concat([el(0x00020000, 'UL', u32(10, true))])], options()),
      'group length',
    );
    const implicit = Buffer.concat([
      el(0x00020002, '', uid(CT_CLASS), IMPLICIT_LE),
      el(0x00080016, '', uid(CT_CLASS), IMPLICIT_LE),
    ]);
    expectDatasetError(
      () => walk([implicit], options({ explicitVr: false })),
      'implicit group 0002',
    );
  });

  it('throws DatasetError on a key element that appears twice at the top level, however fed', () => {
    const twice = Buffer.concat([
      el(0x00080016, 'UI', uid(CT_CLASS)),
      el(SOP_INSTANCE_UID, 'UI', uid('1.2.3.4.5')),
      el(SOP_INSTANCE_UID, 'UI', uid(SOP)),
      el(0x0020000d, 'UI', uid(STUDY)),
    ]);
    for (const chunks of [[twice], [...twice].map((byte) => Buffer.from([byte]))]) {
      expect(() => walk(chunks, options())).toThrow(/\(0008,0018\) appears twice/);
    }
    // Once each, fed byte by byte (a step retried for lack of bytes is not a second time).
    const once = Buffer.concat([
      el(0x00080016, 'UI', uid(CT_CLASS)),
      el(SOP_INSTANCE_UID, 'UI', uid(SOP)),
      el(0x0020000d, 'UI', uid(STUDY)),
    ]);
    const walked = walk(
      [...once].map((byte) => Buffer.from([byte])),
      options(),
    );
    expect(walked.values.get(SOP_INSTANCE_UID)?.equals(uid(SOP))).toBe(true);
  });

  it('throws DatasetError on an invalid VR', () => {
    for (const vr of ['\0\0', 'ab', '1A', 'U ', '\xff\xff']) {
      const bad = Buffer.concat([
        el(0x00080016, 'UI', uid(CT_CLASS)),
        tag(0x00080018, true),
        Buffer.from(vr, 'latin1'),
        u16(4, true),
        Buffer.from('1.23'),
      ]);
      expectDatasetError(() => walk([bad], options()), JSON.stringify(vr));
    }
    // Inside a sequence item too.
    const nested = undefinedSequence(0x00081140, 'SQ', [
      undefinedItem(
        Buffer.concat([tag(0x00081150, true), Buffer.from('u1'), u16(2, true), Buffer.from('12')]),
      ),
    ]);
    expectDatasetError(() => walk([nested], options()), 'invalid VR in an item');
  });

  it('throws DatasetError on malformed structure', () => {
    const cases: Array<[string, Buffer]> = [
      [
        'undefined length on a UT element',
        Buffer.concat([header(0x00081030, 'UT', UNDEFINED, EXPLICIT_LE), Buffer.alloc(8)]),
      ],
      [
        'item delimiter at the top level',
        Buffer.concat([el(0x00080016, 'UI', uid(CT_CLASS)), tag(0xfffee00d, true), u32(0, true)]),
      ],
      [
        'sequence delimiter at the top level',
        Buffer.concat([el(0x00080016, 'UI', uid(CT_CLASS)), tag(0xfffee0dd, true), u32(0, true)]),
      ],
      ['item at the top level', Buffer.concat([tag(0xfffee000, true), u32(0, true)])],
      [
        'an element instead of an item in a sequence',
        undefinedSequence(0x00081140, 'SQ', [el(0x00081150, 'UI', uid(CT_CLASS))]),
      ],
      [
        'an element running past its defined-length item',
        undefinedSequence(0x00081140, 'SQ', [
          Buffer.concat([
            tag(0xfffee000, true),
            u32(10, true),
            el(0x00081150, 'UI', uid(CT_CLASS)),
          ]),
        ]),
      ],
      [
        'a sequence delimiter in a defined-length item of an undefined sequence',
        undefinedSequence(0x00081140, 'SQ', [
          Buffer.concat([tag(0xfffee000, true), u32(8, true), tag(0xfffee0dd, true), u32(0, true)]),
        ]),
      ],
      [
        'an encapsulated fragment of undefined length',
        undefinedSequence(0x7fe00010, 'OB', [undefinedItem(Buffer.alloc(4))]),
      ],
      ['an empty dataset', Buffer.alloc(0)],
    ];
    for (const [name, data] of cases) expectDatasetError(() => walk([data], options()), name);
  });

  it('leaves pixel data, what follows it, and oversized elements out of the kept header', () => {
    const big = el(0x00091001, 'OB', Buffer.alloc(300, 7));
    const parts = [
      el(0x00080016, 'UI', uid(CT_CLASS)),
      el(SOP_INSTANCE_UID, 'UI', uid(SOP)),
      big,
      el(0x0020000d, 'UI', uid(STUDY)),
      el(0x7fe00010, 'OW', Buffer.alloc(64)),
      el(0xfffcfffc, 'OB', Buffer.alloc(4)),
    ];
    const data = Buffer.concat(parts);
    const result = walk([data], options({ maxKeptElementBytes: 256 }));
    expect(result.header.equals(Buffer.concat([parts[0]!, parts[1]!, parts[3]!]))).toBe(true);
    expect(result.length).toBe(data.length);
  });

  it('stops growing the kept header at maxHeaderBytes, keeping whole elements only', () => {
    const data = Buffer.concat(elements);
    for (const max of [0, 20, 60, 100, 200, 400]) {
      const result = walk([data], options({ maxHeaderBytes: max }));
      expect(result.header.length, `max ${max}`).toBeLessThanOrEqual(max);
      // A prefix made of whole top-level elements.
      expect(data.subarray(0, result.header.length).equals(result.header), `max ${max}`).toBe(true);
      expect(
        result.header.length === 0 || boundaries(elements).has(result.header.length),
        `max ${max}: whole elements`,
      ).toBe(true);
      expect(stripUid(result.values.get(0x0020000d)), 'values are captured regardless').toBe(STUDY);
      sameResult(result, walk(randomChunks(data, max + 1, 9), options({ maxHeaderBytes: max })));
    }
  });

  it('does not capture values over 1 KiB, nor values nested in items', () => {
    const long = `1.${'2'.repeat(1100)}`;
    const data = Buffer.concat([
      el(0x00080016, 'UI', uid(long)),
      undefinedSequence(0x00081140, 'SQ', [undefinedItem(el(0x0020000d, 'UI', uid(STUDY)))]),
      el(0x0020000e, 'UI', uid(SERIES)),
    ]);
    const result = walk([data], options());
    expect(result.values.has(0x00080016)).toBe(false);
    expect(result.values.has(0x0020000d)).toBe(false);
    expect(stripUid(result.values.get(0x0020000e))).toBe(SERIES);
  });
});
