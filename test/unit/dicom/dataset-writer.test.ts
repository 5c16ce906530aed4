import { describe, expect, it } from 'vitest';
import { ATTRIBUTES, datasetOf, vrProblem } from '../../../src/dicom/dataset-writer.js';
import { encodeIdentifier } from '../../../src/dicom/identifier.js';

describe('datasetOf', () => {
  it('keeps Type 2 attributes empty, leaves Type 3 out and encodes in tag order', () => {
    const dataset = datasetOf({
      PatientName: '',
      StudyDescription: undefined,
      Modality: 'KO',
      ReferencedPerformedProcedureStepSequence: [],
    });
    expect([...dataset.keys()]).toEqual([0x00100010, 0x00080060, 0x00081111]);
    expect(dataset.get(0x00100010)).toEqual({ tag: 0x00100010, vr: 'PN', value: '' });
    const bytes = encodeIdentifier(dataset, { explicitVr: true });
    // (0008,0060) CS "KO" first, then the empty sequence, then the empty name.
    expect(bytes.subarray(0, 10)).toEqual(Buffer.from('0800600043530200' + '4b4f', 'hex'));
    expect(bytes.readUInt16LE(10)).toBe(0x0008);
    expect(bytes.readUInt16LE(12)).toBe(0x1111);
  });

  it('has the VR of each attribute as PS3.6 defines it', () => {
    expect(ATTRIBUTES.RetrieveLocationUID).toEqual([0x0040e011, 'UI']);
    expect(ATTRIBUTES.CurrentRequestedProcedureEvidenceSequence).toEqual([0x0040a375, 'SQ']);
    expect(ATTRIBUTES.LocalNamespaceEntityID).toEqual([0x00400031, 'UT']);
    expect(ATTRIBUTES.TemplateIdentifier).toEqual([0x0040db00, 'CS']);
  });
});

describe('vrProblem (PS3.5 6.2)', () => {
  it.each([
    ['AE', 'FSEBRIDGE'],
    ['CS', 'ISO_IR 192'],
    ['SH', 'A'.repeat(16)],
    ['LO', 'è'.repeat(64)],
    ['PN', 'Müller^Jörg^^^=ミュラー^ヨルグ=myura^yorugu'],
    ['UI', '2.25.1'],
    ['DA', '20240229'],
    ['TM', '235959.123456'],
    ['TM', '07'],
  ] as const)('accepts %s %j', (vr, value) => {
    expect(vrProblem(vr, value)).toBeUndefined();
  });

  it.each([
    ['AE', 'A'.repeat(17), /longer than 16/],
    ['AE', '    ', /only spaces/],
    ['AE', 'BRIDGÉ', /not plain ASCII/],
    ['CS', 'ko', /upper-case/],
    ['SH', 'A'.repeat(17), /longer than 16/],
    ['LO', 'a\\b', /backslash/],
    ['LO', 'line\nbreak', /control character/],
    ['PN', 'a=b=c=d', /more than 3 component groups/],
    ['PN', 'a^b^c^d^e^f', /more than 5 components/],
    ['PN', 'A'.repeat(65), /longer than 64/],
    ['UI', '1..2', /not a valid UID/],
    ['DA', '1997.04.24', /not a date/],
    ['DA', '20230229', /not a calendar date/],
    ['TM', '14:04:38', /not a time/],
    ['TM', '240000', /not a time/],
  ] as const)('refuses %s %j', (vr, value, reason) => {
    expect(vrProblem(vr, value)).toMatch(reason);
  });
});
