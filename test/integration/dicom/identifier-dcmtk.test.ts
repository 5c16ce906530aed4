import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeIdentifier } from '../../../src/dicom/identifier-decode.js';
import {
  encodeIdentifier,
  identifierOf,
  type IdentifierEncoding,
} from '../../../src/dicom/identifier.js';
import { studyQuery, view, type View } from '../../helpers/identifier-views.js';
import { runTool } from '../../helpers/tools.js';

/* Query identifiers written by DCMTK and read by the bridge, and the other way round. */

const EXPLICIT: IdentifierEncoding = { explicitVr: true };
const IMPLICIT: IdentifierEncoding = { explicitVr: false };

const scratch = mkdtempSync(join(tmpdir(), 'identifier-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('interoperability', () => {
  /** The study query as a DCMTK dump; the (0009,xxxx) elements are private, in no dictionary. */
  const DUMP = `
(0008,0005) CS [ISO_IR 192]
(0008,0050) SH []
(0008,0051) SQ (Sequence with undefined length)
  (fffe,e000) na (Item with undefined length)
    (0040,0031) UT [HOSP]
    (0040,0032) UT [1.2.3]
    (0040,0033) CS [ISO]
  (fffe,e00d) na (ItemDelimitationItem)
  (fffe,e000) na (Item with undefined length)
  (fffe,e00d) na (ItemDelimitationItem)
(fffe,e0dd) na (SequenceDelimitationItem)
(0008,0052) CS [STUDY]
(0008,0061) CS [CT\\MR]
(0009,0010) LO [BRIDGE]
(0009,1001) SQ (Sequence with undefined length)
  (fffe,e000) na (Item with undefined length)
    (0010,0020) LO [P1]
  (fffe,e00d) na (ItemDelimitationItem)
(fffe,e0dd) na (SequenceDelimitationItem)
(0009,1002) OB 01\\02\\03\\04
(0010,0010) PN [Rossi^Niccolò]
(0020,000d) UI []
(0020,1208) IS [12]
`;

  const issuerView: View[] = [
    {
      '(0040,0031)': ['UT', 'HOSP'],
      '(0040,0032)': ['UT', '1.2.3'],
      '(0040,0033)': ['CS', 'ISO'],
    },
    {},
  ];
  const common: View = {
    '(0008,0005)': ['CS', 'ISO_IR 192'],
    '(0008,0050)': ['SH', ''],
    '(0008,0051)': ['SQ', issuerView],
    '(0008,0052)': ['CS', 'STUDY'],
    '(0008,0061)': ['CS', 'CT\\MR'],
    '(0010,0010)': ['PN', 'Rossi^Niccolò'],
    '(0020,000D)': ['UI', ''],
    '(0020,1208)': ['IS', '12'],
  };
  const privateItem: View = { '(0010,0020)': ['LO', 'P1'] };
  const explicitPrivates: View = {
    '(0009,0010)': ['LO', 'BRIDGE'],
    '(0009,1001)': ['SQ', [privateItem]],
    '(0009,1002)': ['OB', '0x01020304'],
  };
  // In Implicit VR private tags are unknown: raw UN bytes, unless an undefined length says SQ.
  const implicitPrivates: View = {
    '(0009,0010)': ['UN', `0x${Buffer.from('BRIDGE').toString('hex')}`],
    '(0009,1001)': ['SQ', [privateItem]],
    '(0009,1002)': ['UN', '0x01020304'],
  };
  const implicitDefinedPrivates: View = {
    ...implicitPrivates,
    // A defined-length item: item header (length 10) and (0010,0020) LO "P1".
    '(0009,1001)': ['UN', '0xfeff00e00a00000010002000020000005031'],
  };

  for (const [options, encoding, privates] of [
    [['+te', '-e'], EXPLICIT, explicitPrivates],
    [['+te', '+e'], EXPLICIT, explicitPrivates],
    [['+ti', '-e'], IMPLICIT, implicitPrivates],
    [['+ti', '+e'], IMPLICIT, implicitDefinedPrivates],
  ] as const) {
    it(`decodes a dataset written by DCMTK dump2dcm ${options.join(' ')}`, async () => {
      const dump = join(scratch, 'query.dump');
      const dataset = join(scratch, `query${options.join('')}.dcm`);
      writeFileSync(dump, DUMP);
      const result = await runTool('dump2dcm', ['-F', ...options, dump, dataset]);
      expect(result.code, result.stderr).toBe(0);
      const bytes = readFileSync(dataset);
      expect(view(decodeIdentifier(bytes, encoding))).toEqual({ ...common, ...privates });
    });
  }

  /** dcmdump's lines as `tag VR value`, indented by nesting, without the trailing comments. */
  function dumpLines(stdout: string): string[] {
    return stdout
      .split('\n')
      .map((line) =>
        /^(\s*)\(([0-9a-f]{4},[0-9a-f]{4})\) (\w\w) (.*?)\s+# +(?:\d+|u\/l), /.exec(line),
      )
      .filter((match) => match !== null)
      .map(([, indent, tag, vr, value]) => `${indent}${tag} ${vr} ${value}`);
  }

  for (const [name, encoding, option] of [
    ['explicit', EXPLICIT, '-te'],
    ['implicit', IMPLICIT, '-ti'],
  ] as const) {
    it(`writes what DCMTK dcmdump reads as the same values (${name} VR)`, async () => {
      const query = studyQuery();
      query.delete(0x00091001);
      query.delete(0x00091002);
      const path = join(scratch, `ours-${name}.dcm`);
      writeFileSync(path, encodeIdentifier(query, encoding));
      const result = await runTool('dcmdump', ['-f', option, '+L', '-Un', path]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toBe('');
      expect(dumpLines(result.stdout)).toEqual([
        '0008,0005 CS [ISO_IR 192]',
        '0008,0020 DA [20240101-20240131]',
        '0008,0050 SH (no value available)',
        '0008,0051 SQ (Sequence with undefined length #=1)',
        '  fffe,e000 na (Item with undefined length #=4)',
        '    0008,0051 SQ (Sequence with undefined length #=2)',
        '      fffe,e000 na (Item with undefined length #=1)',
        '        0040,0031 UT [Città]',
        '      fffe,e00d na (ItemDelimitationItem)',
        '      fffe,e000 na (Item with undefined length #=0)',
        '      fffe,e00d na (ItemDelimitationItem)',
        '    fffe,e0dd na (SequenceDelimitationItem)',
        '    0040,0031 UT [OSPEDALE SAN RAFFAELE]',
        '    0040,0032 UT [1.2.3.4]',
        '    0040,0033 CS [ISO]',
        '  fffe,e00d na (ItemDelimitationItem)',
        'fffe,e0dd na (SequenceDelimitationItem)',
        '0008,0052 CS [STUDY]',
        '0008,0061 CS [CT\\MR\\]',
        '0008,0062 UI [1.2.840.10008.5.1.4.1.1.2\\1.2.840.10008.5.1.4.1.1.4]',
        '0010,0010 PN [Rossi^Niccolò=ロッシ^ニッコロ]',
        '0010,0020 LO [BRG-0001]',
        '0020,000d UI (no value available)',
        '0020,1208 IS (no value available)',
      ]);
    });
  }

  it('writes ISO_IR 100 text that DCMTK converts to the same UTF-8', async () => {
    const path = join(scratch, 'ours-latin1.dcm');
    const query = identifierOf({
      SpecificCharacterSet: 'ISO_IR 100',
      PatientName: 'Rossi^Niccolò',
    });
    writeFileSync(path, encodeIdentifier(query, EXPLICIT));
    const result = await runTool('dcmdump', ['-f', '-te', '+U8', path]);
    expect(result.code, result.stderr).toBe(0);
    expect(dumpLines(result.stdout)).toContain('0010,0010 PN [Rossi^Niccolò]');
  });
});
