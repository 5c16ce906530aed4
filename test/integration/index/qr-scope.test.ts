import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeIdentifier } from '../../../src/dicom/identifier-decode.js';
import { encodeIdentifier, identifierOf } from '../../../src/dicom/identifier.js';
import { QrRefusal } from '../../../src/dimse/qr-service.js';
import { Status } from '../../../src/dimse/status.js';
import { StudyIndex, type MatchKeys, type QrScope } from '../../../src/index/study-index.js';
import { IndexQrService } from '../../../src/qr/index-qr-service.js';
import type { QrScopeSettings } from '../../../src/qr/answer-scope.js';
import type { ObjectStore } from '../../../src/storage/object-store.js';
import { makeInstance, makeTempDir, seriesUid, sopUid, studyUid } from './fixtures.js';

/*
 * What the Q/R SCP's configuration changes in its answers: the issuer of patient IDs assumed
 * for patients stored without one, and studies withheld until complete as held.
 */

const ISSUER = 'ASL_TO3';
let cleanup: () => void;
let index: StudyIndex;

beforeEach(() => {
  let dir: string;
  ({ dir, cleanup } = makeTempDir());
  index = StudyIndex.open(join(dir, 'index.sqlite'));
  // Study 1: PAT-1 without issuer, two series. Study 2: PAT-1 under another issuer. Study 3:
  // PAT-3 under the issuer assumed. All with accession number ACC-1.
  const instance = (study: number, series: number, patient: { id?: string; issuer?: string }) =>
    makeInstance({ study, series, sop: 1, studyValues: { accessionNumber: 'ACC-1' }, patient });
  index.commitInstances([
    instance(1, 1, {}),
    instance(1, 2, {}),
    instance(2, 1, { issuer: 'ASL_CN1' }),
    instance(3, 1, { id: 'PAT-3', issuer: ISSUER }),
  ]);
});

afterEach(() => {
  index.close();
  cleanup();
});

/** Study UID → the IssuerOfPatientID it was answered with. */
function studies(keys: MatchKeys, scope?: QrScope): Record<string, string> {
  const matches = index.query(
    'STUDY_ROOT',
    'STUDY',
    { IssuerOfPatientID: '', ...keys },
    undefined,
    scope,
  );
  return Object.fromEntries(matches.map((m) => [m.StudyInstanceUID!, m.IssuerOfPatientID!]));
}

describe('queryRetrieve.issuerOfPatientId', () => {
  const scope = { issuerOfPatientId: ISSUER };

  it('matches patients stored without an issuer and answers them with it', () => {
    expect(studies({ PatientID: 'PAT-1', IssuerOfPatientID: ISSUER }, scope)).toEqual({
      [studyUid(1)]: ISSUER,
    });
    expect(studies({ AccessionNumber: 'ACC-1', IssuerOfPatientID: ISSUER }, scope)).toEqual({
      [studyUid(1)]: ISSUER,
      [studyUid(3)]: ISSUER,
    });
    expect(studies({ IssuerOfPatientID: 'ASL_T*' }, scope)).toEqual({
      [studyUid(1)]: ISSUER,
      [studyUid(3)]: ISSUER,
    });
    // No patient is without an issuer any more.
    expect(studies({ IssuerOfPatientID: '""' }, scope)).toEqual({});
  });

  it('leaves a patient stored with another issuer to that issuer', () => {
    expect(studies({ PatientID: 'PAT-1' }, scope)).toEqual({
      [studyUid(1)]: ISSUER,
      [studyUid(2)]: 'ASL_CN1',
    });
    expect(studies({ PatientID: 'PAT-1', IssuerOfPatientID: 'ASL_CN1' }, scope)).toEqual({
      [studyUid(2)]: 'ASL_CN1',
    });
  });

  it('matches as stored when no issuer is configured', () => {
    for (const none of [undefined, {}, { issuerOfPatientId: '' }]) {
      expect(studies({ PatientID: 'PAT-1', IssuerOfPatientID: ISSUER }, none)).toEqual({});
      expect(studies({ PatientID: 'PAT-1' }, none)).toEqual({
        [studyUid(1)]: '',
        [studyUid(2)]: 'ASL_CN1',
      });
    }
  });

  it('applies at PATIENT level and to retrieves', () => {
    const patients = index.query(
      'PATIENT_ROOT',
      'PATIENT',
      { PatientID: 'PAT-1', IssuerOfPatientID: ISSUER },
      undefined,
      scope,
    );
    expect(patients).toEqual([{ PatientID: 'PAT-1', IssuerOfPatientID: ISSUER }]);
    const retrieve = (issuer: string) =>
      index
        .instancesFor(
          'STUDY_ROOT',
          'STUDY',
          { StudyInstanceUID: `${studyUid(1)}\\${studyUid(2)}`, IssuerOfPatientID: issuer },
          scope,
        )
        .map((item) => item.sopInstanceUid);
    expect(retrieve(ISSUER)).toEqual([sopUid(1, 1, 1), sopUid(1, 2, 1)]);
    expect(retrieve('ASL_CN1')).toEqual([sopUid(2, 1, 1)]);
  });
});

describe('queryRetrieve.incompleteStudies: withhold', () => {
  const complete = (arriving: string[] = []): QrScope => ({ completeOnly: { arriving } });

  it('answers no study still arriving, at STUDY, SERIES and IMAGE level', () => {
    const arriving = complete([studyUid(1)]);
    expect(Object.keys(studies({ AccessionNumber: 'ACC-1' }, arriving)).sort()).toEqual(
      [studyUid(2), studyUid(3)].sort(),
    );
    const series = (scope: QrScope) =>
      index.query('STUDY_ROOT', 'SERIES', { StudyInstanceUID: studyUid(1) }, undefined, scope);
    const images = (scope: QrScope) =>
      index.query(
        'STUDY_ROOT',
        'IMAGE',
        { StudyInstanceUID: studyUid(1), SeriesInstanceUID: seriesUid(1, 1) },
        undefined,
        scope,
      );
    expect(series(arriving)).toEqual([]);
    expect(images(arriving)).toEqual([]);
    expect(series(complete()).map((m) => m.SeriesInstanceUID)).toEqual([
      seriesUid(1, 1),
      seriesUid(1, 2),
    ]);
    expect(images(complete()).map((m) => m.SOPInstanceUID)).toEqual([sopUid(1, 1, 1)]);
    // A patient is answered as held: PATIENT level has no study to withhold.
    const patients = index.query('PATIENT_ROOT', 'PATIENT', { PatientID: 'PAT-1' }, 1, arriving);
    expect(patients).toHaveLength(1);
  });

  it('answers no study holding fewer instances than the PACS announced', () => {
    index.setExpectedInstances(studyUid(1), 3);
    expect(studies({ PatientID: 'PAT-1' }, complete())).toEqual({ [studyUid(2)]: 'ASL_CN1' });
    expect(Object.keys(studies({ PatientID: 'PAT-1' }))).toHaveLength(2);
    index.setExpectedInstances(studyUid(1), 2);
    expect(Object.keys(studies({ PatientID: 'PAT-1' }, complete()))).toHaveLength(2);
  });
});

describe('the Q/R service within its configured scope', () => {
  const request = { callingAe: 'O3-DPACS', calledAe: 'BRIDGE', model: 'STUDY_ROOT' as const };

  function service(settings: QrScopeSettings): IndexQrService {
    // find() and select() read the index only, never the store.
    return new IndexQrService(index, {} as ObjectStore, {
      moveDestinations: [],
      maxConcurrentRetrieves: 1,
      maxMatches: 10,
      transcoding: 'none',
      sendTimeoutMs: 1000,
      ...settings,
    });
  }

  function identifier(keys: Record<string, string>) {
    const encoding = { explicitVr: false };
    const bytes = encodeIdentifier(
      identifierOf({ QueryRetrieveLevel: 'STUDY', ...keys }),
      encoding,
    );
    return decodeIdentifier(bytes, encoding);
  }

  it('refuses with 0xC000 to retrieve a study still arriving, asking for a retry', () => {
    const arriving = [studyUid(1)];
    const withholding = service({ incompleteStudies: 'withhold', arrivingStudies: () => arriving });
    const keys = { StudyInstanceUID: studyUid(1) };
    let refusal: unknown;
    try {
      withholding.select(request, identifier(keys));
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(QrRefusal);
    expect(refusal).toMatchObject({ status: Status.UnableToProcess });
    expect((refusal as Error).message).toMatch(/^study not complete yet, retry later/);
    expect((refusal as Error).message).toContain(studyUid(1));
    expect(withholding.find(request, identifier({ ...keys, AccessionNumber: '' }))).toEqual([]);

    arriving.length = 0;
    expect(withholding.select(request, identifier(keys))).toHaveLength(2);
    expect(withholding.find(request, identifier({ ...keys, AccessionNumber: '' }))).toHaveLength(1);
    const answering = service({
      incompleteStudies: 'answer',
      arrivingStudies: () => [studyUid(1)],
    });
    expect(answering.select(request, identifier(keys))).toHaveLength(2);
  });

  it('answers the issuer it assumes in the response identifier', () => {
    const answers = service({ issuerOfPatientId: ISSUER }).find(
      request,
      identifier({
        AccessionNumber: 'ACC-1',
        PatientID: 'PAT-1',
        IssuerOfPatientID: ISSUER,
        StudyInstanceUID: '',
      }),
    );
    expect(answers).toHaveLength(1);
    expect(answers[0]!.get(0x00100021)?.value).toBe(ISSUER);
    expect(answers[0]!.get(0x0020000d)?.value).toBe(studyUid(1));
  });
});
