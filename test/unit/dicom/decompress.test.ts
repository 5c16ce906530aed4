import { describe, expect, it } from 'vitest';
import { DecompressError, decompressDataset } from '../../../src/dicom/decompress.js';
import { TransferSyntax } from '../../../src/dicom/transfer-syntax.js';
import { element, str } from '../../helpers/synthetic-image.js';

function us(value: number): Buffer {
  return Buffer.from([value & 0xff, value >> 8]);
}

/** Encapsulated Pixel Data: an empty Basic Offset Table and the fragments. */
function encapsulated(...fragments: Buffer[]): Buffer {
  const item = (value: Buffer): Buffer => {
    const header = Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0, 0, 0, 0]);
    header.writeUInt32LE(value.length, 4);
    return Buffer.concat([header, value]);
  };
  const header = Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0, 0xff, 0xff, 0xff, 0xff]);
  return Buffer.concat([
    header,
    item(Buffer.alloc(0)),
    ...fragments.map(item),
    Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]),
  ]);
}

/** One RLE frame of 2×1 8-bit grey pixels: a literal run of two bytes. */
const RLE_FRAME = (() => {
  const frame = Buffer.alloc(64 + 4);
  frame.writeUInt32LE(1, 0);
  frame.writeUInt32LE(64, 4);
  frame.set([1, 10, 20, 0x80], 64);
  return frame;
})();

function image(extra: Buffer[] = [], samples = 1, photometric = 'MONOCHROME2'): Buffer {
  return Buffer.concat([
    element(0x00280002, 'US', us(samples)),
    element(0x00280004, 'CS', str(photometric)),
    element(0x00280010, 'US', us(1)),
    element(0x00280011, 'US', us(2)),
    element(0x00280100, 'US', us(8)),
    element(0x00280101, 'US', us(8)),
    element(0x00280103, 'US', us(0)),
    ...extra,
    encapsulated(RLE_FRAME),
  ]);
}

describe('decompression', () => {
  it('writes the frames as native OW pixel data of even length', async () => {
    const out = await decompressDataset(image(), TransferSyntax.Rle);
    const pixels = out.subarray(out.length - 2);
    expect([...pixels]).toEqual([10, 20]);
    expect(out.toString('latin1', out.length - 10, out.length - 8)).toBe('OW');
    expect(out.readUInt32LE(out.length - 6)).toBe(2);
  });

  it('refuses what it would leave encapsulated, and what the image attributes do not allow', async () => {
    const iconItem = Buffer.concat([
      Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]),
      encapsulated(RLE_FRAME),
      Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0]),
    ]);
    const icon = Buffer.concat([
      Buffer.from([0x88, 0x00, 0x00, 0x02, 0x53, 0x51, 0, 0, 0xff, 0xff, 0xff, 0xff]),
      iconItem,
      Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]),
    ]);
    // (0088,0200) sorts after the Image Pixel attributes and before Pixel Data.
    const nested = image([icon]);
    await expect(decompressDataset(nested, TransferSyntax.Rle)).rejects.toThrow(DecompressError);
    await expect(decompressDataset(nested, TransferSyntax.Rle)).rejects.toThrow(
      /sequence item holds encapsulated pixel data/,
    );
    const odd = image([], 4, 'CMYK');
    await expect(decompressDataset(odd, TransferSyntax.Rle)).rejects.toThrow(
      /SamplesPerPixel 4 is not decompressed/,
    );
    const noPixels = Buffer.concat([element(0x00280010, 'US', us(1))]);
    await expect(decompressDataset(noPixels, TransferSyntax.Rle)).rejects.toThrow(
      /no encapsulated pixel data/,
    );
  });
});
