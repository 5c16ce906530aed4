import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IndexWriter } from '../../../src/index/index-writer.js';
import { IndexError, QrQueryError, StudyIndex } from '../../../src/index/study-index.js';
import type { MatchKeys } from '../../../src/index/study-index.js';
import { decodeIdentifier } from '../../../src/dicom/identifier-decode.js';
import { encodeIdentifier, identifierOf } from '../../../src/dicom/identifier.js';
import { QrRefusal } from '../../../src/dimse/qr-service.js';
import { Status } from '../../../src/dimse/status.js';
import { IndexQrService } from '../../../src/qr/index-qr-service.js';
import type { ObjectStore } from '../../../src/storage/object-store.js';
import { makeInstance, makeTempDir, seriesUid, sopUid, studyUid } from './fixtures.js';

let dir: string;
let cleanup: () => void;
let index: StudyIndex;

beforeEach(() => {
  ({ dir, cleanup } = makeTempDir());
  index = StudyIndex.open(join(dir, 'index.sqlite'));
});

afterEach(() => {
  index.close();
  cleanup();
});

const find = (keys: MatchKeys) => index.query('STUDY_ROOT', 'STUDY', keys);
const accessions = (AccessionNumber: string) =>
  find({ AccessionNumber })
    .map((m) => m.AccessionNumber)
    .sort();

describe('values are data, never SQL', () => {
  beforeEach(() => {
    index.commitInstances(
      ['A%1', 'A_1', 'AB1', 'AX1', 'A[1]', "O'Brien"].map((accessionNumber, i) =>
        makeInstance({
          study: i + 1,
          series: 1,
          sop: 1,
          studyValues: { accessionNumber },
          patient: { id: `PAT-${i + 1}`, name: i === 5 ? "O'Brien^Pat" : 'Rossi^Mario' },
        }),
      ),
    );
  });

  it('takes % and _ literally, in single values and wild cards', () => {
    expect(accessions('A%1')).toEqual(['A%1']);
    expect(accessions('A_1')).toEqual(['A_1']);
    expect(accessions('A_*')).toEqual(['A_1']);
    expect(accessions('*%*')).toEqual(['A%1']);
    expect(accessions('A?1')).toEqual(['A%1', 'AB1', 'AX1', 'A_1']);
    expect(accessions('%')).toEqual([]);
    expect(accessions('_*')).toEqual([]);
  });

  it('takes [ and ] literally', () => {
    expect(accessions('A[1]')).toEqual(['A[1]']);
    expect(accessions('A[*')).toEqual(['A[1]']);
    expect(accessions('A[BX]1')).toEqual([]);
  });

  it('matches injection-looking values against nothing, leaving the index intact', () => {
    const attempts = [
      "x' OR '1'='1",
      "'; DROP TABLE studies; --",
      '1) OR (1=1',
      "*' OR 1=1 --",
      '" OR ""="',
    ];
    for (const value of attempts) {
      expect(find({ AccessionNumber: value })).toEqual([]);
      expect(find({ PatientID: value })).toEqual([]);
      expect(find({ PatientName: value })).toEqual([]);
      expect(find({ StudyDescription: value })).toEqual([]);
    }
    expect(accessions("O'Brien")).toEqual(["O'Brien"]);
    expect(find({ PatientName: "o'brien^*" })).toHaveLength(1);
    expect(index.countInstances()).toBe(6);
    expect(index.listStudies()).toHaveLength(6);
  });

  it('never puts keywords into SQL: unknown ones are answered empty or refused', () => {
    const keyword = 'AccessionNumber FROM studies; DROP TABLE studies; --';
    const odd = { [keyword]: '', constructor: '', ['__proto__']: '' };
    expect(find({ AccessionNumber: 'AB1', ...odd })).toEqual([
      { StudyInstanceUID: studyUid(3), AccessionNumber: 'AB1', ...odd },
    ]);
    expect(Object.keys(find({ AccessionNumber: 'AB1', ...odd })[0]!)).toContain('__proto__');
    expect(() => find({ [keyword]: 'x' })).toThrow(QrQueryError);
    expect(() => find({ toString: 'x' })).toThrow(QrQueryError);
    expect(index.countInstances()).toBe(6);
  });
});

describe('value lengths', () => {
  const atLimit = `CT TORACE ${'X'.repeat(54)}`;
  const longName = `${'A'.repeat(64)}=${'B'.repeat(64)}=${'C'.repeat(64)}`;
  // Stored values may be far longer than any query value (ingest keeps up to 1 MiB).
  const longDescription = `${'a'.repeat(100_000)}b`;

  beforeEach(() => {
    index.commitInstances([
      makeInstance({
        study: 1,
        series: 1,
        sop: 1,
        studyValues: { description: atLimit },
        patient: { id: 'PAT-1', name: longName },
      }),
      makeInstance({
        study: 2,
        series: 1,
        sop: 1,
        studyValues: { description: longDescription },
        patient: { id: 'PAT-2', name: `Bianchi^${'x'.repeat(100_000)}` },
      }),
    ]);
  });

  const studies = (keys: MatchKeys) => find(keys).map((m) => m.StudyInstanceUID);

  /** C-FIND through the Q/R service, as the SCP calls it: the refusal it answers with. */
  function refusal(keys: Record<string, string>): QrRefusal {
    // find() reads the index only, never the store.
    const service = new IndexQrService(index, {} as ObjectStore, {
      moveDestinations: [],
      maxConcurrentRetrieves: 1,
      maxMatches: 10,
      transcoding: 'none',
      sendTimeoutMs: 1000,
    });
    const encoding = { explicitVr: true };
    const bytes = encodeIdentifier(
      identifierOf({ QueryRetrieveLevel: 'STUDY', ...keys }),
      encoding,
    );
    const request = { callingAe: 'SCU', calledAe: 'BRIDGE', model: 'STUDY_ROOT' as const };
    try {
      service.find(request, decodeIdentifier(bytes, encoding));
    } catch (error) {
      expect(error).toBeInstanceOf(QrRefusal);
      return error as QrRefusal;
    }
    throw new Error('expected a QrRefusal');
  }

  it('matches values at the limit, also wild cards against longer stored values', () => {
    expect(atLimit).toHaveLength(64);
    expect(studies({ StudyDescription: atLimit })).toEqual([studyUid(1)]);
    const wild = `*${'a'.repeat(62)}b`;
    expect(wild).toHaveLength(64);
    expect(studies({ StudyDescription: wild })).toEqual([studyUid(2)]);
    expect(longName).toHaveLength(194);
    expect(studies({ PatientName: longName })).toEqual([studyUid(1)]);
    expect(studies({ PatientName: 'bianchi^x*' })).toEqual([studyUid(2)]);
  });

  it('refuses a longer value with 0xA900, naming the key', () => {
    const description = refusal({ StudyDescription: `${atLimit}X` });
    expect(description.status).toBe(Status.IdentifierDoesNotMatchSopClass);
    expect(description.message).toMatch(/^StudyDescription ".*": is longer than 64 characters$/);
    const name = refusal({ PatientName: `${longName}C` });
    expect(name.status).toBe(Status.IdentifierDoesNotMatchSopClass);
    expect(name.message).toBe(
      'PatientName (value withheld: patient data): is longer than 194 characters',
    );
    // A pattern SQLite would take seconds over against the long stored description.
    const error = refusal({ StudyDescription: `*${'a'.repeat(49_990)}b` });
    expect(error.status).toBe(Status.IdentifierDoesNotMatchSopClass);
    expect(error.message).toMatch(/^StudyDescription /);
    expect(() => find({ AccessionNumber: '1'.repeat(65) })).toThrow(QrQueryError);
  });
});

describe('what is answered', () => {
  it('leaves out series and studies whose instances were all removed', () => {
    index.commitInstances([
      makeInstance({ study: 1, series: 1, sop: 1 }),
      makeInstance({ study: 1, series: 2, sop: 1, seriesValues: { modality: 'SR' } }),
      makeInstance({ study: 2, series: 1, sop: 1 }),
    ]);
    index.removeInstance(sopUid(1, 2, 1));
    index.removeInstance(sopUid(2, 1, 1));
    expect(find({ ModalitiesInStudy: '', NumberOfStudyRelatedSeries: '' })).toEqual([
      { StudyInstanceUID: studyUid(1), ModalitiesInStudy: 'CT', NumberOfStudyRelatedSeries: '1' },
    ]);
    expect(find({ ModalitiesInStudy: 'SR' })).toEqual([]);
    expect(index.query('STUDY_ROOT', 'SERIES', { StudyInstanceUID: studyUid(1) })).toEqual([
      { StudyInstanceUID: studyUid(1), SeriesInstanceUID: seriesUid(1, 1) },
    ]);
    expect(
      index.query('PATIENT_ROOT', 'PATIENT', { PatientID: '', NumberOfPatientRelatedStudies: '' }),
    ).toEqual([{ PatientID: 'PAT-1', NumberOfPatientRelatedStudies: '1' }]);
    expect(index.countStudyInstances(studyUid(2))).toBe(0);
  });

  it('answers ModalitiesInStudy as a sorted list, and empty value matching', () => {
    index.commitInstances([
      makeInstance({ study: 1, series: 1, sop: 1, seriesValues: { modality: 'SR' } }),
      makeInstance({ study: 1, series: 2, sop: 1, seriesValues: { modality: 'CT' } }),
      makeInstance({ study: 1, series: 3, sop: 1, seriesValues: { modality: 'CT' } }),
      makeInstance({ study: 2, series: 1, sop: 1, studyValues: { accessionNumber: undefined } }),
    ]);
    expect(find({ StudyInstanceUID: studyUid(1), ModalitiesInStudy: '' })[0]).toMatchObject({
      ModalitiesInStudy: 'CT\\SR',
    });
    expect(find({ AccessionNumber: '""' })).toEqual([
      { StudyInstanceUID: studyUid(2), AccessionNumber: '' },
    ]);
    expect(find({ InstanceAvailability: '' }).map((m) => m.InstanceAvailability)).toEqual([
      'ONLINE',
      'ONLINE',
    ]);
    expect(find({ InstanceAvailability: 'NEARLINE' })).toEqual([]);
  });

  it('trims the padding of values', () => {
    index.commitInstances([makeInstance({ study: 1, series: 1, sop: 1 })]);
    expect(find({ AccessionNumber: ' ACC-1 ', StudyInstanceUID: `${studyUid(1)}\0` })).toHaveLength(
      1,
    );
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => index.query('STUDY_ROOT', 'STUDY', {}, 0)).toThrow(IndexError);
    expect(() => index.query('STUDY_ROOT', 'STUDY', {}, 1.5)).toThrow(/limit.*1\.5/);
  });
});

describe('setExpectedInstances through the writer thread', () => {
  let writer: IndexWriter | undefined;

  afterEach(async () => {
    await writer?.close();
    writer = undefined;
  });

  it('records the PACS count, also for a study not indexed yet, and clears it', async () => {
    const path = join(dir, 'index.sqlite');
    writer = await IndexWriter.start(path);
    await writer.commitInstances([makeInstance({ study: 1, series: 1, sop: 1 })]);

    await writer.setExpectedInstances(studyUid(1), 3);
    expect(index.getStudy(studyUid(1))?.expectedInstances).toBe(3);
    expect(index.countStudyInstances(studyUid(1))).toBe(1);

    // The retriever asks the PACS before it retrieves: the count waits for the study.
    await writer.setExpectedInstances(studyUid(2), 2);
    expect(index.getStudy(studyUid(2))).toBeUndefined();
    await writer.commitInstances([makeInstance({ study: 2, series: 1, sop: 1 })]);
    expect(index.getStudy(studyUid(2))?.expectedInstances).toBe(2);
    await writer.commitInstances([makeInstance({ study: 2, series: 1, sop: 2 })]);
    expect(index.getStudy(studyUid(2))).toMatchObject({ expectedInstances: 2, instanceCount: 2 });

    await writer.setExpectedInstances(studyUid(1), null);
    expect(index.getStudy(studyUid(1))?.expectedInstances).toBeUndefined();
    // Counts for C-FIND are those held, whatever the PACS announced.
    expect(
      find({ StudyInstanceUID: studyUid(2), NumberOfStudyRelatedInstances: '' })[0],
    ).toMatchObject({ NumberOfStudyRelatedInstances: '2' });
  });

  it('refuses a count that is not a non-negative integer, naming it', async () => {
    writer = await IndexWriter.start(join(dir, 'index.sqlite'));
    await expect(writer.setExpectedInstances(studyUid(1), -1)).rejects.toThrow(
      /expected instances must be a non-negative integer, got -1/,
    );
    expect(() => index.setExpectedInstances(studyUid(1), 2.5)).toThrow(IndexError);
  });
});
