import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../../src/index/migrations.js';
import { IndexError, SERIES_IN_OTHER_STUDY, StudyIndex } from '../../../src/index/study-index.js';
import { makeInstance, makeTempDir, seriesUid, sopUid, studyUid } from './fixtures.js';

let dir: string;
let cleanup: () => void;
let dbPath: string;
const opened: StudyIndex[] = [];

function openIndex(): StudyIndex {
  const index = StudyIndex.open(dbPath);
  opened.push(index);
  return index;
}

/** A second, plain connection to look at what is really in the file. */
function rawCount(sql: string): number {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** What `fn` throws; undefined when it returns. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

beforeEach(() => {
  ({ dir, cleanup } = makeTempDir());
  // A folder that does not exist yet: open must create it.
  dbPath = join(dir, 'nested', 'index.sqlite');
});

afterEach(() => {
  for (const index of opened.splice(0)) index.close();
  cleanup();
});

describe('StudyIndex.open', () => {
  it('creates the file, applies the migrations once, and is idempotent on reopen', () => {
    openIndex().close();
    openIndex().close();
    const index = openIndex();
    expect(rawCount('SELECT COUNT(*) AS n FROM schema_migrations')).toBe(MIGRATIONS.length);
    expect(index.countInstances()).toBe(0);
  });

  it('puts the file in WAL mode', () => {
    openIndex();
    const db = new Database(dbPath, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });

  it('refuses a database migrated by a newer version', () => {
    openIndex().close();
    const db = new Database(dbPath);
    db.prepare("INSERT INTO schema_migrations VALUES (99, 'future', '2030-01-01')").run();
    db.close();
    expect(() => openIndex()).toThrow(IndexError);
  });

  it('wraps a file that cannot be opened in IndexError', () => {
    // The folder itself is not a database file.
    expect(() => StudyIndex.open(dir)).toThrow(IndexError);
  });
});

describe('commitInstances', () => {
  it('indexes a batch with several studies and series, with counts and modalities', () => {
    const index = openIndex();
    const result = index.commitInstances([
      makeInstance({ study: 1, series: 1, sop: 1 }),
      makeInstance({ study: 1, series: 1, sop: 2 }),
      makeInstance({ study: 1, series: 2, sop: 1, seriesValues: { modality: 'SR' } }),
      makeInstance({ study: 1, series: 3, sop: 1, seriesValues: { modality: 'CT' } }),
      makeInstance({
        study: 2,
        series: 1,
        sop: 1,
        patient: { id: 'PAT-2', name: 'Bianchi^Anna' },
        studyValues: { date: '20240302', description: 'RM ENCEFALO' },
        seriesValues: { modality: 'MR' },
      }),
    ]);
    expect(result).toEqual({ inserted: 5, alreadyIndexed: 0 });
    expect(index.countInstances()).toBe(5);

    const studies = index.listStudies();
    expect(studies.map((s) => s.studyUid)).toEqual([studyUid(2), studyUid(1)]); // newest first
    expect(studies[1]).toEqual({
      studyUid: studyUid(1),
      patientId: 'PAT-1',
      patientName: 'Rossi^Mario',
      accessionNumber: 'ACC-1',
      accessionIssuer: undefined,
      studyDate: '20240301',
      description: 'CT TORACE',
      modalities: ['CT', 'SR'],
      seriesCount: 3,
      instanceCount: 4,
      expectedInstances: undefined,
      status: 'receiving',
    });
    expect(studies[0]).toMatchObject({ modalities: ['MR'], seriesCount: 1, instanceCount: 1 });

    const series = index.listSeries(studyUid(1));
    expect(series.map((s) => [s.seriesNumber, s.modality, s.instanceCount])).toEqual([
      [1, 'CT', 2],
      [2, 'SR', 1],
      [3, 'CT', 1],
    ]);
    const instances = index.listInstances(seriesUid(1, 1));
    expect(instances.map((i) => i.sopInstanceUid)).toEqual([sopUid(1, 1, 1), sopUid(1, 1, 2)]);
    expect(instances[0]).toMatchObject({
      seriesUid: seriesUid(1, 1),
      studyUid: studyUid(1),
      sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
      instanceNumber: 1,
      frames: undefined,
      transferSyntaxUid: '1.2.840.10008.1.2.1',
      sizeBytes: 1024,
      receivedAt: '2024-03-01T10:20:00.000Z',
      callingAe: 'PACS',
    });
  });

  it('keeps modalities up to date across batches', () => {
    const index = openIndex();
    index.commitInstances([makeInstance({ study: 1, series: 1, sop: 1 })]);
    expect(index.getStudy(studyUid(1))?.modalities).toEqual(['CT']);
    index.commitInstances([
      makeInstance({ study: 1, series: 2, sop: 1, seriesValues: { modality: 'PR' } }),
    ]);
    index.commitInstances([
      makeInstance({ study: 1, series: 3, sop: 1, seriesValues: { modality: undefined } }),
    ]);
    expect(index.getStudy(studyUid(1))).toMatchObject({
      modalities: ['CT', 'PR'],
      seriesCount: 3,
      instanceCount: 3,
    });
  });

  it('finds an indexed instance and its location', () => {
    const index = openIndex();
    const item = makeInstance({ study: 1, series: 1, sop: 1 });
    index.commitInstances([item]);
    expect(index.findInstance(sopUid(1, 1, 1))).toEqual({
      datasetSha256: item.datasetSha256,
      storageKey: item.storageKey,
      seriesUid: seriesUid(1, 1),
      studyUid: studyUid(1),
    });
    expect(index.findInstance(sopUid(1, 1, 2))).toBeUndefined();
  });

  it('does not count an instance twice, across batches or within one', () => {
    const index = openIndex();
    const batch = [
      makeInstance({ study: 1, series: 1, sop: 1 }),
      makeInstance({ study: 1, series: 1, sop: 2 }),
    ];
    index.commitInstances(batch);
    expect(index.commitInstances(batch)).toEqual({ inserted: 0, alreadyIndexed: 2 });
    expect(
      index.commitInstances([batch[0]!, makeInstance({ study: 1, series: 1, sop: 3 }), batch[0]!]),
    ).toEqual({ inserted: 1, alreadyIndexed: 2 });
    expect(index.countInstances()).toBe(3);
    expect(index.getStudy(studyUid(1))?.instanceCount).toBe(3);
    expect(index.listSeries(studyUid(1))[0]?.instanceCount).toBe(3);
  });

  it('leaves an already indexed instance as it was', () => {
    const index = openIndex();
    const first = makeInstance({ study: 1, series: 1, sop: 1 });
    index.commitInstances([first]);
    index.commitInstances([{ ...first, storageKey: 'elsewhere', callingAe: 'OTHER' }]);
    expect(index.findInstance(sopUid(1, 1, 1))?.storageKey).toBe(first.storageKey);
  });

  it('fills in missing study and series values without overwriting existing ones', () => {
    const index = openIndex();
    index.commitInstances([
      makeInstance({
        study: 1,
        series: 1,
        sop: 1,
        studyValues: { accessionNumber: undefined, description: undefined },
        seriesValues: { modality: undefined, description: undefined },
      }),
      makeInstance({
        study: 1,
        series: 1,
        sop: 2,
        studyValues: {
          accessionNumber: undefined,
          description: 'First description',
          referringPhysician: 'Verdi^Luca',
        },
        seriesValues: { modality: 'CT', description: 'Assiale' },
      }),
    ]);
    index.commitInstances([
      makeInstance({
        study: 1,
        series: 1,
        sop: 3,
        studyValues: { accessionNumber: 'ACC-LATE', description: 'Second description' },
        seriesValues: { modality: 'MR', description: 'Coronale' },
      }),
    ]);
    expect(index.getStudy(studyUid(1))).toMatchObject({
      accessionNumber: 'ACC-LATE',
      description: 'First description',
      referringPhysician: 'Verdi^Luca',
      modalities: ['CT'],
    });
    expect(index.listSeries(studyUid(1))[0]).toMatchObject({
      modality: 'CT',
      description: 'Assiale',
    });
  });

  it('dedups a patient without issuer, and keeps issuers apart', () => {
    const index = openIndex();
    index.commitInstances([
      makeInstance({ study: 1, series: 1, sop: 1, patient: { issuer: undefined } }),
      makeInstance({ study: 2, series: 1, sop: 1, patient: { issuer: undefined } }),
      makeInstance({ study: 3, series: 1, sop: 1, patient: { issuer: 'HOSP-A' } }),
    ]);
    index.commitInstances([
      makeInstance({ study: 4, series: 1, sop: 1, patient: { issuer: undefined } }),
    ]);
    expect(rawCount('SELECT COUNT(*) AS n FROM patients')).toBe(2);
    expect(index.getStudy(studyUid(1))?.patientIssuer).toBeUndefined();
    expect(index.getStudy(studyUid(3))?.patientIssuer).toBe('HOSP-A');
  });

  it('never merges patients without PatientID, but keeps one per study', () => {
    const index = openIndex();
    index.commitInstances([
      makeInstance({ study: 1, series: 1, sop: 1, patient: { id: undefined, name: 'A^B' } }),
      makeInstance({ study: 1, series: 1, sop: 2, patient: { id: undefined, name: 'A^B' } }),
      makeInstance({ study: 2, series: 1, sop: 1, patient: { id: undefined, name: 'C^D' } }),
    ]);
    expect(rawCount('SELECT COUNT(*) AS n FROM patients')).toBe(2);
    expect(index.getStudy(studyUid(1))).toMatchObject({ patientId: undefined, patientName: 'A^B' });
    expect(index.getStudy(studyUid(2))?.patientName).toBe('C^D');
  });

  it('keeps the study under its first patient when an instance names another', () => {
    const index = openIndex();
    index.commitInstances([
      makeInstance({ study: 1, series: 1, sop: 1 }),
      makeInstance({ study: 1, series: 1, sop: 2, patient: { id: 'PAT-OTHER', name: 'X^Y' } }),
    ]);
    expect(index.getStudy(studyUid(1))).toMatchObject({
      patientId: 'PAT-1',
      patientName: 'Rossi^Mario',
      instanceCount: 2,
    });
  });

  it('refuses an instance whose series is indexed under another study, merging nothing', () => {
    const index = openIndex();
    index.commitInstances([makeInstance({ study: 1, series: 1, sop: 1 })]);
    // Study 2, another patient's, reusing study 1's SeriesInstanceUID (a sender's mistake).
    const reused = makeInstance({ study: 2, series: 1, sop: 1, patient: { id: 'PAT-2' } });
    reused.metadata.series.uid = seriesUid(1, 1);
    const other = makeInstance({ study: 3, series: 1, sop: 1 });
    for (const batch of [[reused], [other, reused]]) {
      const error = thrown(() => index.commitInstances(batch));
      expect(error).toBeInstanceOf(IndexError);
      expect(error).toMatchObject({ code: SERIES_IN_OTHER_STUDY });
      expect((error as Error).message).toContain(studyUid(2));
    }
    // All or nothing: neither study 2 nor the rest of the batch was indexed.
    expect(index.listStudies().map((s) => s.studyUid)).toEqual([studyUid(1)]);
    expect(index.seriesStudy(seriesUid(1, 1))).toBe(studyUid(1));
    expect(index.listInstances(seriesUid(1, 1)).map((i) => i.sopInstanceUid)).toEqual([
      sopUid(1, 1, 1),
    ]);
    expect(index.seriesStudy(seriesUid(9, 9))).toBeUndefined();
  });

  it('rolls back the whole batch when one instance fails', () => {
    const index = openIndex();
    index.commitInstances([makeInstance({ study: 1, series: 1, sop: 1 })]);
    const batch = [
      makeInstance({ study: 1, series: 1, sop: 2 }),
      makeInstance({ study: 2, series: 1, sop: 1, patient: { id: 'PAT-NEW' } }),
      // Negative size violates a CHECK constraint in the middle of the batch.
      makeInstance({ study: 3, series: 1, sop: 1, sizeBytes: -1 }),
      makeInstance({ study: 4, series: 1, sop: 1 }),
    ];
    const error = thrown(() => index.commitInstances(batch));
    expect(error).toBeInstanceOf(IndexError);
    expect(error).toMatchObject({ name: 'IndexError', code: 'SQLITE_CONSTRAINT_CHECK' });
    expect((error as Error).cause).toBeInstanceOf(Error);

    expect(index.countInstances()).toBe(1);
    expect(index.listStudies().map((s) => s.studyUid)).toEqual([studyUid(1)]);
    expect(index.getStudy(studyUid(1))?.instanceCount).toBe(1);
    expect(rawCount('SELECT COUNT(*) AS n FROM patients')).toBe(1);
    expect(rawCount('SELECT COUNT(*) AS n FROM series')).toBe(1);

    // The index stays usable after the failure.
    expect(index.commitInstances(batch.filter((_, i) => i !== 2)).inserted).toBe(3);
  });
});

describe('persistence and text', () => {
  it('round-trips UTF-8 names and keeps data across close and reopen', () => {
    const index = openIndex();
    index.commitInstances([
      makeInstance({
        study: 1,
        series: 1,
        sop: 1,
        patient: { name: 'Müller^Jörg' },
        studyValues: { description: 'Ödem — 胸部 CT', referringPhysician: 'Çelik^Ayşe' },
      }),
    ]);
    index.close();

    const reopened = openIndex();
    expect(reopened.countInstances()).toBe(1);
    expect(reopened.getStudy(studyUid(1))).toMatchObject({
      patientName: 'Müller^Jörg',
      description: 'Ödem — 胸部 CT',
      referringPhysician: 'Çelik^Ayşe',
      instanceCount: 1,
    });
    expect(reopened.listStudies()[0]?.patientName).toBe('Müller^Jörg');
  });
});

describe('clear and close', () => {
  it('clear empties every table and the index accepts new rows afterwards', () => {
    const index = openIndex();
    index.commitInstances([
      makeInstance({ study: 1, series: 1, sop: 1 }),
      makeInstance({ study: 2, series: 1, sop: 1 }),
    ]);
    index.clear();
    expect(index.countInstances()).toBe(0);
    expect(index.listStudies()).toEqual([]);
    expect(rawCount('SELECT COUNT(*) AS n FROM patients')).toBe(0);
    expect(rawCount('SELECT COUNT(*) AS n FROM schema_migrations')).toBe(MIGRATIONS.length);
    index.commitInstances([makeInstance({ study: 1, series: 1, sop: 1 })]);
    expect(index.getStudy(studyUid(1))?.instanceCount).toBe(1);
  });

  it('close is idempotent and later calls throw IndexError', () => {
    const index = openIndex();
    index.close();
    index.close();
    expect(() => index.countInstances()).toThrow(IndexError);
    expect(() => index.commitInstances([makeInstance({ study: 1, series: 1, sop: 1 })])).toThrow(
      /closed/,
    );
  });
});
