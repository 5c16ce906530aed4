import { describe, expect, it } from 'vitest';
import { ElementTreeError, readElementTree } from '../../../src/dicom/element-tree.js';
import { reencodeDataset, writeElementTree } from '../../../src/dicom/reencode.js';
import { TransferSyntax } from '../../../src/dicom/transfer-syntax.js';
import { element, str } from '../../helpers/synthetic-image.js';

const EXPLICIT = TransferSyntax.ExplicitVrLittleEndian;
const IMPLICIT = TransferSyntax.ImplicitVrLittleEndian;
const BIG = TransferSyntax.ExplicitVrBigEndian;

/** An Implicit VR Little Endian element. */
function implicit(tag: number, value: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  header.writeUInt32LE(value.length, 4);
  return Buffer.concat([header, value]);
}

/** An Explicit VR Big Endian element with a short length field. */
function big(tag: number, vr: string, value: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16BE(tag >>> 16, 0);
  header.writeUInt16BE(tag & 0xffff, 2);
  header.write(vr, 4, 'latin1');
  header.writeUInt16BE(value.length, 6);
  return Buffer.concat([header, value]);
}

describe('re-encoding', () => {
  it('swaps the byte order of Big Endian numbers and leaves text and OB bytes alone', () => {
    const us = Buffer.from([0x01, 0x02]);
    const ul = Buffer.from([0x01, 0x02, 0x03, 0x04]);
    const at = Buffer.from([0x00, 0x28, 0x00, 0x10]);
    const dataset = Buffer.concat([
      big(0x00081030, 'LO', str('Knee')),
      big(0x00200011, 'IS', str('12')),
      big(0x00280010, 'US', us),
      big(0x00209165, 'AT', at),
      big(0x00540500, 'UL', ul),
    ]);
    expect(reencodeDataset(dataset, BIG, EXPLICIT)).toEqual(
      Buffer.concat([
        element(0x00081030, 'LO', str('Knee')),
        element(0x00200011, 'IS', str('12')),
        element(0x00280010, 'US', Buffer.from([0x02, 0x01])),
        element(0x00209165, 'AT', Buffer.from([0x28, 0x00, 0x10, 0x00])),
        element(0x00540500, 'UL', Buffer.from([0x04, 0x03, 0x02, 0x01])),
      ]),
    );
  });

  it('recomputes group lengths for the new element headers', () => {
    const groupLength = Buffer.alloc(4);
    groupLength.writeUInt32LE(999, 0);
    const dataset = Buffer.concat([
      implicit(0x00080000, groupLength),
      implicit(0x00080060, str('CT')),
      implicit(0x00081030, str('Knee')),
    ]);
    const out = reencodeDataset(dataset, IMPLICIT, EXPLICIT);
    // (0008,0060) CS and (0008,1030) LO: 8-byte headers and 2 + 4 bytes of values.
    expect(out.readUInt32LE(8)).toBe(8 + 2 + 8 + 4);
    expect(out.subarray(0, 8).toString('latin1', 4, 6)).toBe('UL');
  });

  it('writes a value too long for its 2-byte length field as UN', () => {
    const long = Buffer.alloc(70_000, 0x41);
    const out = reencodeDataset(implicit(0x00081030, long), IMPLICIT, EXPLICIT);
    expect(out.toString('latin1', 4, 6)).toBe('UN');
    expect(out.readUInt32LE(8)).toBe(70_000);
    expect(out.subarray(12).equals(long)).toBe(true);
  });

  it('puts, replaces and leaves out top-level elements in tag order', () => {
    const dataset = Buffer.concat([
      element(0x00080060, 'CS', str('CT')),
      element(0x00280004, 'CS', str('YBR_FULL')),
      element(0x7fe00001, 'OB', Buffer.alloc(8)),
    ]);
    const elements = readElementTree(dataset, { explicitVr: true, littleEndian: true });
    const out = writeElementTree(elements, {
      source: { explicitVr: true, littleEndian: true },
      explicitOut: true,
      overrides: new Map([
        [0x00280004, { vr: 'CS', value: str('RGB') }],
        [0x00280006, { vr: 'US', value: Buffer.from([0, 0]) }],
        [0x00080008, { vr: 'CS', value: str('DERIVED') }],
        [0x7fe00001, null],
      ]),
    });
    expect(out).toEqual(
      Buffer.concat([
        element(0x00080008, 'CS', str('DERIVED')),
        element(0x00080060, 'CS', str('CT')),
        element(0x00280004, 'CS', str('RGB')),
        element(0x00280006, 'US', Buffer.from([0, 0])),
      ]),
    );
  });

  it('refuses what it cannot read, naming the byte, and encapsulated pixel data in Implicit VR', () => {
    const truncated = element(0x00081030, 'LO', str('Knee')).subarray(0, 10);
    expect(() => reencodeDataset(truncated, EXPLICIT, IMPLICIT)).toThrow(ElementTreeError);
    expect(() => reencodeDataset(truncated, EXPLICIT, IMPLICIT)).toThrow(/at byte 8/);
    const fragments = Buffer.from([
      ...[0xfe, 0xff, 0x00, 0xe0, 0, 0, 0, 0],
      ...[0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0],
    ]);
    const header = Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    expect(() => reencodeDataset(Buffer.concat([header, fragments]), EXPLICIT, IMPLICIT)).toThrow(
      /encapsulated pixel data cannot be written in Implicit VR/,
    );
    expect(() => reencodeDataset(Buffer.alloc(4), EXPLICIT, TransferSyntax.JpegBaseline)).toThrow(
      /cannot re-encode into/,
    );
  });
});
