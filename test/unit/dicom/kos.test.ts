import { decodeIdentifier } from '../../../src/dicom/identifier-decode.js';
import dcmjs from 'dcmjs';
import { describe, expect, it } from 'vitest';
import { parseFileMeta } from '../../../src/dicom/file-meta.js';
import type { Identifier } from '../../../src/dicom/identifier.js';
import {
  KEY_OBJECT_SELECTION_SOP_CLASS,
  KosInputError,
  buildKosManifest,
  type KosInput,
} from '../../../src/dicom/kos.js';
import { isValidUid } from '../../../src/dicom/uid.js';
import { newUid } from '../../../src/dicom/uid-generator.js';

/** A dataset as dcmjs naturalizes it: keywords to values, sequences as arrays of the same. */
type Naturalized = Record<string, unknown>;

const CT = '1.2.840.10008.5.1.4.1.1.2';
const MR = '1.2.840.10008.5.1.4.1.1.4';
const ECG = '1.2.840.10008.5.1.4.1.1.9.1.1';
const SR = '1.2.840.10008.5.1.4.1.1.88.33';

/** Two studies: a CT study with a CT series and an SR series, and an MR + ECG study. */
function input(overrides: Partial<KosInput> = {}): KosInput {
  return {
    patient: { id: 'PAT1', issuer: 'ASR', name: 'Rossi^Mario', birthDate: '19700131', sex: 'M' },
    studies: [
      {
        studyInstanceUid: '1.2.3.1',
        accessionNumber: 'ACC1',
        accessionIssuer: 'ASR-RIS',
        studyDate: '20240102',
        studyTime: '101500',
        studyId: 'S1',
        series: [
          {
            seriesInstanceUid: '1.2.3.1.1',
            modality: 'CT',
            instances: [
              { sopClassUid: CT, sopInstanceUid: '1.2.3.1.1.1' },
              { sopClassUid: CT, sopInstanceUid: '1.2.3.1.1.2' },
              { sopClassUid: CT, sopInstanceUid: '1.2.3.1.1.3' },
            ],
          },
          {
            seriesInstanceUid: '1.2.3.1.2',
            instances: [{ sopClassUid: SR, sopInstanceUid: '1.2.3.1.2.1' }],
          },
        ],
      },
      {
        studyInstanceUid: '1.2.3.2',
        accessionNumber: 'ACC2',
        series: [
          {
            seriesInstanceUid: '1.2.3.2.1',
            instances: [
              { sopClassUid: MR, sopInstanceUid: '1.2.3.2.1.1' },
              { sopClassUid: ECG, sopInstanceUid: '1.2.3.2.1.2' },
            ],
          },
        ],
      },
    ],
    retrieveAeTitle: 'FSEBRIDGE',
    retrieveLocationUid: '2.25.1234',
    sopInstanceUid: '2.25.99',
    seriesInstanceUid: '2.25.98',
    seriesNumber: 9001,
    instanceNumber: 1,
    contentDateTime: new Date('2024-03-04T05:06:07.089Z'),
    manufacturer: 'ASR',
    ...overrides,
  };
}

function decode(file: Buffer): Identifier {
  const meta = parseFileMeta(file);
  expect(meta.transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
  return decodeIdentifier(file.subarray(meta.datasetOffset), { explicitVr: true });
}

function seq(dataset: Identifier, tag: number): Identifier[] {
  const value = dataset.get(tag)?.value;
  if (!Array.isArray(value)) throw new Error(`no sequence ${tag.toString(16)}`);
  return value;
}

function str(dataset: Identifier, tag: number): string | undefined {
  const value = dataset.get(tag)?.value;
  return typeof value === 'string' ? value : undefined;
}

const T = {
  charset: 0x00080005,
  sopClass: 0x00080016,
  sopInstance: 0x00080018,
  accession: 0x00080050,
  issuerOfAccession: 0x00080051,
  retrieveAe: 0x00080054,
  modality: 0x00080060,
  codeValue: 0x00080100,
  scheme: 0x00080102,
  meaning: 0x00080104,
  ppsSequence: 0x00081111,
  seriesSequence: 0x00081115,
  refClass: 0x00081150,
  refInstance: 0x00081155,
  sopSequence: 0x00081199,
  patientName: 0x00100010,
  study: 0x0020000d,
  series: 0x0020000e,
  localNamespace: 0x00400031,
  relationship: 0x0040a010,
  valueType: 0x0040a040,
  conceptName: 0x0040a043,
  continuity: 0x0040a050,
  requests: 0x0040a370,
  evidence: 0x0040a375,
  template: 0x0040a504,
  content: 0x0040a730,
  templateId: 0x0040db00,
  retrieveLocation: 0x0040e011,
};

/** Every instance of the input as `study series class instance`, in input order. */
function expectedReferences(kos: KosInput): string[] {
  return kos.studies.flatMap((study) =>
    study.series.flatMap((series) =>
      series.instances.map((i) =>
        [study.studyInstanceUid, series.seriesInstanceUid, i.sopClassUid, i.sopInstanceUid].join(
          ' ',
        ),
      ),
    ),
  );
}

describe('buildKosManifest', () => {
  it('lists every instance once in the evidence, grouped by study and series, with where to retrieve it', () => {
    const kos = input();
    const dataset = decode(buildKosManifest(kos).file);
    const listed = seq(dataset, T.evidence).flatMap((study) =>
      seq(study, T.seriesSequence).flatMap((series) => {
        expect(str(series, T.retrieveAe)).toBe('FSEBRIDGE');
        expect(str(series, T.retrieveLocation)).toBe('2.25.1234');
        return seq(series, T.sopSequence).map((sop) =>
          [
            str(study, T.study),
            str(series, T.series),
            str(sop, T.refClass),
            str(sop, T.refInstance),
          ].join(' '),
        );
      }),
    );
    expect(listed).toEqual(expectedReferences(kos));
    expect(new Set(listed).size).toBe(6);
    expect(seq(dataset, T.evidence).map((study) => seq(study, T.seriesSequence).length)).toEqual([
      2, 1,
    ]);
  });

  it('has one content item per instance, CONTAINS with the value type of its SOP class', () => {
    const kos = input();
    const content = seq(decode(buildKosManifest(kos).file), T.content);
    const items = content.map((item) => {
      expect(str(item, T.relationship)).toBe('CONTAINS');
      expect(item.has(T.conceptName)).toBe(false); // TID 2010: no purpose of reference
      const [sop, ...more] = seq(item, T.sopSequence);
      expect(more).toEqual([]);
      return `${str(item, T.valueType)} ${str(sop!, T.refClass)} ${str(sop!, T.refInstance)}`;
    });
    expect(items).toEqual([
      `IMAGE ${CT} 1.2.3.1.1.1`,
      `IMAGE ${CT} 1.2.3.1.1.2`,
      `IMAGE ${CT} 1.2.3.1.1.3`,
      `COMPOSITE ${SR} 1.2.3.1.2.1`,
      `IMAGE ${MR} 1.2.3.2.1.1`,
      `WAVEFORM ${ECG} 1.2.3.2.1.2`,
    ]);
  });

  it('is a Key Object Selection document titled Manifest (TID 2010) in the first study', () => {
    const manifest = buildKosManifest(input());
    const meta = parseFileMeta(manifest.file);
    expect(meta).toMatchObject({
      sopClassUid: KEY_OBJECT_SELECTION_SOP_CLASS,
      sopInstanceUid: '2.25.99',
    });
    const dataset = decode(manifest.file);
    expect(str(dataset, T.sopClass)).toBe(KEY_OBJECT_SELECTION_SOP_CLASS);
    expect(str(dataset, T.sopInstance)).toBe('2.25.99');
    expect(str(dataset, T.series)).toBe('2.25.98');
    expect(str(dataset, T.study)).toBe('1.2.3.1');
    expect(manifest).toMatchObject({
      sopInstanceUid: '2.25.99',
      seriesInstanceUid: '2.25.98',
      studyInstanceUid: '1.2.3.1',
    });
    expect(str(dataset, T.modality)).toBe('KO');
    expect(seq(dataset, T.ppsSequence)).toEqual([]);
    expect(str(dataset, T.valueType)).toBe('CONTAINER');
    expect(str(dataset, T.continuity)).toBe('SEPARATE');
    const [title] = seq(dataset, T.conceptName);
    expect([str(title!, T.codeValue), str(title!, T.scheme), str(title!, T.meaning)]).toEqual([
      '113030',
      'DCM',
      'Manifest',
    ]);
    const [template] = seq(dataset, T.template);
    expect(str(template!, 0x00080105)).toBe('DCMR');
    expect(str(template!, T.templateId)).toBe('2010');
    expect(str(dataset, T.accession)).toBe('ACC1');
    expect(str(dataset, 0x00080023)).toBe('20240304'); // ContentDate, UTC
    expect(str(dataset, 0x00080033)).toBe('050607.089');
  });

  it('has a Referenced Request item per study with its accession number and issuer', () => {
    const requests = seq(decode(buildKosManifest(input()).file), T.requests);
    expect(requests.map((r) => [str(r, T.study), str(r, T.accession)])).toEqual([
      ['1.2.3.1', 'ACC1'],
      ['1.2.3.2', 'ACC2'],
    ]);
    expect(str(seq(requests[0]!, T.issuerOfAccession)[0]!, T.localNamespace)).toBe('ASR-RIS');
    expect(requests[1]!.has(T.issuerOfAccession)).toBe(false);
    for (const request of requests) {
      // Type 2 attributes of the request, present even when unknown.
      for (const tag of [0x00081110, 0x00321060, 0x00321064, 0x00401001, 0x00402016, 0x00402017])
        expect(request.has(tag), tag.toString(16)).toBe(true);
    }
  });

  it('writes only valid UIDs', () => {
    const uids: string[] = [];
    const walk = (dataset: Identifier): void => {
      for (const { vr, value } of dataset.values()) {
        if (vr === 'UI' && typeof value === 'string') uids.push(value);
        if (Array.isArray(value)) value.forEach(walk);
      }
    };
    walk(decode(buildKosManifest(input()).file));
    expect(uids.length).toBeGreaterThan(20);
    for (const uid of uids) expect(isValidUid(uid), uid).toBe(true);
  });

  it('writes a non-ASCII patient name in UTF-8 with SpecificCharacterSet ISO_IR 192', () => {
    const patient = { id: 'PAT2', name: 'Müller^Jörg=ミュラー^ヨルグ' };
    const manifest = buildKosManifest(input({ patient }));
    const dataset = decode(manifest.file);
    expect(str(dataset, T.charset)).toBe('ISO_IR 192');
    expect(str(dataset, T.patientName)).toBe('Müller^Jörg=ミュラー^ヨルグ');
    expect(manifest.file.includes(Buffer.from('Müller^Jörg', 'utf8'))).toBe(true);
    const ascii = decode(buildKosManifest(input()).file);
    expect(ascii.has(T.charset)).toBe(false);
  });

  it('is read by dcmjs with the same UIDs, and survives a dcmjs write and read', () => {
    const kos = input({ patient: { id: 'PAT3', name: 'Rossi^Niccolò' } });
    const manifest = buildKosManifest(kos);
    const bytes = manifest.file;
    const read = dcmjs.data.DicomMessage.readFile(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer,
      {} as never,
    );
    const natural = dcmjs.data.DicomMetaDictionary.naturalizeDataset(read.dict) as Naturalized;
    expect(natural.SOPInstanceUID).toBe(manifest.sopInstanceUid);
    expect(natural.SeriesInstanceUID).toBe(manifest.seriesInstanceUid);
    expect(natural.StudyInstanceUID).toBe(manifest.studyInstanceUid);
    expect(natural.SOPClassUID).toBe(KEY_OBJECT_SELECTION_SOP_CLASS);
    expect((natural.PatientName as Naturalized[])[0]!.Alphabetic).toBe('Rossi^Niccolò');
    const listed = (natural.CurrentRequestedProcedureEvidenceSequence as Naturalized[]).flatMap(
      (study) =>
        (study.ReferencedSeriesSequence as Naturalized[]).flatMap((series) =>
          (series.ReferencedSOPSequence as Naturalized[]).map((sop) =>
            [
              study.StudyInstanceUID,
              series.SeriesInstanceUID,
              sop.ReferencedSOPClassUID,
              sop.ReferencedSOPInstanceUID,
            ].join(' '),
          ),
        ),
    );
    expect(listed).toEqual(expectedReferences(kos));
    const again = dcmjs.data.DicomMessage.readFile(read.write(), {} as never);
    expect(dcmjs.data.DicomMetaDictionary.naturalizeDataset(again.dict)).toEqual(natural);
    expect(again.meta['00020003']).toEqual(read.meta['00020003']);
  });

  it('gets a new SOP Instance UID when re-issued, with the same references', () => {
    const first = buildKosManifest(input({ sopInstanceUid: newUid() }));
    const second = buildKosManifest(input({ sopInstanceUid: newUid() }));
    expect(second.sopInstanceUid).not.toBe(first.sopInstanceUid);
    const evidence = (file: Buffer): Identifier[] => seq(decode(file), T.evidence);
    expect(evidence(second.file)).toEqual(evidence(first.file));
  });
});

describe('buildKosManifest refuses input it cannot represent', () => {
  const base = input();
  const study = base.studies[0]!;
  const series = study.series[0]!;
  const cases: Array<[string, KosInput, RegExp]> = [
    ['no study', input({ studies: [] }), /^studies must list at least one study/],
    [
      'a study without series',
      input({ studies: [{ ...study, series: [] }] }),
      /^studies\[0\]\.series must list/,
    ],
    [
      'a series without instances',
      input({ studies: [{ ...study, series: [{ ...series, instances: [] }] }] }),
      /^studies\[0\]\.series\[0\]\.instances must list/,
    ],
    [
      'an instance listed twice',
      input({
        studies: [
          {
            ...study,
            series: [{ ...series, instances: [...series.instances, series.instances[0]!] }],
          },
        ],
      }),
      /^studies\[0\]\.series\[0\]\.instances\[3\]\.sopInstanceUid repeats the UID of studies\[0\]\.series\[0\]\.instances\[0\]/,
    ],
    [
      'a series in two studies',
      input({ studies: [study, { ...study, studyInstanceUid: '1.2.3.9', series: [series] }] }),
      /^studies\[1\]\.series\[0\]\.seriesInstanceUid repeats/,
    ],
    [
      'the manifest referencing itself',
      input({ sopInstanceUid: '1.2.3.1.1.2' }),
      /instances\[1\]\.sopInstanceUid repeats the UID of sopInstanceUid/,
    ],
    [
      'an invalid UID',
      input({
        studies: [
          {
            ...study,
            series: [{ ...series, instances: [{ sopClassUid: CT, sopInstanceUid: '1.2.03a' }] }],
          },
        ],
      }),
      /instances\[0\]\.sopInstanceUid is not a valid UID/,
    ],
    [
      'an AE title too long',
      input({ retrieveAeTitle: 'FSEBRIDGE-TOO-LONG' }),
      /^retrieveAeTitle is longer than 16/,
    ],
    ['an empty AE title', input({ retrieveAeTitle: '' }), /^retrieveAeTitle must not be empty/],
    [
      'an accession number too long',
      input({ studies: [{ ...study, accessionNumber: 'A'.repeat(17) }] }),
      /accessionNumber is longer than 16/,
    ],
    [
      'a backslash in a name',
      input({ patient: { id: 'P', name: 'A\\B' } }),
      /^patient\.name holds a control character or backslash/,
    ],
    [
      'a bad date',
      input({ patient: { id: 'P', birthDate: '19700230' } }),
      /^patient\.birthDate is not a calendar date/,
    ],
    [
      'a bad study time',
      input({ studies: [{ ...study, studyTime: '14:04:38' }] }),
      /^studies\[0\]\.studyTime is not a time/,
    ],
    ['a negative series number', input({ seriesNumber: -1 }), /^seriesNumber must be an integer/],
    [
      'an invalid date',
      input({ contentDateTime: new Date(Number.NaN) }),
      /^contentDateTime must be a valid Date/,
    ],
  ];
  it.each(cases)('%s', (_name, kos, message) => {
    expect(() => buildKosManifest(kos)).toThrow(KosInputError);
    expect(() => buildKosManifest(kos)).toThrow(message);
  });

  it('keeps patient data out of its messages', () => {
    const name = 'Verdi^Giuseppe\\X';
    expect(() => buildKosManifest(input({ patient: { id: 'P', name } }))).toThrow(/value withheld/);
    try {
      buildKosManifest(input({ patient: { id: 'P', name } }));
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('Verdi');
    }
  });
});
