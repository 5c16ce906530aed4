/**
 * What an image's header must promise before its pixel data is decoded for a preview: stored
 * instances are kept as received, so their attributes may declare what no decode should attempt.
 */
import { PreviewError } from './preview-error.js';

export function firstString(value: unknown): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined || first === null) return undefined;
  const text = String(first).trim();
  return text === '' ? undefined : text;
}

export function integerElement(
  elements: Record<string, unknown>,
  keyword: string,
  fallback?: number,
): number {
  const text = firstString(elements[keyword]);
  if (text === undefined && fallback !== undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new PreviewError(
      'decode-failed',
      `${keyword} ${JSON.stringify(text ?? null)} is not a positive integer`,
    );
  }
  return value;
}

/** Largest frame rendered, in pixels (8192 × 4096): the largest mammograms have about two thirds of it. */
export const MAX_FRAME_PIXELS = 8192 * 4096;

/**
 * Refuse, before anything is decoded, what the header declares but no preview should cost:
 * frames over MAX_FRAME_PIXELS (a decoder allocates for the declared size, whatever the data
 * holds), and grey images whose BitsStored is 17 to 31, for which the renderer builds a lookup
 * table of 2^BitsStored entries (at 31 it exhausts the heap and V8 ends the process).
 */
export function checkGeometry(elements: Record<string, unknown>, grey: boolean): void {
  const rows = integerElement(elements, 'Rows');
  const columns = integerElement(elements, 'Columns');
  if (rows * columns > MAX_FRAME_PIXELS)
    throw new PreviewError(
      'unsupported-geometry',
      `frames of ${columns}×${rows} pixels are larger than the ${MAX_FRAME_PIXELS} pixels previewed`,
    );
  const allocated = integerElement(elements, 'BitsAllocated');
  const stored = integerElement(elements, 'BitsStored', allocated);
  if (![1, 8, 16, 32].includes(allocated) || stored > allocated)
    throw new PreviewError(
      'unsupported-geometry',
      `BitsAllocated ${allocated} with BitsStored ${stored} is not a pixel layout previewed`,
    );
  if (grey && stored > 16 && stored < 32)
    throw new PreviewError(
      'unsupported-geometry',
      `grey images with BitsStored ${stored} are not previewed (16 or 32 at most)`,
    );
}

/**
 * dcmjs pads truncated pixel data with zeros and the renderer reads past the end silently, so
 * a short native PixelData would become a plausible but wrong preview.
 */
export function checkNativeLength(elements: Record<string, unknown>, frames: number): void {
  const data = elements.PixelData;
  const buffers = (Array.isArray(data) ? data : [data]) as unknown[];
  const present = buffers.reduce<number>(
    (sum, part) => sum + (part instanceof ArrayBuffer ? part.byteLength : 0),
    0,
  );
  const bits = integerElement(elements, 'BitsAllocated');
  const samples =
    integerElement(elements, 'Rows') *
    integerElement(elements, 'Columns') *
    integerElement(elements, 'SamplesPerPixel', 1) *
    frames;
  const needed = Math.ceil((samples * bits) / 8);
  if (present < needed) {
    throw new PreviewError(
      'decode-failed',
      `PixelData holds ${present} bytes, ${needed} declared by the image attributes`,
    );
  }
}
