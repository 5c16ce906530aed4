/**
 * RLE Lossless (PS3.5 Annex G) decoding into native little-endian, pixel-interleaved frames.
 *
 * dcmjs-imaging 0.2.5 decodes grey-scale RLE correctly but mixes up the colour planes of RGB
 * RLE frames (red stripes come out yellow or grey), so the bridge decodes RLE itself: the
 * format is small and fully specified, and decoding it here gives one code path for every RLE
 * image.
 */

/** Thrown for a fragment that does not follow PS3.5 Annex G. */
export class RleDecodeError extends Error {
  override readonly name = 'RleDecodeError';
}

export interface RleFrameLayout {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
}

/**
 * Decodes one RLE frame (the bytes of its fragments joined) into `rows × columns ×
 * samplesPerPixel` samples of `bitsAllocated / 8` bytes each, little endian, interleaved by
 * pixel (PlanarConfiguration 0).
 */
export function decodeRleFrame(frame: Uint8Array, layout: RleFrameLayout): Uint8Array {
  const { rows, columns, samplesPerPixel, bitsAllocated } = layout;
  if (bitsAllocated % 8 !== 0 || bitsAllocated < 8 || bitsAllocated > 32) {
    throw new RleDecodeError(`BitsAllocated ${bitsAllocated} is not supported for RLE`);
  }
  if (frame.length < 64) throw new RleDecodeError('the RLE header is missing');
  const bytesPerSample = bitsAllocated / 8;
  const pixels = rows * columns;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segments = view.getUint32(0, true);
  const expected = samplesPerPixel * bytesPerSample;
  if (segments !== expected) {
    throw new RleDecodeError(`the RLE header declares ${segments} segments, expected ${expected}`);
  }
  const out = new Uint8Array(pixels * expected);
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : frame.length;
    if (start < 64 || end > frame.length || end < start) {
      throw new RleDecodeError(`RLE segment ${s + 1} has invalid offsets ${start}–${end}`);
    }
    // Segments go sample by sample, most significant byte first (Annex G.2).
    const sample = Math.floor(s / bytesPerSample);
    const byteInSample = bytesPerSample - 1 - (s % bytesPerSample);
    const stride = expected;
    let target = sample * bytesPerSample + byteInSample;
    const stop = target + pixels * stride;
    let i = start;
    while (i < end && target < stop) {
      const n = ((frame[i++] as number) << 24) >> 24;
      if (n >= 0) {
        for (let k = 0; k <= n && i < end && target < stop; k++, target += stride) {
          out[target] = frame[i++] as number;
        }
      } else if (n !== -128) {
        const value = frame[i++] as number;
        for (let k = 0; k < 1 - n && target < stop; k++, target += stride) out[target] = value;
      }
    }
    if (target < stop) {
      throw new RleDecodeError(`RLE segment ${s + 1} is shorter than ${pixels} bytes`);
    }
  }
  return out;
}
