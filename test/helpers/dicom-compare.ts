import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { encodeFileMeta, parseFileMeta } from '../../src/dicom/file-meta.js';
import { TransferSyntax } from '../../src/dicom/transfer-syntax.js';
import { runTool } from './tools.js';

/** The top-level Pixel Data line of a dcmdump listing. */
const PIXEL_DATA_LINE = /^\(7fe0,0010\)/;

/**
 * DCMTK's dcmdump of every element of a dataset outside the file meta, each value in full.
 * Sequences and items are shown without their length encoding (explicit or undefined lengths
 * say the same thing). `withoutPixelData` leaves the top-level Pixel Data line out.
 */
export async function datasetLines(
  file: string,
  options: { withoutPixelData?: boolean } = {},
): Promise<string[]> {
  const result = await runTool('dcmdump', ['-q', '+L', '+M', file]);
  expect(result.code, result.stderr).toBe(0);
  const lines = result.stdout
    .split('\n')
    .filter((line) => /^\s*\(/.test(line) && !/^\(0002,/.test(line))
    .filter((line) => !/\(fffe,e0[0d]d\)/.test(line))
    .filter((line) => !(options.withoutPixelData && PIXEL_DATA_LINE.test(line)))
    .map((line) =>
      line
        .replace(/ SQ \(Sequence with (explicit|undefined) length (#=\d+)\).*/, ' SQ $2')
        .replace(/ na \(Item with (explicit|undefined) length (#=\d+)\).*/, ' Item $2'),
    );
  expect(lines.length).toBeGreaterThan(3);
  return lines;
}

/** The top-level Pixel Data value bytes of a file, as dcmdump +W writes them out. */
export async function pixelDataOf(file: string): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'pixels-'));
  try {
    const result = await runTool('dcmdump', ['-q', '+L', '+W', dir, file]);
    expect(result.code, result.stderr).toBe(0);
    // dcmdump names, on the Pixel Data line, the file it wrote the value to.
    const line = result.stdout.split('\n').find((l) => PIXEL_DATA_LINE.test(l));
    const raw = /=(\S+\.raw)/.exec(line ?? '')?.[1];
    expect(raw, `no Pixel Data written for ${file}`).toBeDefined();
    return readFileSync(raw!);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const DCMDJPEG = new Set<string>([
  TransferSyntax.JpegBaseline,
  TransferSyntax.JpegExtended,
  TransferSyntax.JpegLossless,
  TransferSyntax.JpegLosslessSv1,
]);
const DCMDJPLS = new Set<string>([
  TransferSyntax.JpegLsLossless,
  TransferSyntax.JpegLsNearLossless,
]);
const GDCM = new Set<string>([TransferSyntax.Jpeg2000Lossless, TransferSyntax.Jpeg2000]);

/**
 * The reference conversion of a stored PS3.10 file into Explicit VR Little Endian: DCMTK's
 * dcmdjpeg, dcmdjpls, dcmdrle or dcmconv +te (UN elements read as their real VR, +uc), and GDCM's
 * gdcmconv --raw for JPEG 2000, which DCMTK does not decode. Returns the tool used.
 */
export async function referenceConversion(
  stored: string,
  transferSyntaxUid: string,
  output: string,
): Promise<string> {
  const [tool, args] = DCMDJPEG.has(transferSyntaxUid)
    ? ['dcmdjpeg', [stored, output]]
    : DCMDJPLS.has(transferSyntaxUid)
      ? ['dcmdjpls', [stored, output]]
      : transferSyntaxUid === TransferSyntax.Rle
        ? ['dcmdrle', [stored, output]]
        : GDCM.has(transferSyntaxUid)
          ? ['gdcmconv', ['--raw', stored, output]]
          : ['dcmconv', ['+te', '+uc', stored, output]];
  const result = await runTool(tool, args);
  expect(result.code, `${tool}: ${result.stderr}`).toBe(0);
  return tool;
}

/**
 * Convert the PS3.10 file `input` with `convert` (given its dataset and transfer syntax) and
 * write the result to `output` as a PS3.10 file in `to`. Returns the converted dataset.
 */
export async function convertFile(
  input: string,
  output: string,
  to: string,
  convert: (dataset: Buffer, from: string) => Buffer | Promise<Buffer>,
): Promise<Buffer> {
  const file = readFileSync(input);
  const meta = parseFileMeta(file);
  const dataset = await convert(file.subarray(meta.datasetOffset), meta.transferSyntaxUid);
  const fields = { sopClassUid: meta.sopClassUid, sopInstanceUid: meta.sopInstanceUid };
  writeFileSync(
    output,
    Buffer.concat([encodeFileMeta({ ...fields, transferSyntaxUid: to }), dataset]),
  );
  return dataset;
}
