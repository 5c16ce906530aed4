import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeFileMeta, parseFileMeta } from '../../../src/dicom/file-meta.js';
import {
  IMPLEMENTATION_CLASS_UID,
  IMPLEMENTATION_VERSION_NAME,
} from '../../../src/dimse/implementation.js';
import { SAMPLES_DIR, validSamples } from '../../helpers/samples.js';
import { runTool } from '../../helpers/tools.js';

/* File meta information as DCMTK's dcmdump reads it. */

const scratch = mkdtempSync(join(tmpdir(), 'file-meta-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('file meta information', () => {
  it('is read by DCMTK in front of a dataset, with every value as written', async () => {
    const sample = readFileSync(join(SAMPLES_DIR, 'single/CT_small.dcm'));
    const original = parseFileMeta(sample);
    const file = Buffer.concat([
      encodeFileMeta({
        sopClassUid: original.sopClassUid,
        sopInstanceUid: original.sopInstanceUid,
        transferSyntaxUid: original.transferSyntaxUid,
        sourceAeTitle: 'GDCMSCU',
      }),
      sample.subarray(original.datasetOffset),
    ]);
    const path = join(scratch, 'rewrapped.dcm');
    writeFileSync(path, file);
    const dump = await runTool('dcmdump', ['-M', '+L', path]);
    expect(dump.code, dump.stderr).toBe(0);
    // DCMTK warns ("Group Length of Meta Information Header has incorrect value") on a wrong one.
    expect(dump.stderr).toBe('');
    expect(dump.stdout).toContain(`(0002,0003) UI [${original.sopInstanceUid}]`);
    expect(dump.stdout).toMatch(/\(0002,0010\) UI =LittleEndianExplicit/);
    expect(dump.stdout).toContain(`(0002,0012) UI [${IMPLEMENTATION_CLASS_UID}]`);
    expect(dump.stdout).toContain(`(0002,0013) SH [${IMPLEMENTATION_VERSION_NAME}]`);
    expect(dump.stdout).toContain('(0002,0016) AE [GDCMSCU]');
    // And the dataset after it is found where the meta says it starts.
    const check = await runTool('dcmdump', ['-q', '+P', '0008,0018', path]);
    expect(check.stdout.trim()).toContain(original.sopInstanceUid);
  });

  it('parses the file meta of every valid sample: transfer syntax, SOP UIDs and dataset offset', async () => {
    for (const path of validSamples()) {
      const file = readFileSync(path);
      const meta = parseFileMeta(file);
      expect(meta.transferSyntaxUid, path).toMatch(/^1\.2\.840\.10008\.1\.2/);
      expect(meta.sopClassUid, path).toMatch(/^1\.2\.840\.10008\.5\.1\.4\./);
      expect(meta.sopInstanceUid.length, path).toBeGreaterThan(0);
      // The dataset starts right after group 0002, as its group length says.
      expect(file.readUInt16LE(meta.datasetOffset), path).not.toBe(0x0002);
      expect(
        [file.readUInt16LE(132), file.readUInt16LE(134), file.toString('latin1', 136, 138)],
        path,
      ).toEqual([0x0002, 0x0000, 'UL']);
      expect(meta.datasetOffset, path).toBe(144 + file.readUInt32LE(140));
    }
    const withDcmdump = await runTool('dcmdump', [
      '-q',
      '+P',
      '0002,0010',
      join(SAMPLES_DIR, 'single/MR_small_bigendian.dcm'),
    ]);
    expect(withDcmdump.stdout).toContain('BigEndianExplicit');
    expect(
      parseFileMeta(readFileSync(join(SAMPLES_DIR, 'single/MR_small_bigendian.dcm')))
        .transferSyntaxUid,
    ).toBe('1.2.840.10008.1.2.2');
  });
});
