import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeFileMeta, parseFileMeta } from '../../../src/dicom/file-meta.js';
import {
  IMPLEMENTATION_CLASS_UID,
  IMPLEMENTATION_VERSION_NAME,
} from '../../../src/dimse/implementation.js';
import { SAMPLES_DIR } from '../../helpers/samples.js';

const CT = '1.2.840.10008.5.1.4.1.1.2'; // 25: odd
const SOP_EVEN_LENGTH = '1.2.826.0.1.3680043.10.1.7'; // 26: even
const SOP_ODD_LENGTH = '1.2.826.0.1.3680043.10.1.77'; // 27: odd
const EXPLICIT = '1.2.840.10008.1.2.1'; // 19: odd
const JPEG_LS = '1.2.840.10008.1.2.4.80'; // 22: even

/** The elements of an encoded meta group: [element number, VR, value bytes]. */
function metaElements(file: Buffer): Array<[number, string, Buffer]> {
  const out: Array<[number, string, Buffer]> = [];
  let offset = 132;
  while (offset + 8 <= file.length && file.readUInt16LE(offset) === 0x0002) {
    const vr = file.toString('latin1', offset + 4, offset + 6);
    const long = vr === 'OB';
    const length = long ? file.readUInt32LE(offset + 8) : file.readUInt16LE(offset + 6);
    const start = offset + (long ? 12 : 8);
    if (long) expect(file.readUInt16LE(offset + 6)).toBe(0);
    out.push([file.readUInt16LE(offset + 2), vr, file.subarray(start, start + length)]);
    offset = start + length;
  }
  return out;
}

describe('file meta information', () => {
  it('round-trips through encodeFileMeta and parseFileMeta', () => {
    for (const fields of [
      {
        sopClassUid: CT,
        sopInstanceUid: SOP_EVEN_LENGTH,
        transferSyntaxUid: EXPLICIT,
        sourceAeTitle: 'GDCMSCU',
      },
      {
        sopClassUid: CT,
        sopInstanceUid: SOP_ODD_LENGTH,
        transferSyntaxUid: JPEG_LS,
        sourceAeTitle: 'STORESCU',
      },
      { sopClassUid: CT, sopInstanceUid: SOP_ODD_LENGTH, transferSyntaxUid: JPEG_LS },
    ]) {
      const meta = encodeFileMeta(fields);
      const parsed = parseFileMeta(meta);
      expect(parsed).toEqual({
        sopClassUid: CT,
        sopInstanceUid: fields.sopInstanceUid,
        transferSyntaxUid: fields.transferSyntaxUid,
        sourceAeTitle: fields.sourceAeTitle,
        datasetOffset: meta.length,
      });
    }
  });

  it('writes the preamble, DICM, a correct group length, version 00\\01 and the implementation', () => {
    const meta = encodeFileMeta({
      sopClassUid: CT,
      sopInstanceUid: SOP_ODD_LENGTH,
      transferSyntaxUid: EXPLICIT,
      sourceAeTitle: 'DCMJS',
    });
    expect(meta.subarray(0, 128).equals(Buffer.alloc(128))).toBe(true);
    expect(meta.toString('latin1', 128, 132)).toBe('DICM');
    const elements = metaElements(meta);
    expect(elements.map(([element, vr]) => [element, vr])).toEqual([
      [0x0000, 'UL'],
      [0x0001, 'OB'],
      [0x0002, 'UI'],
      [0x0003, 'UI'],
      [0x0010, 'UI'],
      [0x0012, 'UI'],
      [0x0013, 'SH'],
      [0x0016, 'AE'],
    ]);
    // Group length: the bytes after the group length element up to the end of the group.
    expect(elements[0]![2].readUInt32LE(0)).toBe(meta.length - (132 + 12));
    expect(elements[1]![2]).toEqual(Buffer.from([0x00, 0x01]));
    expect(elements[5]![2].toString('latin1').replace(/\0$/, '')).toBe(IMPLEMENTATION_CLASS_UID);
    expect(elements[6]![2].toString('latin1').trimEnd()).toBe(IMPLEMENTATION_VERSION_NAME);
  });

  it('pads odd-length values to even length: UIDs with NUL, AE and SH with a space', () => {
    const meta = encodeFileMeta({
      sopClassUid: CT,
      sopInstanceUid: SOP_ODD_LENGTH,
      transferSyntaxUid: EXPLICIT,
      sourceAeTitle: 'GDCMSCU',
    });
    const byElement = new Map(metaElements(meta).map(([element, , value]) => [element, value]));
    for (const [element, value] of byElement)
      expect(value.length % 2, `(0002,${element.toString(16)})`).toBe(0);
    expect(byElement.get(0x0002)!.toString('latin1')).toBe(`${CT}\0`);
    expect(byElement.get(0x0003)!.toString('latin1')).toBe(`${SOP_ODD_LENGTH}\0`);
    expect(byElement.get(0x0010)!.toString('latin1')).toBe(`${EXPLICIT}\0`);
    expect(byElement.get(0x0016)!.toString('latin1')).toBe('GDCMSCU ');
    const even = new Map(
      metaElements(
        encodeFileMeta({
          sopClassUid: CT,
          sopInstanceUid: SOP_EVEN_LENGTH,
          transferSyntaxUid: JPEG_LS,
          sourceAeTitle: 'ECHOSCU1',
        }),
      ).map(([element, , value]) => [element, value]),
    );
    expect(even.get(0x0003)!.toString('latin1')).toBe(SOP_EVEN_LENGTH);
    expect(even.get(0x0010)!.toString('latin1')).toBe(JPEG_LS);
    expect(even.get(0x0016)!.toString('latin1')).toBe('ECHOSCU1');
  });

  it('throws on a file without the DICM prefix, a truncated meta group, or no transfer syntax', () => {
    expect(() => parseFileMeta(readFileSync(join(SAMPLES_DIR, 'bad/no_meta.dcm')))).toThrow(/DICM/);
    expect(() => parseFileMeta(Buffer.alloc(100))).toThrow(/DICM/);
    const meta = encodeFileMeta({
      sopClassUid: CT,
      sopInstanceUid: SOP_ODD_LENGTH,
      transferSyntaxUid: EXPLICIT,
    });
    expect(() => parseFileMeta(meta.subarray(0, meta.length - 3))).toThrow(/truncated/);
    // Cut inside the 12-byte header of (0002,0001), an OB element after the group length.
    expect(meta.toString('latin1', 148, 150)).toBe('OB');
    for (const cut of [152, 155]) {
      expect(() => parseFileMeta(meta.subarray(0, cut))).toThrow(/truncated/);
    }
    // A meta group with only the SOP Class UID element.
    const classOnly = Buffer.concat([
      meta.subarray(0, 132),
      Buffer.from([0x02, 0x00, 0x02, 0x00, 0x55, 0x49, 0x04, 0x00]),
      Buffer.from('1.23'),
      Buffer.alloc(8),
    ]);
    expect(() => parseFileMeta(classOnly)).toThrow(/TransferSyntaxUID/);
  });
});
