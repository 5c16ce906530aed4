import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPreview } from '../../../src/preview/render.js';
import { SAMPLES_DIR } from '../../helpers/samples.js';
import { runTool } from '../../helpers/tools.js';

/*
 * Previews decode compressed frames with the decoders decompression uses, and take their colour
 * model from what the decoder did: a frame stays in YCbCr unless its codec converted it (JPEG),
 * so an RLE or JPEG-LS image in YBR_FULL previews as its uncompressed form does.
 */

let dir: string;
/** The two-frame colour sample, uncompressed, its values declared YBR_FULL. */
let ybr: string;

async function tool(command: string, args: string[]): Promise<void> {
  const result = await runTool(command, args);
  expect(result.code, `${command}: ${result.stderr}`).toBe(0);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'preview-colour-'));
  ybr = join(dir, 'ybr.dcm');
  await tool('dcmdrle', [join(SAMPLES_DIR, 'single/SC_rgb_rle_2frame.dcm'), ybr]);
  await tool('dcmodify', ['-nb', '-m', '(0028,0004)=YBR_FULL', ybr]);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('previews of YBR_FULL colour', () => {
  it('are the same from RLE and JPEG-LS lossless as from the uncompressed image', async () => {
    const expected = (await renderPreview(readFileSync(ybr))).jpeg;
    const rle = join(dir, 'ybr-rle.dcm');
    await tool('dcmcrle', [ybr, rle]);
    const jls = join(dir, 'ybr-jls.dcm');
    await tool('dcmcjpls', ['+el', ybr, jls]);
    for (const file of [rle, jls]) {
      const preview = await renderPreview(readFileSync(file));
      expect(preview.jpeg.equals(expected), file).toBe(true);
    }
  });
});
