import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFileMeta } from '../../../src/dicom/file-meta.js';
import { reencodeDataset } from '../../../src/dicom/reencode.js';
import { TransferSyntax } from '../../../src/dicom/transfer-syntax.js';
import { convertFile, datasetLines } from '../../helpers/dicom-compare.js';
import { SAMPLES_DIR, sampleName, validSamples } from '../../helpers/samples.js';
import { runTool } from '../../helpers/tools.js';

/*
 * Re-encoding into Explicit VR Little Endian checked against DCMTK's dcmconv +te (+uc: UN read
 * as its real VR), element by element: the value representations an Implicit VR dataset gets
 * from the dictionary, the ambiguous ones among them, Big Endian byte order, Deflated, UN. The
 * Implicit VR inputs are DCMTK's own (dcmconv +ti) encodings of the samples and of datasets
 * written here with dump2dcm to hold every ambiguous case.
 */

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reencode-'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function tool(command: string, args: string[]): Promise<void> {
  const result = await runTool(command, args);
  expect(result.code, `${command}: ${result.stderr}`).toBe(0);
}

/** The bridge's re-encoding of a PS3.10 file into `to`, written as a PS3.10 file. */
function reencodeFile(input: string, output: string, to: string): Promise<Buffer> {
  return convertFile(input, output, to, (dataset, from) => reencodeDataset(dataset, from, to));
}

/** Ours and dcmconv's Explicit VR Little Endian of `input`, as dcmdump lines. */
async function bothWays(input: string): Promise<{ ours: string[]; dcmtk: string[] }> {
  const ours = join(dir, 'ours.dcm');
  const dcmtk = join(dir, 'dcmtk.dcm');
  await reencodeFile(input, ours, TransferSyntax.ExplicitVrLittleEndian);
  await tool('dcmconv', ['+te', '+uc', input, dcmtk]);
  return { ours: await datasetLines(ours), dcmtk: await datasetLines(dcmtk) };
}

/** A dataset written by dump2dcm from `dump`, then by dcmconv in Implicit VR (`-e`: undefined lengths). */
async function implicitFrom(name: string, dump: string, undefinedLengths = false): Promise<string> {
  const text = join(dir, `${name}.dump`);
  const explicit = join(dir, `${name}.dcm`);
  const implicit = join(dir, `${name}.implicit.dcm`);
  writeFileSync(text, dump);
  await tool('dump2dcm', [text, explicit]);
  await tool('dcmconv', ['+ti', ...(undefinedLengths ? ['-e'] : []), explicit, implicit]);
  return implicit;
}

describe('the samples', () => {
  it('in Implicit VR, Big Endian and Deflated come out as dcmconv +te writes them', async () => {
    let compared = 0;
    for (const path of validSamples()) {
      const { transferSyntaxUid } = parseFileMeta(readFileSync(path));
      const inputs: string[] = [];
      if (
        transferSyntaxUid === TransferSyntax.ImplicitVrLittleEndian ||
        transferSyntaxUid === TransferSyntax.ExplicitVrBigEndian ||
        transferSyntaxUid === TransferSyntax.DeflatedExplicitVrLittleEndian
      )
        inputs.push(path);
      if (
        transferSyntaxUid === TransferSyntax.ExplicitVrLittleEndian ||
        transferSyntaxUid === TransferSyntax.ExplicitVrBigEndian
      ) {
        // Their Implicit VR form: every value representation comes from the dictionary.
        const implicit = join(dir, 'sample.implicit.dcm');
        await tool('dcmconv', ['+ti', path, implicit]);
        inputs.push(implicit);
      }
      for (const input of inputs) {
        const { ours, dcmtk } = await bothWays(input);
        expect(ours, sampleName(path)).toEqual(dcmtk);
        compared++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(36);
  }, 300_000);

  it('keep their text bytes as stored, whatever the character set', async () => {
    for (const name of ['generated/CT_latin1_iso_ir_100.dcm', 'generated/MR_utf8_iso_ir_192.dcm']) {
      const implicit = join(dir, 'text.implicit.dcm');
      await tool('dcmconv', ['+ti', join(SAMPLES_DIR, name), implicit]);
      const out = await reencodeFile(
        implicit,
        join(dir, 'text.dcm'),
        TransferSyntax.ExplicitVrLittleEndian,
      );
      const original = readFileSync(join(SAMPLES_DIR, name));
      // The patient's name, byte for byte, in both.
      const latin1 = Buffer.from('Rossi^Niccol\xf2', 'latin1');
      const utf8 = Buffer.from('Müller^Jörg', 'utf8');
      const name8 = name.includes('latin1') ? latin1 : utf8;
      expect(original.includes(name8)).toBe(true);
      expect(out.includes(name8), name).toBe(true);
    }
  });
});

describe('ambiguous value representations', () => {
  it('US or SS by Pixel Representation, OB or OW by the data and Waveform Bits Allocated, LUT Data OW', async () => {
    const implicit = await implicitFrom(
      'ambiguous',
      `(0002,0010) UI =LittleEndianExplicit
(0008,0016) UI =CTImageStorage
(0008,0018) UI [2.25.1.1]
(0028,0002) US 1
(0028,0004) CS [MONOCHROME2]
(0028,0010) US 2
(0028,0011) US 2
(0028,0100) US 16
(0028,0101) US 12
(0028,0102) US 11
(0028,0103) US 1
(0028,0106) SS -5
(0028,0107) SS 100
(0028,0108) SS -7
(0028,0120) SS -2000
(0040,9096) SQ (Sequence with explicit length #=1)
  (fffe,e000) na (Item with explicit length #=3)
    (0028,0103) US 0
    (0028,0106) US 9
    (0040,9211) US 7
    (0040,9216) US 65533
  (fffe,e00d) na (ItemDelimitationItem for re-encoding)
(fffe,e0dd) na (SequenceDelimitationItem for re-encod.)
(0088,0200) SQ (Sequence with explicit length #=1)
  (fffe,e000) na (Item with explicit length #=3)
    (0028,0100) US 8
    (0028,0103) US 0
    (0028,0106) US 3
    (7fe0,0010) OB 01\\02\\03\\04
  (fffe,e00d) na (ItemDelimitationItem for re-encoding)
(fffe,e0dd) na (SequenceDelimitationItem for re-encod.)
(5400,0100) SQ (Sequence with explicit length #=2)
  (fffe,e000) na (Item with explicit length #=3)
    (5400,1004) US 8
    (5400,1006) CS [SB]
    (5400,100a) OB 00\\00
    (5400,1010) OB 01\\02\\03\\04
  (fffe,e00d) na (ItemDelimitationItem for re-encoding)
  (fffe,e000) na (Item with explicit length #=3)
    (5400,1004) US 16
    (5400,1006) CS [SS]
    (5400,1010) OW 0102\\0304
  (fffe,e00d) na (ItemDelimitationItem for re-encoding)
(fffe,e0dd) na (SequenceDelimitationItem for re-encod.)
(6000,0010) US 2
(6000,0011) US 2
(6000,0100) US 1
(6000,3000) OB 01\\00
(7fe0,0010) OW 0001\\0002\\0003\\fff0
`,
    );
    const { ours, dcmtk } = await bothWays(implicit);
    expect(ours).toEqual(dcmtk);
    const vrOf = (tag: string, nth = 0): string | undefined => {
      const lines = ours.filter((line) => line.trim().startsWith(`(${tag})`));
      return lines[nth]?.trim().slice(12, 14);
    };
    expect(vrOf('0028,0106')).toBe('SS');
    expect(vrOf('0028,0120')).toBe('SS');
    // The item's own Pixel Representation (0) decides inside it.
    expect(vrOf('0028,0106', 1)).toBe('US');
    expect(vrOf('0040,9216')).toBe('US');
    expect(vrOf('5400,1010', 0)).toBe('OB');
    expect(vrOf('5400,100a')).toBe('OB');
    expect(vrOf('5400,1010', 1)).toBe('OW');
    expect(vrOf('6000,3000')).toBe('OW');
    // Implicit VR Pixel Data is OW (PS3.5 A.1), 8-bit icon included.
    expect(vrOf('7fe0,0010', 0)).toBe('OW');
    expect(vrOf('7fe0,0010', 1)).toBe('OW');
  });

  it('inside sequences by the Pixel Representation of the image, where DCMTK falls back to US', async () => {
    const implicit = await implicitFrom(
      'lut',
      `(0002,0010) UI =LittleEndianExplicit
(0008,0016) UI =CTImageStorage
(0008,0018) UI [2.25.1.2]
(0028,0103) US 1
(0028,3000) SQ (Sequence with explicit length #=1)
  (fffe,e000) na (Item with explicit length #=3)
    (0028,3002) SS 4\\-2\\12
    (0028,3003) LO [signed input]
    (0028,3006) US 1\\2\\3\\4
  (fffe,e00d) na (ItemDelimitationItem for re-encoding)
(fffe,e0dd) na (SequenceDelimitationItem for re-encod.)
(0028,3010) SQ (Sequence with explicit length #=1)
  (fffe,e000) na (Item with explicit length #=3)
    (0028,3002) SS 4\\0\\16
    (0028,3006) OW 0001\\0002\\0003\\0004
  (fffe,e00d) na (ItemDelimitationItem for re-encoding)
(fffe,e0dd) na (SequenceDelimitationItem for re-encod.)
`,
    );
    const { ours, dcmtk } = await bothWays(implicit);
    // PS3.3 C.11.1.1.1 and C.11.2.1.1: the second LUT Descriptor value is US or SS as the
    // Pixel Representation of the image; DCMTK looks for Pixel Representation in the item
    // holding the descriptor only, finds none, and writes US. The bytes are the same.
    const differ = (lines: string[]): string[] =>
      lines.filter((line) => line.includes('(0028,3002)'));
    expect(differ(ours)).toEqual([
      '    (0028,3002) SS 4\\-2\\12                                  #   6, 3 LUTDescriptor',
      '    (0028,3002) SS 4\\0\\16                                   #   6, 3 LUTDescriptor',
    ]);
    expect(differ(dcmtk).map((line) => line.slice(16, 18))).toEqual(['US', 'US']);
    const same = (lines: string[]): string[] =>
      lines.filter((line) => !line.includes('(0028,3002)'));
    expect(same(ours)).toEqual(same(dcmtk));
  });

  it('private elements no dictionary knows stay UN, their creators LO; an undefined-length one is a sequence', async () => {
    const implicit = await implicitFrom(
      'private',
      `(0002,0010) UI =LittleEndianExplicit
(0008,0016) UI =CTImageStorage
(0008,0018) UI [2.25.1.3]
(0009,0010) LO [ACME 1.0]
(0009,1001) LO [private text]
(0009,1002) SQ (Sequence with undefined length #=1)
  (fffe,e000) na (Item with undefined length #=2)
    (0008,0100) SH [CODE]
    (0009,0010) LO [ACME 1.0]
    (0009,1005) US 3
  (fffe,e00d) na (ItemDelimitationItem)
(fffe,e0dd) na (SequenceDelimitationItem)
`,
      true,
    );
    const { ours, dcmtk } = await bothWays(implicit);
    expect(ours).toEqual(dcmtk);
    expect(ours.join('\n')).toMatch(/\(0009,0010\) LO \[ACME 1\.0\]/);
    expect(ours.join('\n')).toMatch(/\(0009,1001\) UN /);
    expect(ours.join('\n')).toMatch(/\(0009,1002\) SQ #=1/);
    expect(ours.join('\n')).toMatch(/\(0008,0100\) SH \[CODE\]/);
  });
});

describe('UN elements of an explicit VR dataset', () => {
  it('take the real value representation the dictionary gives them, as dcmconv +uc does', async () => {
    const text = join(dir, 'un.dump');
    const explicit = join(dir, 'un.dcm');
    writeFileSync(
      text,
      `(0002,0010) UI =BigEndianExplicit
(0008,0016) UI =CTImageStorage
(0008,0018) UI [2.25.1.4]
(0008,1030) UN 4b\\6e\\65\\65
(0018,0050) UN 32\\2e\\35\\20
(0028,0010) UN 00\\02
(0009,0010) LO [ACME 1.0]
(0009,1001) UN 01\\02\\03\\04
`,
    );
    await tool('dump2dcm', ['+tb', text, explicit]);
    expect(parseFileMeta(readFileSync(explicit)).transferSyntaxUid).toBe(
      TransferSyntax.ExplicitVrBigEndian,
    );
    const { ours, dcmtk } = await bothWays(explicit);
    expect(ours).toEqual(dcmtk);
    expect(ours.join('\n')).toMatch(/\(0008,1030\) LO \[Knee\]/);
    // A UN value is read little endian, Big Endian dataset or not.
    expect(ours.join('\n')).toMatch(/\(0028,0010\) US 512 /);
    expect(ours.join('\n')).toMatch(/\(0009,1001\) UN 01\\02\\03\\04/);
  });
});
