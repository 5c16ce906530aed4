import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyseDataset } from '../../../src/dicom/analyse.js';
import { parseFileMeta } from '../../../src/dicom/file-meta.js';
import { extractMetadata, keyUids, walkedSyntax } from '../../../src/dicom/metadata.js';
import { InvalidUidError } from '../../../src/dicom/uid.js';
import { SAMPLES_DIR } from '../../helpers/samples.js';

const MIB = 1024 * 1024;
const ROOT = '2.25.121393553256475818467689392626788434393';

function analyseSample(name: string, maxHeaderBytes = MIB): ReturnType<typeof analyseDataset> {
  const file = readFileSync(join(SAMPLES_DIR, name));
  const meta = parseFileMeta(file);
  return analyseDataset(file.subarray(meta.datasetOffset), meta.transferSyntaxUid, maxHeaderBytes);
}

describe('metadata through analyseDataset', () => {
  it('decodes ISO_IR 100 (Latin-1) values', () => {
    const { metadata, warnings, uids } = analyseSample('generated/CT_latin1_iso_ir_100.dcm');
    expect(warnings).toEqual([]);
    expect(uids).toEqual({
      sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
      sopInstanceUid: `${ROOT}.6.3`,
      studyUid: `${ROOT}.6.1`,
      seriesUid: `${ROOT}.6.2`,
    });
    expect(metadata.patient).toEqual({
      id: 'BRG-L1-0002',
      issuer: 'BRIDGE-TEST-HOSP-B',
      name: 'Rossi^Niccolò',
      birthDate: undefined,
      sex: 'O',
    });
    expect(metadata.study).toMatchObject({
      uid: `${ROOT}.6.1`,
      accessionNumber: 'BRGB000602',
      accessionIssuer: undefined,
      description: 'TC torace perché urgente',
      date: '20040119',
      time: '072730',
      studyId: '1CT1',
      referringPhysician: undefined,
    });
    expect(metadata.series).toMatchObject({
      uid: `${ROOT}.6.2`,
      modality: 'CT',
      number: 1,
      description: 'bridge sample: ISO_IR 100',
    });
    expect(metadata.instance).toEqual({
      uid: `${ROOT}.6.3`,
      sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
      number: 1,
      frames: undefined,
    });
  });

  it('decodes ISO_IR 192 (UTF-8) values and the accession number issuer from its sequence', () => {
    const { metadata, warnings } = analyseSample('generated/MR_utf8_iso_ir_192.dcm');
    expect(warnings).toEqual([]);
    expect(metadata.patient).toEqual({
      id: 'BRG-UTF8-0001',
      issuer: 'BRIDGE-TEST-HOSP-A',
      name: 'Müller^Jörg',
      birthDate: undefined,
      sex: 'F',
    });
    expect(metadata.study).toMatchObject({
      uid: `${ROOT}.5.1`,
      accessionNumber: 'BRGA000501',
      accessionIssuer: 'BRIDGE-TEST-RIS-A',
      description: 'Knie MRT Übersicht',
      studyId: '4MR1',
    });
    expect(metadata.series).toMatchObject({ uid: `${ROOT}.5.2`, modality: 'MR', number: 1 });
    expect(metadata.instance).toMatchObject({ uid: `${ROOT}.5.3`, number: 1 });
  });

  it('warns about NumberOfFrames "1A" in badVR.dcm and leaves frames undefined, keeping the rest', () => {
    const { metadata, warnings, uids } = analyseSample('bad/badVR.dcm');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/NumberOfFrames/);
    expect(warnings[0]).toContain('1A');
    expect(metadata.instance.frames).toBeUndefined();
    expect(metadata.instance.number).toBeUndefined(); // empty InstanceNumber: absent, no warning
    expect(metadata.series.number).toBe(1);
    expect(metadata.patient.id).toBe('id11111');
    expect(metadata.series.modality).toBe('RTDOSE');
    expect(uids.sopInstanceUid).toBe('1.9.999.999.99.9.9999.9999.20030818153516');
  });

  it('reads the same metadata from one instance in every transfer syntax (deflated and big endian included)', () => {
    const reference = analyseSample('single/MR_small.dcm');
    expect(reference.warnings).toEqual([]);
    expect(reference.metadata.patient.id).toBeDefined();
    for (const name of [
      'single/MR_small_implicit.dcm',
      'single/MR_small_bigendian.dcm',
      'single/MR_small_RLE.dcm',
      'single/MR_small_jpeg_ls_lossless.dcm',
      'single/MR_small_jp2klossless.dcm',
    ]) {
      const other = analyseSample(name);
      expect(other.warnings, name).toEqual([]);
      expect(other.uids, name).toEqual(reference.uids);
      expect(other.metadata.patient, name).toEqual(reference.metadata.patient);
      expect(other.metadata.study, name).toEqual(reference.metadata.study);
      expect(other.metadata.series.modality, name).toBe('MR');
    }
    const deflated = analyseSample('single/image_dfl.dcm');
    expect(deflated.warnings).toEqual([]);
    expect(deflated.uids.sopInstanceUid).toBe('1.3.6.1.4.1.5962.1.1.0.0.0.977067309.6001.0');
  });

  it('still yields the key UIDs when the header is cut short by maxHeaderBytes', () => {
    const { uids, metadata } = analyseSample('generated/MR_utf8_iso_ir_192.dcm', 64);
    expect(uids.sopInstanceUid).toBe(`${ROOT}.5.3`);
    expect(metadata.instance.uid).toBe(`${ROOT}.5.3`);
    expect(metadata.study.uid).toBe(`${ROOT}.5.1`);
    expect(metadata.patient.name).toBeUndefined();
  });

  it('throws InvalidUidError naming the field for the samples with an invalid Study Instance UID', () => {
    for (const name of [
      'bad/generated/CT_bad_study_uid_letters.dcm',
      'bad/generated/CT_bad_study_uid_70_chars.dcm',
      'bad/generated/CT_bad_study_uid_path_traversal.dcm',
    ]) {
      let error: unknown;
      try {
        analyseSample(name);
      } catch (caught) {
        error = caught;
      }
      expect(error, name).toBeInstanceOf(InvalidUidError);
      expect((error as InvalidUidError).field, name).toBe('StudyInstanceUID');
    }
  });
});

describe('extractMetadata and keyUids', () => {
  const uids = {
    sopClassUid: '1.2.3',
    sopInstanceUid: '1.2.3.4',
    studyUid: '1.2.3.5',
    seriesUid: '1.2.3.6',
  };

  it('keeps the key UIDs from the walker whatever dcmjs makes of a garbage header', () => {
    const garbage = Buffer.from('0800200044410800ffffffffffff', 'hex');
    const { metadata } = extractMetadata(garbage, '1.2.840.10008.1.2.1', uids, new Map());
    expect(metadata.study.uid).toBe('1.2.3.5');
    expect(metadata.series.uid).toBe('1.2.3.6');
    expect(metadata.instance).toEqual({
      uid: '1.2.3.4',
      sopClassUid: '1.2.3',
      number: undefined,
      frames: undefined,
    });
  });

  it('gives undefined, never the empty string, for absent values', () => {
    const { metadata, warnings } = extractMetadata(
      Buffer.alloc(0),
      '1.2.840.10008.1.2.1',
      uids,
      new Map(),
    );
    expect(warnings).toEqual([]);
    expect(metadata.patient).toEqual({
      id: undefined,
      issuer: undefined,
      name: undefined,
      birthDate: undefined,
      sex: undefined,
    });
    expect(Object.values(metadata.study).filter((value) => value === '')).toEqual([]);
  });

  it('validates captured key UIDs, stripping NUL and space padding', () => {
    const values = new Map<number, Buffer>([
      [0x00080016, Buffer.from('1.2.840.10008.5.1.4.1.1.2\0')],
      [0x00080018, Buffer.from('1.2.3.4 ')],
      [0x0020000d, Buffer.from('1.2.3')],
      [0x0020000e, Buffer.from('1.2.3.4.5\0')],
    ]);
    expect(keyUids(values)).toEqual({
      sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
      sopInstanceUid: '1.2.3.4',
      studyUid: '1.2.3',
      seriesUid: '1.2.3.4.5',
    });
    values.delete(0x0020000e);
    expect(() => keyUids(values)).toThrow(InvalidUidError);
    values.set(0x0020000e, Buffer.from('1.2.x'));
    expect(() => keyUids(values)).toThrow(/SeriesInstanceUID/);
  });

  it('walks deflated data as explicit VR little endian and everything else as is', () => {
    expect(walkedSyntax('1.2.840.10008.1.2.1.99')).toBe('1.2.840.10008.1.2.1');
    expect(walkedSyntax('1.2.840.10008.1.2.2')).toBe('1.2.840.10008.1.2.2');
    expect(walkedSyntax('1.2.840.10008.1.2.4.90')).toBe('1.2.840.10008.1.2.4.90');
  });
});
