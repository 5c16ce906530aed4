import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFileMeta } from '../../../src/dicom/file-meta.js';
import { TransferSyntax } from '../../../src/dicom/transfer-syntax.js';
import { BRIDGE_AE, TEST_PEERS, disposeBridge, startBridge } from '../../helpers/bridge.js';
import type { TestBridge } from '../../helpers/bridge.js';
import { datasetLines, pixelDataOf, referenceConversion } from '../../helpers/dicom-compare.js';
import {
  STORESCP_PROFILE,
  startReferenceScp,
  type ReferenceScp,
} from '../../helpers/reference-scp.js';
import {
  roundsWithoutDuplicateUids,
  sampleFacts,
  sampleName,
  validSamples,
  type SampleFacts,
} from '../../helpers/samples.js';
import { sendInOwnSyntax } from '../../helpers/send-stored.js';
import { runTool } from '../../helpers/tools.js';

/*
 * Retrieve to any viewer: every sample, stored in its own transfer syntax, fetched with DCMTK
 * getscu and its default presentation contexts (it proposes Explicit VR Little Endian first for
 * each storage SOP class, and the bridge accepts that), and moved with movescu to a storescp
 * that accepts Explicit VR Little Endian only. Every instance arrives in Explicit VR Little
 * Endian, and equals the reference conversion of the stored instance: DCMTK's own (dcmconv +te,
 * dcmdjpeg, dcmdjpls, dcmdrle), GDCM's gdcmconv --raw for JPEG 2000. Lossy images are allowed
 * here (queryRetrieve.decompressLossy).
 */

const EXPLICIT_AE = 'EXPLSCP';
const LOSSY: ReadonlySet<string> = new Set([
  TransferSyntax.JpegBaseline,
  TransferSyntax.JpegExtended,
  TransferSyntax.JpegLsNearLossless,
  TransferSyntax.Jpeg2000,
]);

/**
 * Where the reference tools differ from the standard, the lines the bridge writes that the
 * reference lacks (extra) or leaves out that the reference writes (missing).
 */
const EXPLAINED: Readonly<Record<string, { extra?: RegExp[]; missing?: RegExp[]; why: string }>> = {
  // dcmdjpeg keeps Lossy Image Compression 01 but records no method; PS3.3 C.7.6.1.1.5 makes
  // Lossy Image Compression Method (0028,2114) Type 1C: required when the former is 01.
  'single/JPEG-lossy.dcm': {
    extra: [/^\(0028,2114\) CS \[ISO_10918_1\]/],
    why: 'dcmdjpeg does not record the lossy compression method',
  },
  // gdcmconv --raw drops NumberOfFrames 1 from this NM image, whose NM Multi-frame Module
  // makes it Type 1 (PS3.3 C.8.4.8).
  'single/JPEG2000.dcm': {
    extra: [/^\(0028,0008\) IS \[1\]/],
    why: 'gdcmconv drops NumberOfFrames',
  },
};

let samples: SampleFacts[];
let work: string;

beforeAll(async () => {
  samples = await Promise.all(validSamples().map((path) => sampleFacts(path)));
  work = mkdtempSync(join(tmpdir(), 'converted-'));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** getscu or movescu (Study Root) of the studies of `round`, with `options` of their own. */
async function retrieve(
  tool: 'getscu' | 'movescu',
  options: string[],
  bridge: TestBridge,
  round: SampleFacts[],
): Promise<void> {
  const result = await runTool(tool, [
    '-S',
    '-aet',
    tool.toUpperCase(),
    '-aec',
    BRIDGE_AE,
    ...options,
    '-k',
    'QueryRetrieveLevel=STUDY',
    '-k',
    `StudyInstanceUID=${[...new Set(round.map((s) => s.studyUid))].join('\\')}`,
    '127.0.0.1',
    String(bridge.port),
  ]);
  expect(result.code, result.stderr).toBe(0);
}

/** The file a DCMTK tool wrote for an instance under `dir` (named after its SOP Instance UID). */
function receivedFile(dir: string, sample: SampleFacts): string {
  const name = readdirSync(dir).find((file) => file.endsWith(sample.sopInstanceUid));
  expect(name, `${sampleName(sample.path)} did not arrive`).toBeDefined();
  return join(dir, name!);
}

/** At most `tolerance` apart, sample by sample (16-bit little endian words when `words`). */
function maxDifference(a: Buffer, b: Buffer, words: boolean): number {
  let max = 0;
  const step = words ? 2 : 1;
  for (let i = 0; i + step <= a.length; i += step) {
    const x = words ? a.readUInt16LE(i) : a[i]!;
    const y = words ? b.readUInt16LE(i) : b[i]!;
    max = Math.max(max, Math.abs(x - y));
  }
  return max;
}

/**
 * `received` is the stored instance in Explicit VR Little Endian: as stored when it was stored
 * so, else every element equal to the reference conversion (differences only as EXPLAINED), and
 * its pixels the reference's bit for bit when nothing was lost.
 */
async function expectConverted(bridge: TestBridge, sample: SampleFacts, received: string) {
  const name = sampleName(sample.path);
  const file = readFileSync(received);
  const meta = parseFileMeta(file);
  expect(meta.transferSyntaxUid, name).toBe(TransferSyntax.ExplicitVrLittleEndian);
  const storageKey = bridge.app.index.findInstance(sample.sopInstanceUid)!.storageKey;
  const storedFile = await bridge.app.store.readBuffer(storageKey);
  if (sample.transferSyntaxUid === TransferSyntax.ExplicitVrLittleEndian) {
    const stored = storedFile.subarray(parseFileMeta(storedFile).datasetOffset);
    expect(file.subarray(meta.datasetOffset).equals(stored), name).toBe(true);
    return;
  }
  const stored = join(work, 'stored.dcm');
  writeFileSync(stored, storedFile);
  const reference = join(work, 'reference.dcm');
  await referenceConversion(stored, sample.transferSyntaxUid, reference);
  const ours = await datasetLines(received, { withoutPixelData: true });
  const theirs = await datasetLines(reference, { withoutPixelData: true });
  const explained = EXPLAINED[name];
  const extra = ours.filter((line) => !theirs.includes(line));
  const missing = theirs.filter((line) => !ours.includes(line));
  expect(extra.length, `${name}: ${extra.join('\n')}`).toBe(explained?.extra?.length ?? 0);
  for (const [i, pattern] of (explained?.extra ?? []).entries())
    expect(extra[i], `${name}: ${explained!.why}`).toMatch(pattern);
  expect(missing, name).toEqual([]);
  expect(
    ours.filter((line) => !extra.includes(line)),
    name,
  ).toEqual(theirs);

  const pixels = await pixelDataOf(received);
  const referencePixels = await pixelDataOf(reference);
  expect(pixels.length, name).toBe(referencePixels.length);
  if (!LOSSY.has(sample.transferSyntaxUid)) {
    expect(pixels.equals(referencePixels), `${name}: pixel data`).toBe(true);
  } else {
    // Lossy decoders may round differently; these agree to the last bit today.
    const words = ours.some((line) => /^\(0028,0100\) US 16/.test(line));
    expect(maxDifference(pixels, referencePixels, words), name).toBeLessThanOrEqual(1);
  }
}

describe('retrieve to a viewer that accepts Explicit VR Little Endian only', () => {
  it('every sample arrives by getscu and by movescu, converted as DCMTK converts it', async () => {
    let checked = 0;
    const converted = new Set<string>();
    for (const round of roundsWithoutDuplicateUids(samples)) {
      const viewer: ReferenceScp = await startReferenceScp(EXPLICIT_AE, [
        '-xf',
        STORESCP_PROFILE,
        'ExplicitOnly',
      ]);
      const bridge = await startBridge({
        dicom: {
          allowedPeers: [...TEST_PEERS, 'GETSCU', 'MOVESCU'].map((aeTitle) => ({ aeTitle })),
        },
        queryRetrieve: {
          decompressLossy: true,
          moveDestinations: [{ aeTitle: EXPLICIT_AE, host: '127.0.0.1', port: viewer.port }],
        },
      });
      const got = mkdtempSync(join(work, 'got-'));
      try {
        await sendInOwnSyntax(bridge.port, round);
        for (const sample of round) {
          const key = bridge.app.index.findInstance(sample.sopInstanceUid)!.storageKey;
          const stored = parseFileMeta(await bridge.app.store.readBuffer(key));
          expect(stored.transferSyntaxUid, sampleName(sample.path)).toBe(sample.transferSyntaxUid);
        }

        await retrieve('getscu', ['+B', '-od', got], bridge, round);
        await retrieve('movescu', ['-aem', EXPLICIT_AE], bridge, round);

        const failures = bridge.logs.filter((l) => l.msg === 'sub-operation did not complete');
        expect(failures).toEqual([]);
        for (const sample of round) {
          await expectConverted(bridge, sample, receivedFile(got, sample));
          await expectConverted(bridge, sample, receivedFile(viewer.dir, sample));
          checked++;
        }
        for (const line of bridge.logs.filter((l) => l.msg === 'instance sent converted'))
          converted.add(line.storedAs as string);
      } finally {
        await disposeBridge(bridge);
        await viewer.stop();
      }
    }
    expect(checked).toBe(samples.length);
    // Every stored syntax other than Explicit VR Little Endian was converted.
    expect([...converted].sort()).toEqual(
      [...new Set(samples.map((s) => s.transferSyntaxUid))]
        .filter((ts) => ts !== TransferSyntax.ExplicitVrLittleEndian)
        .sort(),
    );
  }, 900_000);
});
