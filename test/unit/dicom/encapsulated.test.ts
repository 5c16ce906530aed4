import { describe, expect, it } from 'vitest';
import { FramesError, framesOf } from '../../../src/dicom/encapsulated.js';

const JPEG = (n: number): Buffer => Buffer.from([0xff, 0xd8, 0xff, 0xe0, n]);
const MORE = (n: number): Buffer => Buffer.from([0x11, 0x22, n]);

function offsets(...values: number[]): Buffer {
  const table = Buffer.alloc(4 * values.length);
  values.forEach((value, i) => table.writeUInt32LE(value, 4 * i));
  return table;
}

describe('frames of encapsulated pixel data', () => {
  it('are all the fragments for one frame, and one fragment each when they are as many', () => {
    expect(framesOf([Buffer.alloc(0), JPEG(1), MORE(2)], 1)).toEqual([
      Buffer.concat([JPEG(1), MORE(2)]),
    ]);
    expect(framesOf([Buffer.alloc(0), MORE(1), MORE(2)], 2)).toEqual([MORE(1), MORE(2)]);
  });

  it('start where the Basic Offset Table says, counting 8 bytes of item header per fragment', () => {
    const fragments = [JPEG(1), MORE(2), JPEG(3), MORE(4), MORE(5)];
    // Frame 2 starts at the third fragment: 2 × 8 bytes of headers and 5 + 3 bytes of values.
    expect(framesOf([offsets(0, 24), ...fragments], 2)).toEqual([
      Buffer.concat([JPEG(1), MORE(2)]),
      Buffer.concat([JPEG(3), MORE(4), MORE(5)]),
    ]);
  });

  it('start at each codestream when the Basic Offset Table is empty', () => {
    expect(framesOf([Buffer.alloc(0), JPEG(1), MORE(2), JPEG(3), MORE(4), MORE(5)], 2)).toEqual([
      Buffer.concat([JPEG(1), MORE(2)]),
      Buffer.concat([JPEG(3), MORE(4), MORE(5)]),
    ]);
  });

  it('are refused when the fragments do not make the declared frames', () => {
    const cases: Array<[Buffer[], number, RegExp]> = [
      [[Buffer.alloc(0)], 1, /no fragment/],
      [[offsets(0), JPEG(1), MORE(2), MORE(3)], 2, /Basic Offset Table has 1 entries for 2/],
      [[offsets(0, 7), JPEG(1), MORE(2), MORE(3)], 2, /offset 2 .* is not at a fragment/],
      [[Buffer.alloc(0), JPEG(1), MORE(2), MORE(3)], 2, /3 fragments cannot be split into 2/],
      [[Buffer.alloc(0), MORE(1), JPEG(2), MORE(3)], 2, /cannot be split/],
    ];
    for (const [fragments, frames, message] of cases) {
      expect(() => framesOf(fragments, frames)).toThrow(FramesError);
      expect(() => framesOf(fragments, frames)).toThrow(message);
    }
  });
});
