import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_FRAME_PIXELS, PreviewError, renderPreview } from '../../../src/preview/render.js';
import { SAMPLES_DIR } from '../../helpers/samples.js';
import { syntheticImage } from '../../helpers/synthetic-image.js';

/*
 * Stored instances are kept as received, so what a preview reads from them may be hostile: a
 * header declaring what no decode should attempt, or compressed data built to trap the WASM
 * codecs. Each costs one preview (a PreviewError), never the daemon nor the previews after it.
 */

async function failure(file: Buffer): Promise<PreviewError> {
  const error: unknown = await renderPreview(file).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PreviewError);
  return error as PreviewError;
}

describe('previews of hostile instances', () => {
  it('refuses grey images whose BitsStored would need a lookup table of 2^17 to 2^31 entries', async () => {
    // At 31 the renderer's table exhausted the heap and V8 ended the process.
    for (const bitsStored of [17, 24, 31]) {
      const error = await failure(
        syntheticImage({ rows: 1, columns: 2, pixels: [0, 1], bitsStored }),
      );
      expect(error.reason, `BitsStored ${bitsStored}`).toBe('unsupported-geometry');
      expect(error.message).toMatch(new RegExp(`BitsStored ${bitsStored}`));
    }
    // 12 of 16, the usual CT layout, renders.
    const ct = await renderPreview(
      syntheticImage({ rows: 1, columns: 2, pixels: [0, 4095], bitsStored: 12 }),
    );
    expect(ct.width).toBe(2);
  });

  it(`refuses frames declared larger than ${MAX_FRAME_PIXELS} pixels before decoding anything`, async () => {
    const error = await failure(syntheticImage({ rows: 16384, columns: 16384, pixels: [0, 0] }));
    expect(error.reason).toBe('unsupported-geometry');
    expect(error.message).toMatch(/16384×16384/);
  });

  it('keeps decoding compressed images after many that trap the codecs', async () => {
    const sample = readFileSync(join(SAMPLES_DIR, 'single', 'MR_small_jpeg_ls_lossless.dcm'));
    // The JPEG-LS codestream overwritten with filler: the fragment (an item, its length just
    // before the SOI marker) keeps its place and length.
    const start = sample.indexOf(Buffer.from([0xff, 0xd8, 0xff, 0xf7]));
    expect(sample.readUInt32LE(start - 8)).toBe(0xe000fffe);
    const garbage = Buffer.from(sample);
    garbage.fill(0x5a, start, start + sample.readUInt32LE(start - 4));
    for (let i = 0; i < 80; i++) expect((await failure(garbage)).reason).toBe('decode-failed');
    const preview = await renderPreview(sample);
    expect(preview.width).toBeGreaterThan(0);
  });
});
