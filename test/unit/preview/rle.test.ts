import { describe, expect, it } from 'vitest';
import { RleDecodeError, decodeRleFrame } from '../../../src/preview/rle.js';

/** An RLE frame (PS3.5 Annex G) from segments already PackBits-encoded. */
function rleFrame(segments: number[][]): Uint8Array {
  const header = Buffer.alloc(64);
  header.writeUInt32LE(segments.length, 0);
  let offset = 64;
  segments.forEach((segment, i) => {
    header.writeUInt32LE(offset, 4 + 4 * i);
    offset += segment.length;
  });
  return new Uint8Array(Buffer.concat([header, ...segments.map((s) => Buffer.from(s))]));
}

describe('decodeRleFrame', () => {
  it('interleaves colour planes by pixel (literal and replicate runs)', () => {
    // 2 × 2 RGB: R = 10,20,30,40 (literal run); G = 7 × 4 (replicate run); B = 1,2 then 9,9.
    const frame = rleFrame([
      [3, 10, 20, 30, 40],
      [-3 & 0xff, 7],
      [1, 1, 2, -1 & 0xff, 9],
    ]);
    const out = decodeRleFrame(frame, {
      rows: 2,
      columns: 2,
      samplesPerPixel: 3,
      bitsAllocated: 8,
    });
    expect([...out]).toEqual([10, 7, 1, 20, 7, 2, 30, 7, 9, 40, 7, 9]);
  });

  it('puts the most significant byte segment first and writes little endian', () => {
    // Two 16-bit pixels 0x0102, 0xFF03: high bytes 01 FF, low bytes 02 03.
    const frame = rleFrame([
      [1, 0x01, 0xff],
      [1, 0x02, 0x03],
    ]);
    const out = decodeRleFrame(frame, {
      rows: 1,
      columns: 2,
      samplesPerPixel: 1,
      bitsAllocated: 16,
    });
    const view = new DataView(out.buffer);
    expect([view.getUint16(0, true), view.getUint16(2, true)]).toEqual([0x0102, 0xff03]);
  });

  it('refuses a segment count that does not match the layout', () => {
    const frame = rleFrame([[3, 1, 2, 3, 4]]);
    expect(() =>
      decodeRleFrame(frame, { rows: 2, columns: 2, samplesPerPixel: 3, bitsAllocated: 8 }),
    ).toThrow(RleDecodeError);
  });

  it('refuses a segment shorter than the frame', () => {
    const frame = rleFrame([[1, 5, 6]]);
    expect(() =>
      decodeRleFrame(frame, { rows: 2, columns: 2, samplesPerPixel: 1, bitsAllocated: 8 }),
    ).toThrow(/shorter than 4 bytes/);
  });

  it('refuses a frame without the 64-byte header', () => {
    expect(() =>
      decodeRleFrame(new Uint8Array(10), {
        rows: 1,
        columns: 1,
        samplesPerPixel: 1,
        bitsAllocated: 8,
      }),
    ).toThrow(/header/);
  });
});
