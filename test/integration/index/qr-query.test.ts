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
const studyUids = (keys: MatchKeys): string[] =>
  find({ StudyInstanceUID: '', ...keys })
    .map((m) => m.StudyInstanceUID!)
    .sort();

describe('C-FIND at STUDY level (Study Root)', () => {
  it('matches an accession number, answering the keys asked', () => {
    const matches = find({ AccessionNumber: '2', PatientID: '', ModalitiesInStudy: '' });
    expect(matches.map((m) => m.StudyInstanceUID).sort()).toEqual(
      factStudies((f) => f.accessionNumber === '2'),
    );
    expect(matches.length).toBe(4); // across two patients: an accession alone is not unique
    for (const match of matches) {
      expect(Object.keys(match)).toEqual([
        'StudyInstanceUID',
        'AccessionNumber',
        'PatientID',
        'ModalitiesInStudy',
      ]);
    }
    expect(new Set(matches.map((m) => m.PatientID))).toEqual(new Set([MR_PATIENT, CR_CT_PATIENT]));
  });

  it('narrows an accession number by its issuer', () => {
    const keys = { AccessionNumber: 'BRGA000501', IssuerOfAccessionNumber: '' };
    expect(find(keys)).toEqual([
      {
        StudyInstanceUID: studyOf((i) => i.metadata.study.accessionNumber === 'BRGA000501'),
        AccessionNumber: 'BRGA000501',
        IssuerOfAccessionNumber: 'BRIDGE-TEST-RIS-A',
      },
    ]);
    expect(find({ ...keys, IssuerOfAccessionNumber: 'BRIDGE-TEST-RIS-A' })).toHaveLength(1);
    expect(find({ ...keys, IssuerOfAccessionNumber: 'OTHER-RIS' })).toEqual([]);
    expect(find({ AccessionNumber: '2', IssuerOfAccessionNumber: 'BRIDGE-TEST-RIS-A' })).toEqual(
      [],
    );
  });

  it('matches PatientID with and without IssuerOfPatientID', () => {
    expect(studyUids({ PatientID: MR_PATIENT })).toEqual(
      factStudies((f) => f.patientId === MR_PATIENT),
    );
    expect(studyUids({ PatientID: MR_PATIENT })).toHaveLength(3);
    expect(studyUids({ PatientID: UTF8_PATIENT })).toHaveLength(1);
    expect(studyUids({ PatientID: UTF8_PATIENT, IssuerOfPatientID: 'BRIDGE-TEST-HOSP-A' })).toEqual(
      studyUids({ PatientID: UTF8_PATIENT }),
    );
    expect(studyUids({ PatientID: UTF8_PATIENT, IssuerOfPatientID: 'BRIDGE-TEST-HOSP-B' })).toEqual(
      [],
    );
    // The patient has no issuer: naming one excludes it; "" (empty value matching) keeps it.
    expect(studyUids({ PatientID: MR_PATIENT, IssuerOfPatientID: 'BRIDGE-TEST-HOSP-A' })).toEqual(
      [],
    );
    expect(studyUids({ PatientID: MR_PATIENT, IssuerOfPatientID: '""' })).toHaveLength(3);
    expect(find({ PatientID: UTF8_PATIENT, IssuerOfPatientID: '' })[0]?.IssuerOfPatientID).toBe(
      'BRIDGE-TEST-HOSP-A',
    );
  });

  it('matches StudyDate single values and open and closed ranges', () => {
    const dated = (from: string, to: string) =>
      factStudies(() => true).filter((uid) => {
        const date = held.find((i) => i.metadata.study.uid === uid)!.metadata.study.date;
        const normal = date?.replaceAll('.', '');
        return normal !== undefined && normal >= from && normal <= to;
      });
    expect(studyUids({ StudyDate: '20030505' })).toEqual(dated('20030505', '20030505'));
    expect(studyUids({ StudyDate: '20030505' })).toHaveLength(3);
    expect(studyUids({ StudyDate: '20010101-20031231' })).toEqual(dated('20010101', '20031231'));
    expect(studyUids({ StudyDate: '-19991231' })).toEqual(dated('', '19991231'));
    expect(studyUids({ StudyDate: '20130101-' })).toEqual(dated('20130101', '99999999'));
    expect(studyUids({ StudyDate: '20130101-' })).toHaveLength(2);
    // The ACR-NEMA form YYYY.MM.DD of an old sample compares as a date too.
    expect(find({ StudyDate: '19970424' }).map((m) => m.StudyDate)).toEqual(['1997.04.24']);
    expect(studyUids({ StudyDate: '20240101-20241231' })).toEqual([]);
  });

  it('matches StudyTime to the second, a bound of less precision covering its hour or minute', () => {
    expect(find({ StudyTime: '0500-0600', StudyDescription: '' })).toEqual([
      expect.objectContaining({ StudyTime: '050743', StudyDescription: 'Carotids' }),
    ]);
    const times = (StudyTime: string) =>
      find({ StudyTime })
        .map((m) => m.StudyTime)
        .sort();
    expect(times('-0300')).toEqual(['000000', '000000', '025109']);
    expect(times('04-05')).toEqual(['045357', '050743']);
    expect(times('04-0459')).toEqual(['045357']);
    // A fraction in a bound is dropped: times compare to the second.
    const at185059 = factStudies(() => true).filter(
      (uid) => held.find((i) => i.metadata.study.uid === uid)!.metadata.study.time === '185059',
    );
    expect(times('185059.5-')).toEqual(at185059.map(() => '185059'));
    expect(at185059).toHaveLength(4);
    expect(find({ StudyTime: '1404' }).map((m) => m.StudyInstanceUID)).toEqual([
      studyOf((i) => i.metadata.study.time === '14:04:38'),
    ]);
  });

  it('refuses malformed dates, times and ranges, naming key and value', () => {
    expect(queryError(() => find({ StudyDate: '20240230' })).message).toBe(
      'StudyDate "20240230": "20240230" is not a date (YYYYMMDD)',
    );
    for (const StudyDate of ['2024-01-01', '20240201-20240101', '-', '2024*', '1/1/2024']) {
      expect(queryError(() => find({ StudyDate })).key).toBe('StudyDate');
    }
    expect(queryError(() => find({ StudyTime: '1800-0600' })).message).toMatch(/ends before/);
    expect(queryError(() => find({ StudyTime: '2500' })).value).toBe('2500');
  });

  it('matches PatientName with wild cards, case-insensitively, also beyond ASCII', () => {
    const names = (PatientName: string) =>
      [...new Set(find({ PatientName }).map((m) => m.PatientName))].sort();
    expect(names('doe^*')).toEqual(['Doe^Archibald', 'Doe^Peter']);
    expect(names('DOE^P?TER')).toEqual(['Doe^Peter']);
    expect(names('*ARCHI*')).toEqual(['Doe^Archibald']);
    expect(names('MÜLLER^JÖRG')).toEqual(['Müller^Jörg']);
    expect(names('müll*')).toEqual(['Müller^Jörg']);
    expect(names('Rossi^Niccol?')).toEqual(['Rossi^Niccolò']); // ? is one character, not byte
    expect(names('Doe^Peter^^^')).toEqual(['Doe^Peter']); // trailing empty components
    expect(names('Doe')).toEqual([]); // no wild card: the whole name
    expect(names('*')).toEqual(names('')); // universal, names absent included
    expect(find({ PatientName: '' }).length).toBe(factStudies(() => true).length);
  });

  it('matches other text case-sensitively', () => {
    expect(find({ StudyDescription: 'Brain*' }).map((m) => m.StudyDescription)).toHaveLength(2);
    expect(find({ StudyDescription: 'brain*' })).toEqual([]);
    expect(find({ ReferringPhysicianName: 'moriarty^james' })).toEqual([]);
    expect(find({ ReferringPhysicianName: 'Moriarty^James' })).toHaveLength(1);
  });

  it('matches a list of UIDs', () => {
    const [a, b] = factStudies((f) => f.patientId === MR_PATIENT);
    expect(studyUids({ StudyInstanceUID: `${a}\\${b}` })).toEqual([a, b].sort());
    expect(studyUids({ StudyInstanceUID: `${a}\\1.2.3.4` })).toEqual([a]);
    expect(queryError(() => find({ StudyInstanceUID: '1.2.*' })).message).toMatch(/not a UID/);
  });

  it('matches ModalitiesInStudy when any series has one of the modalities', () => {
    const modalities = (ModalitiesInStudy: string) =>
      find({ ModalitiesInStudy }).map((m) => m.ModalitiesInStudy);
    const withModality = (...m: string[]) => factStudies((f) => m.includes(f.modality));
    expect(modalities('CR')).toEqual(['CR', 'CR']);
    expect(
      find({ ModalitiesInStudy: 'CR\\CT' })
        .map((m) => m.StudyInstanceUID)
        .sort(),
    ).toEqual(withModality('CR', 'CT'));
    expect(withModality('CR', 'CT')).toHaveLength(6);
    expect(modalities('S?')).toEqual(['SR']);
  });

  it('answers keys the index does not hold as empty, and refuses to match on them', () => {
    const [match] = find({ AccessionNumber: 'BRGA000501', SeriesDate: '', OtherPatientIDs: '' });
    expect(match).toMatchObject({ SeriesDate: '', OtherPatientIDs: '' });
    expect(queryError(() => find({ AccessionNumber: '2', OtherPatientIDs: 'X' })).key).toBe(
      'OtherPatientIDs',
    );
    // A series key in a study query: answered empty, refused as a matching key.
    expect(find({ AccessionNumber: 'BRGA000501', Modality: '' })[0]?.Modality).toBe('');
    expect(queryError(() => find({ Modality: 'MR' })).message).toBe(
      'Modality "MR": is a SERIES key, below STUDY level',
    );
    expect(queryError(() => find({ NumberOfStudyRelatedInstances: '3' })).message).toMatch(
      /return key/,
    );
  });

  it('keeps patient data out of error messages', () => {
    const error = queryError(() => find({ PatientName: 'Rossi^Mario\\Bianchi^Anna' }));
    expect(error.message).not.toContain('Rossi');
    expect(error.value).toBe('Rossi^Mario\\Bianchi^Anna');
  });
});

describe('counts', () => {
  const perStudy = (uid: string) => facts.filter((f) => f.studyUid === uid);
  const distinct = (values: string[]) => new Set(values).size;

  it('equal the instances and series committed, for every study', () => {
    const matches = find({
      StudyInstanceUID: '',
      NumberOfStudyRelatedSeries: '',
      NumberOfStudyRelatedInstances: '',
      SOPClassesInStudy: '',
    });
    expect(matches.map((m) => m.StudyInstanceUID).sort()).toEqual(factStudies(() => true));
    for (const match of matches) {
      const studyFacts = perStudy(match.StudyInstanceUID!);
      const instances = distinct(studyFacts.map((f) => f.sopInstanceUid));
      expect(match.NumberOfStudyRelatedInstances).toBe(String(instances));
      expect(match.NumberOfStudyRelatedSeries).toBe(
        String(distinct(studyFacts.map((f) => f.seriesUid))),
      );
      expect(match.SOPClassesInStudy).toBe(
        [...new Set(studyFacts.map((f) => f.sopClassUid))].sort().join('\\'),
      );
      expect(index.countStudyInstances(match.StudyInstanceUID!)).toBe(instances);
    }
    expect(index.countStudyInstances('1.2.3.4.5')).toBe(0);
  });

  it('per patient, at PATIENT level of Patient Root', () => {
    const patients = find(
      {
        PatientID: '',
        PatientName: '',
        NumberOfPatientRelatedStudies: '',
        NumberOfPatientRelatedSeries: '',
        NumberOfPatientRelatedInstances: '',
      },
      'PATIENT',
      'PATIENT_ROOT',
    );
    // Patients without PatientID have no unique key at this level: not answered.
    const ids = [...new Set(facts.map((f) => f.patientId).filter(Boolean))].sort();
    expect(patients.map((p) => p.PatientID)).toEqual(ids);
    for (const patient of patients) {
      const own = facts.filter((f) => f.patientId === patient.PatientID);
      expect(patient).toMatchObject({
        NumberOfPatientRelatedStudies: String(distinct(own.map((f) => f.studyUid))),
        NumberOfPatientRelatedSeries: String(distinct(own.map((f) => f.seriesUid))),
        NumberOfPatientRelatedInstances: String(distinct(own.map((f) => f.sopInstanceUid))),
      });
    }
    expect(patients.find((p) => p.PatientID === MR_PATIENT)).toMatchObject({
      PatientName: 'Doe^Peter',
      NumberOfPatientRelatedStudies: '3',
      NumberOfPatientRelatedInstances: '17',
    });
  });
});
