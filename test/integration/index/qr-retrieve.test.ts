import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredInstance } from '../../../src/dicom/instance-metadata.js';
import type { MatchKeys, QrLevel, QrModel, StudyIndex } from '../../../src/index/study-index.js';
import type { SampleFacts } from '../../helpers/samples.js';
import {
  CR_CT_PATIENT,
  MR_PATIENT,
  UTF8_PATIENT,
  openSampleIndex,
  queryError,
} from './qr-samples.js';
import type { SampleIndex } from './qr-samples.js';

let samples: SampleIndex;
let index: StudyIndex;
let facts: SampleFacts[];
let held: StoredInstance[];

beforeAll(async () => {
  samples = await openSampleIndex();
  ({ index, facts, held } = samples);
});

afterAll(() => samples?.close());

const find = (keys: MatchKeys, level?: QrLevel, model?: QrModel) =>
  samples.find(keys, level, model);
const factStudies = (keep: (f: SampleFacts) => boolean) => samples.factStudies(keep);
const studyOf = (keep: (item: StoredInstance) => boolean) => samples.studyOf(keep);

describe('hierarchy', () => {
  const studyUid = () => factStudies((f) => f.patientId === '4MR1')[0]!;
  const mrStudy = () => studyOf((i) => i.metadata.series.number === 700);

  it('SERIES level needs one StudyInstanceUID, and answers its series with counts', () => {
    expect(queryError(() => find({ SeriesInstanceUID: '' }, 'SERIES')).message).toBe(
      'StudyInstanceUID "": a single value is required at SERIES level',
    );
    const [a, b] = factStudies(() => true);
    expect(queryError(() => find({ StudyInstanceUID: `${a}\\${b}` }, 'SERIES')).key).toBe(
      'StudyInstanceUID',
    );
    expect(queryError(() => find({ StudyInstanceUID: '*' }, 'SERIES')).key).toBe(
      'StudyInstanceUID',
    );
    const series = find(
      {
        StudyInstanceUID: mrStudy(),
        SeriesNumber: '',
        Modality: '',
        NumberOfSeriesRelatedInstances: '',
      },
      'SERIES',
    );
    expect(
      series.map((s) => [s.SeriesNumber, s.Modality, s.NumberOfSeriesRelatedInstances]),
    ).toEqual([
      ['1', 'MR', '1'],
      ['2', 'MR', '3'],
      ['700', 'MR', '7'],
    ]);
    expect(find({ StudyInstanceUID: mrStudy(), SeriesNumber: '700' }, 'SERIES')).toHaveLength(1);
    expect(find({ StudyInstanceUID: studyUid(), Modality: 'CT' }, 'SERIES')).toEqual([]);
  });

  it('IMAGE level needs StudyInstanceUID and SeriesInstanceUID', () => {
    const item = held.find((i) => i.metadata.instance.frames === 2)!;
    const { study, series } = item.metadata;
    expect(queryError(() => find({ StudyInstanceUID: study.uid }, 'IMAGE')).key).toBe(
      'SeriesInstanceUID',
    );
    expect(queryError(() => find({ SeriesInstanceUID: series.uid }, 'IMAGE')).key).toBe(
      'StudyInstanceUID',
    );
    const images = find(
      {
        StudyInstanceUID: study.uid,
        SeriesInstanceUID: series.uid,
        SOPClassUID: '',
        InstanceNumber: '',
        NumberOfFrames: '',
        AvailableTransferSyntaxUID: '',
      },
      'IMAGE',
    );
    expect(images).toHaveLength(2);
    expect(images.find((i) => i.SOPInstanceUID === item.metadata.instance.uid)).toEqual({
      StudyInstanceUID: study.uid,
      SeriesInstanceUID: series.uid,
      SOPInstanceUID: item.metadata.instance.uid,
      SOPClassUID: item.metadata.instance.sopClassUid,
      InstanceNumber: '1',
      NumberOfFrames: '2',
      AvailableTransferSyntaxUID: item.transferSyntaxUid,
    });
    // A series UID from another study matches nothing.
    expect(find({ StudyInstanceUID: studyUid(), SeriesInstanceUID: series.uid }, 'IMAGE')).toEqual(
      [],
    );
  });

  it('Patient Root needs PatientID below PATIENT level, and Study Root has no PATIENT level', () => {
    expect(queryError(() => find({ StudyInstanceUID: '' }, 'STUDY', 'PATIENT_ROOT')).key).toBe(
      'PatientID',
    );
    expect(queryError(() => find({ PatientID: '' }, 'PATIENT')).message).toBe(
      'QueryRetrieveLevel "PATIENT": is not a level of STUDY_ROOT',
    );
    const studies = find({ PatientID: CR_CT_PATIENT, StudyDate: '' }, 'STUDY', 'PATIENT_ROOT');
    expect(studies.map((s) => s.StudyInstanceUID).sort()).toEqual(
      factStudies((f) => f.patientId === CR_CT_PATIENT),
    );
    expect(studies[0]).toEqual({
      PatientID: CR_CT_PATIENT,
      StudyInstanceUID: expect.any(String),
      StudyDate: '20010101',
    });
    const uid = studyOf((i) => i.metadata.patient.id === '4MR1');
    const keys = { PatientID: '4MR1', StudyInstanceUID: uid };
    expect(find(keys, 'SERIES', 'PATIENT_ROOT')).toHaveLength(1);
    expect(find({ ...keys, PatientID: MR_PATIENT }, 'SERIES', 'PATIENT_ROOT')).toEqual([]);
  });

  it('stops at the limit', () => {
    expect(index.query('STUDY_ROOT', 'STUDY', { StudyInstanceUID: '' }, 2)).toHaveLength(2);
  });
});

describe('instancesFor (C-MOVE / C-GET)', () => {
  const sops = (items: { sopInstanceUid: string }[]) => items.map((i) => i.sopInstanceUid).sort();
  const factSops = (keep: (f: SampleFacts) => boolean) =>
    [...new Set(facts.filter(keep).map((f) => f.sopInstanceUid))].sort();

  it('selects the instances of studies, series and images, with where they are stored', () => {
    const [a, b] = factStudies((f) => f.patientId === MR_PATIENT);
    const studies = index.instancesFor('STUDY_ROOT', 'STUDY', { StudyInstanceUID: `${a}\\${b}` });
    expect(sops(studies)).toEqual(factSops((f) => f.studyUid === a || f.studyUid === b));
    for (const item of studies) {
      const stored = held.find((i) => i.metadata.instance.uid === item.sopInstanceUid)!;
      expect(item).toEqual({
        sopInstanceUid: stored.metadata.instance.uid,
        sopClassUid: stored.metadata.instance.sopClassUid,
        transferSyntaxUid: stored.transferSyntaxUid,
        storageKey: stored.storageKey,
        sizeBytes: stored.sizeBytes,
        studyUid: stored.metadata.study.uid,
        seriesUid: stored.metadata.series.uid,
      });
    }

    const { study, series } = held.find((i) => i.metadata.series.number === 700)!.metadata;
    const seriesKeys = { StudyInstanceUID: study.uid, SeriesInstanceUID: series.uid };
    const inSeries = index.instancesFor('STUDY_ROOT', 'SERIES', seriesKeys);
    expect(sops(inSeries)).toEqual(factSops((f) => f.seriesUid === series.uid));
    expect(inSeries).toHaveLength(7);

    const [x, y] = sops(inSeries);
    const images = index.instancesFor('STUDY_ROOT', 'IMAGE', {
      ...seriesKeys,
      SOPInstanceUID: `${x}\\${y}`,
    });
    expect(sops(images)).toEqual([x, y]);
  });

  it('selects all of a patient at PATIENT level of Patient Root', () => {
    const items = index.instancesFor('PATIENT_ROOT', 'PATIENT', { PatientID: CR_CT_PATIENT });
    expect(sops(items)).toEqual(factSops((f) => f.patientId === CR_CT_PATIENT));
    expect(items).toHaveLength(8);
  });

  it('needs the unique keys, and narrows by the other keys given', () => {
    expect(queryError(() => index.instancesFor('STUDY_ROOT', 'STUDY', {})).message).toBe(
      'StudyInstanceUID "": one or more UIDs are required at STUDY level',
    );
    expect(
      queryError(() => index.instancesFor('STUDY_ROOT', 'STUDY', { StudyInstanceUID: '*' })).key,
    ).toBe('StudyInstanceUID');
    const uid = studyOf((i) => i.metadata.patient.id === UTF8_PATIENT);
    expect(
      queryError(() => index.instancesFor('PATIENT_ROOT', 'STUDY', { StudyInstanceUID: uid })).key,
    ).toBe('PatientID');
    expect(
      index.instancesFor('PATIENT_ROOT', 'STUDY', {
        PatientID: UTF8_PATIENT,
        StudyInstanceUID: uid,
      }),
    ).toHaveLength(1);
    // The study does not belong to that patient: nothing is retrieved.
    expect(
      index.instancesFor('PATIENT_ROOT', 'STUDY', { PatientID: MR_PATIENT, StudyInstanceUID: uid }),
    ).toEqual([]);
    expect(index.instancesFor('STUDY_ROOT', 'STUDY', { StudyInstanceUID: '1.2.3.4' })).toEqual([]);
  });
});
