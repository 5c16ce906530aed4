import { describe, expect, it } from 'vitest';
import { PreviewError, renderPreview } from '../../../src/preview/render.js';
import { bandLevels, bands, decodeJpeg, syntheticImage } from '../../helpers/synthetic-image.js';

/** PS3.3 C.11.2.1.2.1: the linear VOI function, to 8 bits. */
function linear(x: number, center: number, width: number): number {
  if (x <= center - 0.5 - (width - 1) / 2) return 0;
  if (x > center - 0.5 + (width - 1) / 2) return 255;
  return ((x - (center - 0.5)) / (width - 1) + 0.5) * 255;
}

async function levels(file: Buffer, count: number): Promise<number[]> {
  const preview = await renderPreview(file, { quality: 100 });
  return bandLevels(await decodeJpeg(preview.jpeg), count);
}

describe('renderPreview windowing', () => {
  it('maps a 16-bit image through the declared window: below 0, centre ~128, above 255', async () => {
    const window = { center: 1000, width: 400 };
    const values = [0, 700, 1000, 1100, 1300, 4000];
    const file = syntheticImage({ ...bands(values), window });
    const got = await levels(file, values.length);
    const want = values.map((v) => linear(v, window.center, window.width));
    expect(want[2]).toBeCloseTo(128, 0);
    got.forEach((level, i) => expect(Math.abs(level - (want[i] as number))).toBeLessThanOrEqual(3));
    expect(got[0]).toBe(0);
    expect(got[5]).toBe(255);
  });

  it('applies RescaleSlope and RescaleIntercept before the window (CT Hounsfield units)', async () => {
    // stored 512 → 2·512 − 1024 = 0 HU at the window centre; 612 → 200 HU.
    const file = syntheticImage({
      ...bands([0, 512, 612, 2000]),
      rescale: { slope: 2, intercept: -1024 },
      window: { center: 0, width: 800 },
    });
    const got = await levels(file, 4);
    const want = [-1024, 0, 200, 2976].map((hu) => linear(hu, 0, 800));
    got.forEach((level, i) => expect(Math.abs(level - (want[i] as number))).toBeLessThanOrEqual(3));
  });

  it('uses only the first of several windows', async () => {
    // The second window would make 200 black.
    const file = syntheticImage({
      ...bands([100, 200, 300]),
      window: { center: '200\\900', width: '200\\100' },
    });
    const preview = await renderPreview(file, { quality: 100 });
    expect(preview.window).toEqual({ center: 200, width: 200 });
  });

  it('without a window, spans the minimum to the maximum of the pixel data', async () => {
    const file = syntheticImage(bands([-300, 200, 700], 16));
    const signed = syntheticImage({ ...bands([-300, 200, 700]), signed: true });
    const preview = await renderPreview(signed, { quality: 100 });
    expect(preview.window).toEqual({ center: 200, width: 1000 });
    const got = bandLevels(await decodeJpeg(preview.jpeg), 3);
    expect(got[0]).toBeLessThanOrEqual(3);
    expect(Math.abs((got[1] as number) - 128)).toBeLessThanOrEqual(3);
    expect(got[2]).toBeGreaterThanOrEqual(252);
    // Read as unsigned, −300 is 65236: the brightest, so the order of the bands changes.
    const unsigned = bandLevels(await decodeJpeg((await renderPreview(file)).jpeg), 3);
    expect(unsigned[0]).toBeGreaterThan(unsigned[2] as number);
  });

  it('inverts MONOCHROME1', async () => {
    const values = [0, 1000, 4000];
    const window = { center: 1000, width: 400 };
    const mono2 = await levels(syntheticImage({ ...bands(values), window }), 3);
    const mono1 = await levels(
      syntheticImage({ ...bands(values), window, photometric: 'MONOCHROME1' }),
      3,
    );
    expect(mono2[0]).toBe(0);
    expect(mono1[0]).toBe(255);
    expect(mono1[2]).toBe(0);
    mono1.forEach((level, i) =>
      expect(Math.abs(level + (mono2[i] as number) - 255)).toBeLessThanOrEqual(3),
    );
  });

  it('renders 8-bit grey without a window over its full range', async () => {
    const file = syntheticImage({ ...bands([10, 60, 110]), bitsAllocated: 8 });
    const got = await levels(file, 3);
    expect(got[0]).toBeLessThanOrEqual(3);
    expect(got[2]).toBeGreaterThanOrEqual(252);
  });
});

describe('renderPreview colour and frames', () => {
  const red = [255, 0, 0];
  const blue = [0, 0, 255];

  function rgbImage(planar: 0 | 1): Buffer {
    // 16 × 32: left half red, right half blue.
    const rows = 16;
    const columns = 32;
    const colour = (x: number) => (x < 16 ? red : blue);
    const pixels: number[] = [];
    if (planar === 0) {
      for (let y = 0; y < rows; y++) for (let x = 0; x < columns; x++) pixels.push(...colour(x));
    } else {
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < rows; y++)
          for (let x = 0; x < columns; x++) pixels.push(colour(x)[c] as number);
    }
    return syntheticImage({
      rows,
      columns,
      pixels,
      bitsAllocated: 8,
      samplesPerPixel: 3,
      photometric: 'RGB',
      planarConfiguration: planar,
    });
  }

  it.each([0, 1] as const)('passes RGB through with PlanarConfiguration %i', async (planar) => {
    const preview = await renderPreview(rgbImage(planar), { quality: 100 });
    const decoded = await decodeJpeg(preview.jpeg);
    expect(decoded.channels).toBe(3);
    const at = (x: number) => [...decoded.data.subarray((8 * 32 + x) * 3, (8 * 32 + x) * 3 + 3)];
    at(4).forEach((v, c) => expect(Math.abs(v - (red[c] as number))).toBeLessThanOrEqual(8));
    at(28).forEach((v, c) => expect(Math.abs(v - (blue[c] as number))).toBeLessThanOrEqual(8));
  });

  it('renders the middle frame of a multi-frame image unless told otherwise', async () => {
    // Three 16 × 16 frames of constant 0, 500 and 1000.
    const pixels = [0, 500, 1000].flatMap((v) => Array<number>(256).fill(v));
    const file = syntheticImage({
      rows: 16,
      columns: 16,
      pixels,
      frames: 3,
      window: { center: 500, width: 1000 },
    });
    const middle = await renderPreview(file, { quality: 100 });
    expect(middle).toMatchObject({ frame: 1, frames: 3 });
    expect(Math.abs(((await decodeJpeg(middle.jpeg)).data[0] as number) - 128)).toBeLessThanOrEqual(
      3,
    );
    const last = await renderPreview(file, { frame: 2 });
    expect((await decodeJpeg(last.jpeg)).data[0]).toBe(255);
    await expect(renderPreview(file, { frame: 3 })).rejects.toThrow(RangeError);
  });
});

describe('renderPreview sizes, options and errors', () => {
  it('fits the longest side into maxSize keeping the aspect ratio and never enlarges', async () => {
    const file = syntheticImage(bands([0, 100, 200, 300], 64)); // 256 × 16
    expect(await renderPreview(file, { maxSize: 64 })).toMatchObject({ width: 64, height: 4 });
    expect(await renderPreview(file)).toMatchObject({ width: 256, height: 16 });
  });

  it.each([
    ['maxSize', { maxSize: 0 }],
    ['maxSize', { maxSize: 1.5 }],
    ['quality', { quality: 101 }],
  ])('refuses an invalid %s naming it', async (name, options) => {
    const file = syntheticImage(bands([0, 1]));
    await expect(renderPreview(file, options)).rejects.toThrow(new RegExp(`^${name} must be`));
  });

  it('refuses bytes that are not a PS3.10 file with reason not-dicom', async () => {
    const error = await renderPreview(Buffer.from('hello')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreviewError);
    expect(error).toMatchObject({ name: 'PreviewError', reason: 'not-dicom' });
  });

  it('refuses an unsupported photometric interpretation', async () => {
    const file = syntheticImage({ ...bands([0, 1]), photometric: 'HSV' });
    await expect(renderPreview(file)).rejects.toMatchObject({ reason: 'unsupported-photometric' });
  });

  it('reports pixel data shorter than declared as a decode failure', async () => {
    const file = syntheticImage(bands([0, 1]));
    // Declare 64 rows for 16 rows of pixels.
    const rowsAt = file.indexOf(Buffer.from([0x28, 0x00, 0x10, 0x00, 0x55, 0x53]));
    file.writeUInt16LE(64, rowsAt + 8);
    const result = await renderPreview(file).catch((e: unknown) => e);
    expect(result).toMatchObject({ reason: 'decode-failed' });
  });
});
