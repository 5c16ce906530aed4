import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFileMeta } from '../../../src/dicom/file-meta.js';
import { TransferSyntax } from '../../../src/dicom/transfer-syntax.js';
import type { PdiSettings } from '../../../src/fse/pdi-manifest.js';
import { writePdiZip } from '../../../src/fse/pdi-package.js';
import { datasetLines, pixelDataOf, referenceConversion } from '../../helpers/dicom-compare.js';
import { openSampleFile, pdiInputOf } from '../../helpers/pdi-input.js';
import {
  roundsWithoutDuplicateUids,
  sampleFacts,
  sampleName,
  validSamples,
  type SampleFacts,
} from '../../helpers/samples.js';
import { runTool } from '../../helpers/tools.js';

/*
 * PDI packages for viewers that read only uncompressed files (onDemand.pdi.transferSyntax
 * explicit-little-endian): each file in Explicit VR Little Endian when it can be converted
 * without loss, or lossy ones too when onDemand.pdi.decompressLossy says so, equal to DCMTK's
 * own conversion (GDCM's for JPEG 2000) as in the Q/R SCP; the DICOMDIR names the syntax of each
 * file and passes dciodvfy. A file that cannot be converted is packaged as stored.
 */

const EXPLICIT = TransferSyntax.ExplicitVrLittleEndian;
const LOSSY: ReadonlySet<string> = new Set([
  TransferSyntax.JpegBaseline,
  TransferSyntax.JpegExtended,
  TransferSyntax.JpegLsNearLossless,
  TransferSyntax.Jpeg2000,
]);
/** Lossy files without a Lossy Image Compression Method: the bridge names it, dcmdjpeg does not. */
const METHOD_ADDED = new Set(['single/JPEG-lossy.dcm']);
/** gdcmconv drops NumberOfFrames 1 from this NM image (Type 1 in its NM Multi-frame Module). */
const FRAMES_DROPPED = new Set(['single/JPEG2000.dcm']);

let dir: string;
/** Every sample, in packages without a repeated SOP Instance UID (a package keeps the first). */
let rounds: SampleFacts[][];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pdi-syntax-'));
  rounds = roundsWithoutDuplicateUids(await Promise.all(validSamples().map(sampleFacts)));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Write and unpack the package of every sample; its DICOMDIR dump and where it was unpacked. */
async function packaged(
  name: string,
  facts: SampleFacts[],
  settings: Partial<PdiSettings>,
): Promise<{ unpacked: string; dump: string }> {
  const zip = join(dir, `${name}.zip`);
  const summary = await writePdiZip(
    { ...pdiInputOf(facts), settings },
    createWriteStream(zip),
    openSampleFile,
  );
  expect(summary.instances).toBe(facts.length);
  const unpacked = join(dir, name);
  const unzip = await runTool('unzip', ['-q', zip, '-d', unpacked]);
  expect(unzip.code, unzip.stderr).toBe(0);
  const dumped = await runTool('dcmdump', ['-q', '+L', '-Un', join(unpacked, 'DICOMDIR')]);
  expect(dumped.code, dumped.stderr).toBe(0);
  const validated = await runTool('dciodvfy', [join(unpacked, 'DICOMDIR')]);
  const errors = `${validated.stdout}\n${validated.stderr}`
    .split('\n')
    .filter((line) => /^Error/.test(line));
  expect(errors).toEqual([]);
  return { unpacked, dump: dumped.stdout };
}

/** Each instance's file in the package and the transfer syntax its DICOMDIR record names. */
function records(dump: string, unpacked: string): Map<string, { file: string; syntax: string }> {
  const result = new Map<string, { file: string; syntax: string }>();
  for (const record of dump.split(/^ {2}\(fffe,e000\)/m).slice(1)) {
    const uid = /\(0004,1511\) UI \[(.*?)\]/.exec(record)?.[1];
    if (!uid) continue;
    const fileId = /\(0004,1500\) CS \[(.*?)\]/.exec(record)![1]!;
    const syntax = /\(0004,1512\) UI \[(.*?)\]/.exec(record)![1]!;
    result.set(uid, { file: join(unpacked, ...fileId.split('\\')), syntax });
  }
  return result;
}

/** A packaged file in Explicit VR Little Endian: as stored, or as the reference converts it. */
async function expectConverted(sample: SampleFacts, file: string): Promise<void> {
  const name = sampleName(sample.path);
  if (sample.transferSyntaxUid === EXPLICIT) {
    expect(readFileSync(file).equals(readFileSync(sample.path)), name).toBe(true);
    return;
  }
  const reference = join(dir, 'reference.dcm');
  await referenceConversion(sample.path, sample.transferSyntaxUid, reference);
  let ours = await datasetLines(file, { withoutPixelData: true });
  if (METHOD_ADDED.has(name)) ours = ours.filter((line) => !line.startsWith('(0028,2114)'));
  if (FRAMES_DROPPED.has(name)) ours = ours.filter((line) => !line.startsWith('(0028,0008)'));
  expect(ours, name).toEqual(await datasetLines(reference, { withoutPixelData: true }));
  const pixels = await pixelDataOf(file);
  const expected = await pixelDataOf(reference);
  if (LOSSY.has(sample.transferSyntaxUid)) expect(pixels.length, name).toBe(expected.length);
  else expect(pixels.equals(expected), name).toBe(true);
}

describe('a PDI package in Explicit VR Little Endian', () => {
  it('converts what converts without loss, keeps lossy files as stored, names each syntax', async () => {
    let checked = 0;
    for (const [i, facts] of rounds.entries()) {
      const { unpacked, dump } = await packaged(`lossless-${i}`, facts, {
        transferSyntax: 'explicit-little-endian',
      });
      const byUid = records(dump, unpacked);
      expect(byUid.size).toBe(facts.length);
      for (const sample of facts) {
        const { file, syntax } = byUid.get(sample.sopInstanceUid)!;
        const stored = LOSSY.has(sample.transferSyntaxUid);
        const expected = stored ? sample.transferSyntaxUid : EXPLICIT;
        expect(syntax, sampleName(sample.path)).toBe(expected);
        expect(parseFileMeta(readFileSync(file)).transferSyntaxUid).toBe(expected);
        if (stored) expect(readFileSync(file).equals(readFileSync(sample.path))).toBe(true);
        else await expectConverted(sample, file);
        checked++;
      }
    }
    expect(checked).toBe(validSamples().length);
  }, 600_000);

  it('with decompressLossy, lossy files too, Lossy Image Compression 01 and the method kept', async () => {
    const lossy = rounds.flat().filter((f) => LOSSY.has(f.transferSyntaxUid));
    expect(lossy.length).toBeGreaterThanOrEqual(4);
    const { unpacked, dump } = await packaged('lossy', lossy, {
      transferSyntax: 'explicit-little-endian',
      decompressLossy: true,
    });
    const byUid = records(dump, unpacked);
    for (const sample of lossy) {
      const { file, syntax } = byUid.get(sample.sopInstanceUid)!;
      expect(syntax).toBe(EXPLICIT);
      await expectConverted(sample, file);
      const lines = (await datasetLines(file)).join('\n');
      expect(lines).toMatch(/\(0028,2110\) CS \[01\]/);
      expect(lines).toMatch(/\(0028,2114\) CS \[ISO_1(0918|4495|5444)_1\]/);
    }
  }, 300_000);

  it('as stored by default: every file byte for byte', async () => {
    const facts = rounds[0]!;
    const { unpacked, dump } = await packaged('stored', facts, {});
    const byUid = records(dump, unpacked);
    for (const sample of facts) {
      const { file, syntax } = byUid.get(sample.sopInstanceUid)!;
      expect(syntax).toBe(sample.transferSyntaxUid);
      expect(readFileSync(file).equals(readFileSync(sample.path))).toBe(true);
    }
  });
});
