import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { PreviewError, renderPreview } from '../../../src/preview/render.js';
import { SAMPLES_DIR } from '../../helpers/samples.js';
import { decodeJpeg } from '../../helpers/synthetic-image.js';

const sample = (path: string) => readFileSync(join(SAMPLES_DIR, path));

/** Every image sample, its transfer syntax and the preview size it must have. */
const IMAGES: [path: string, syntax: string, width: number, height: number, channels: 1 | 3][] = [
  ['single/CT_small.dcm', 'explicit LE', 128, 128, 1],
  ['generated/CT_small_jpeg_lossless_sv1.dcm', 'JPEG lossless SV1', 128, 128, 1],
  ['single/MR_small.dcm', 'explicit LE', 64, 64, 1],
  ['single/MR_small_implicit.dcm', 'implicit LE', 64, 64, 1],
  ['single/MR_small_bigendian.dcm', 'explicit BE', 64, 64, 1],
  ['single/MR_small_RLE.dcm', 'RLE', 64, 64, 1],
  ['single/MR_small_jpeg_ls_lossless.dcm', 'JPEG-LS lossless', 64, 64, 1],
  ['single/MR_small_jp2klossless.dcm', 'JPEG 2000 lossless', 64, 64, 1],
  ['generated/MR_small_jpeg_lossless_p14_sv6.dcm', 'JPEG lossless P14 SV6', 64, 64, 1],
  ['generated/CR_jpeg_ls_near_lossless.dcm', 'JPEG-LS near-lossless, MONOCHROME1', 16, 16, 1],
  ['generated/SC_gray8_jpeg_baseline.dcm', 'JPEG baseline 8-bit grey', 512, 512, 1],
  ['single/JPEG-lossy.dcm', 'JPEG extended 12-bit', 128, 512, 1],
  ['single/JPEG2000.dcm', 'JPEG 2000', 128, 512, 1],
  ['single/image_dfl.dcm', 'deflate', 512, 512, 1],
  ['single/ExplVR_BigEnd.dcm', 'explicit BE RGB', 80, 60, 3],
  ['single/SC_rgb_jpeg_dcmtk.dcm', 'JPEG baseline YBR_FULL', 100, 100, 3],
  ['single/SC_rgb_rle_2frame.dcm', 'RLE RGB 2 frames', 100, 100, 3],
];

async function pixels(jpeg: Buffer): Promise<Buffer> {
  return (await decodeJpeg(jpeg)).data;
}

function meanAbsoluteDifference(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] as number) - (b[i] as number));
  return sum / a.length;
}

function standardDeviation(data: Buffer): number {
  let sum = 0;
  for (const v of data) sum += v;
  const mean = sum / data.length;
  let squares = 0;
  for (const v of data) squares += (v - mean) ** 2;
  return Math.sqrt(squares / data.length);
}

describe('renderPreview on the real samples', () => {
  it.each(IMAGES)('%s (%s) renders a JPEG', async (path, _syntax, width, height, channels) => {
    const preview = await renderPreview(sample(path), { maxSize: 512 });
    const decoded = await decodeJpeg(preview.jpeg);
    expect(decoded).toMatchObject({ format: 'jpeg', width, height, channels });
    expect(preview).toMatchObject({ width, height });
    // Not a blank image: the window left some contrast.
    expect(standardDeviation(decoded.data)).toBeGreaterThan(5);
  });

  it('keeps the aspect ratio when shrinking a tall image', async () => {
    const preview = await renderPreview(sample('single/JPEG2000.dcm'), { maxSize: 128 });
    expect(preview).toMatchObject({ width: 32, height: 128 });
  });

  it('renders MR_small identically from every lossless transfer syntax', async () => {
    const reference = await pixels((await renderPreview(sample('single/MR_small.dcm'))).jpeg);
    for (const path of [
      'single/MR_small_implicit.dcm',
      'single/MR_small_bigendian.dcm',
      'single/MR_small_RLE.dcm',
      'single/MR_small_jpeg_ls_lossless.dcm',
      'single/MR_small_jp2klossless.dcm',
      'generated/MR_small_jpeg_lossless_p14_sv6.dcm',
    ]) {
      const other = await pixels((await renderPreview(sample(path))).jpeg);
      expect(meanAbsoluteDifference(reference, other), path).toBeLessThan(0.5);
    }
  });

  it('renders CT_small identically from JPEG lossless', async () => {
    const reference = await pixels((await renderPreview(sample('single/CT_small.dcm'))).jpeg);
    const other = await pixels(
      (await renderPreview(sample('generated/CT_small_jpeg_lossless_sv1.dcm'))).jpeg,
    );
    expect(meanAbsoluteDifference(reference, other)).toBeLessThan(0.5);
  });

  it('renders the 8-bit grey image close to its source from lossy JPEG baseline', async () => {
    const reference = await pixels((await renderPreview(sample('single/image_dfl.dcm'))).jpeg);
    const lossy = await pixels(
      (await renderPreview(sample('generated/SC_gray8_jpeg_baseline.dcm'))).jpeg,
    );
    const difference = meanAbsoluteDifference(reference, lossy);
    expect(difference).toBeGreaterThan(0);
    expect(difference).toBeLessThan(4);
  });

  it('decodes colour JPEG (YBR_FULL) and RLE RGB to the same colours', async () => {
    // Both come from the same RGB test pattern; frame 0 of the RLE file is that pattern.
    const jpeg = await pixels((await renderPreview(sample('single/SC_rgb_jpeg_dcmtk.dcm'))).jpeg);
    const rle = await renderPreview(sample('single/SC_rgb_rle_2frame.dcm'), { frame: 0 });
    expect(meanAbsoluteDifference(jpeg, await pixels(rle.jpeg))).toBeLessThan(6);
    // Row 5 of the pattern is pure red.
    const red = [...jpeg.subarray((5 * 100 + 50) * 3, (5 * 100 + 50) * 3 + 3)];
    expect(red[0]).toBeGreaterThan(230);
    expect(red[1]).toBeLessThan(25);
    expect(red[2]).toBeLessThan(25);
  });

  it('renders the middle frame of the 2-frame RLE image: the inverted pattern', async () => {
    const file = sample('single/SC_rgb_rle_2frame.dcm');
    const middle = await renderPreview(file);
    expect(middle).toMatchObject({ frame: 1, frames: 2 });
    const first = await pixels((await renderPreview(file, { frame: 0 })).jpeg);
    const second = await pixels(middle.jpeg);
    const inverted = Buffer.from(first.map((v) => 255 - v));
    expect(meanAbsoluteDifference(inverted, second)).toBeLessThan(6);
  });

  it('inverts the MONOCHROME1 CR: its preview is the negative of the same data as MONOCHROME2', async () => {
    const file = sample('generated/CR_jpeg_ls_near_lossless.dcm');
    const mono1 = await pixels((await renderPreview(file)).jpeg);
    const at = file.indexOf('MONOCHROME1');
    expect(at).toBeGreaterThan(0);
    const mono2File = Buffer.from(file);
    mono2File.write('MONOCHROME2', at, 'latin1');
    const mono2 = await pixels((await renderPreview(mono2File)).jpeg);
    const negative = Buffer.from(mono2.map((v) => 255 - v));
    expect(meanAbsoluteDifference(mono1, negative)).toBeLessThan(2);
    expect(meanAbsoluteDifference(mono1, mono2)).toBeGreaterThan(20);
  });

  it.each([
    ['single/test-SR.dcm', 'no-pixel-data'],
    ['single/waveform_ecg.dcm', 'no-pixel-data'],
    ['bad/no_meta.dcm', 'not-dicom'],
  ])('refuses %s with a PreviewError (%s)', async (path, reason) => {
    const error = await renderPreview(sample(path)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreviewError);
    expect(error).toMatchObject({ reason });
  });

  it('makes previews sharp reads back as baseline JPEG at the requested quality', async () => {
    const small = await renderPreview(sample('single/image_dfl.dcm'), { quality: 30 });
    const large = await renderPreview(sample('single/image_dfl.dcm'), { quality: 95 });
    expect(small.jpeg.length).toBeLessThan(large.jpeg.length);
    expect((await sharp(large.jpeg).metadata()).isProgressive).toBe(false);
  });
});
