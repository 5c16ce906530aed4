import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecompressError, decompressDataset } from '../../../src/dicom/decompress.js';
import { parseFileMeta } from '../../../src/dicom/file-meta.js';
import { TransferSyntax } from '../../../src/dicom/transfer-syntax.js';
import {
  convertFile,
  datasetLines,
  pixelDataOf,
  referenceConversion,
} from '../../helpers/dicom-compare.js';
import { SAMPLES_DIR } from '../../helpers/samples.js';
import { runTool } from '../../helpers/tools.js';

/*
 * Decompression checked against DCMTK's (dcmdjpeg, dcmdjpls, dcmdrle) and GDCM's (JPEG 2000)
 * on colour images in every layout their encoders write: JPEG lossless and baseline (YCbCr),
 * JPEG-LS by line, by sample and without interleaving, colour by plane, RLE, JPEG 2000, and
 * frames split over several fragments with and without a Basic Offset Table. The inputs are
 * made here by DCMTK and GDCM from the two-frame RGB sample.
 */

let dir: string;
/** The two-frame RGB sample, uncompressed (dcmdrle of single/SC_rgb_rle_2frame.dcm). */
let rgb: string;

async function tool(command: string, args: string[]): Promise<void> {
  const result = await runTool(command, args);
  expect(result.code, `${command} ${args.join(' ')}: ${result.stderr}`).toBe(0);
}

/** The bridge's decompression of a PS3.10 file, written as a PS3.10 file. */
async function decompressFile(input: string, output: string): Promise<void> {
  await convertFile(input, output, TransferSyntax.ExplicitVrLittleEndian, (dataset, from) =>
    decompressDataset(dataset, from),
  );
}

/** Ours and the reference decompression of `input`: every element equal, pixels bit for bit. */
async function expectAsReference(input: string, lossy = false): Promise<string[]> {
  const ours = join(dir, 'ours.dcm');
  const reference = join(dir, 'reference.dcm');
  await decompressFile(input, ours);
  await referenceConversion(input, parseFileMeta(readFileSync(input)).transferSyntaxUid, reference);
  const lines = await datasetLines(ours, { withoutPixelData: true });
  expect(lines).toEqual(await datasetLines(reference, { withoutPixelData: true }));
  const pixels = await pixelDataOf(ours);
  if (!lossy) expect(pixels.equals(await pixelDataOf(reference))).toBe(true);
  else expect(pixels.length).toBe((await pixelDataOf(reference)).length);
  return lines;
}

function line(lines: string[], tag: string): string | undefined {
  return lines.find((l) => l.startsWith(`(${tag})`));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'decompress-'));
  rgb = join(dir, 'rgb.dcm');
  await tool('dcmdrle', [join(SAMPLES_DIR, 'single/SC_rgb_rle_2frame.dcm'), rgb]);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('colour images', () => {
  it('JPEG lossless (SV1 and process 14) as dcmdjpeg, RGB by pixel', async () => {
    for (const option of ['+e1', '+el']) {
      const input = join(dir, `jpeg${option}.dcm`);
      await tool('dcmcjpeg', [option, rgb, input]);
      const lines = await expectAsReference(input);
      expect(line(lines, '0028,0004')).toMatch(/\[RGB\]/);
      expect(line(lines, '0028,0006')).toMatch(/US 0 /);
    }
  });

  it('JPEG baseline in YCbCr as dcmdjpeg: converted to RGB, by pixel, lossy kept', async () => {
    for (const option of [[], ['+s4'], ['+n2']]) {
      const input = join(dir, 'baseline.dcm');
      await tool('dcmcjpeg', ['+eb', ...option, rgb, input]);
      expect((await datasetLines(input)).join('\n')).toMatch(/\(0028,0004\) CS \[YBR_FULL/);
      const lines = await expectAsReference(input, true);
      expect(line(lines, '0028,0004')).toMatch(/\[RGB\]/);
      expect(line(lines, '0028,2110')).toMatch(/\[01\]/);
      expect(line(lines, '0028,2114')).toMatch(/\[ISO_10918_1\]/);
    }
  });

  it('JPEG-LS by line, by sample and without interleaving, by pixel or by plane as stored', async () => {
    for (const interleave of ['+il', '+is', '+in']) {
      const input = join(dir, `jls${interleave}.dcm`);
      await tool('dcmcjpls', ['+el', interleave, rgb, input]);
      expect(line(await expectAsReference(input), '0028,0006')).toMatch(/US 0 /);
      // Colour by plane when the dataset says so (dcmdjpls restores the stored value).
      await tool('dcmodify', ['-nb', '-m', '(0028,0006)=1', input]);
      expect(line(await expectAsReference(input), '0028,0006')).toMatch(/US 1 /);
    }
  });

  it('RLE by pixel or by plane as stored, as dcmdrle', async () => {
    const input = join(dir, 'rle.dcm');
    await tool('dcmcrle', [rgb, input]);
    expect(line(await expectAsReference(input), '0028,0006')).toMatch(/US 0 /);
    await tool('dcmodify', ['-nb', '-m', '(0028,0006)=1', input]);
    expect(line(await expectAsReference(input), '0028,0006')).toMatch(/US 1 /);
  });

  it('JPEG 2000 lossless as gdcmconv --raw: the original pixels', async () => {
    const input = join(dir, 'j2k.dcm');
    await tool('gdcmconv', ['--j2k', rgb, input]);
    expect(parseFileMeta(readFileSync(input)).transferSyntaxUid).toBe(
      TransferSyntax.Jpeg2000Lossless,
    );
    await expectAsReference(input);
    const ours = join(dir, 'ours.dcm');
    await decompressFile(input, ours);
    expect((await pixelDataOf(ours)).equals(await pixelDataOf(rgb))).toBe(true);
  });
});

describe('frames over several fragments', () => {
  it('are found by the Basic Offset Table, or by where codestreams start when it is empty', async () => {
    for (const table of ['+ot', '-ot']) {
      const jpeg = join(dir, `fragments${table}.dcm`);
      await tool('dcmcjpeg', ['+e1', '+fs', '1', table, rgb, jpeg]);
      const dump = (await runTool('dcmdump', ['-q', jpeg])).stdout;
      // Two frames, more than two fragments.
      expect(dump.match(/\(fffe,e000\) pi/g)!.length).toBeGreaterThan(3);
      await expectAsReference(jpeg);
      const ls = join(dir, `fragments-ls${table}.dcm`);
      await tool('dcmcjpls', ['+el', '+fs', '1', table, rgb, ls]);
      await expectAsReference(ls);
    }
  });
});

describe('what cannot be decompressed', () => {
  it('is refused with the reason: a damaged frame, fragments that are not the frames', async () => {
    const input = join(dir, 'damaged.dcm');
    await tool('dcmcjpeg', ['+e1', rgb, input]);
    const file = readFileSync(input);
    const meta = parseFileMeta(file);
    const dataset = Buffer.from(file.subarray(meta.datasetOffset));
    // The second frame's fragment zeroed: no JPEG codestream in it.
    const second = dataset.lastIndexOf(Buffer.from([0xff, 0xd8, 0xff]));
    dataset.fill(0, second, second + dataset.readUInt32LE(second - 4));
    await expect(decompressDataset(dataset, meta.transferSyntaxUid)).rejects.toThrow(
      DecompressError,
    );
    await expect(decompressDataset(dataset, meta.transferSyntaxUid)).rejects.toThrow(
      /^frame 2 of 2: /,
    );
    await expect(
      decompressDataset(file.subarray(meta.datasetOffset), TransferSyntax.Rle),
    ).rejects.toThrow(/frame 1 of 2: .*RLE/);
    const mpeg = '1.2.840.10008.1.2.4.100';
    await expect(decompressDataset(dataset, mpeg)).rejects.toThrow(/is not decompressed/);
  });
});
