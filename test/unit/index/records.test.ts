import { describe, expect, it } from 'vitest';
import { IndexError, toIndexError } from '../../../src/index/errors.js';
import { joinModalities, toStudyRecord } from '../../../src/index/records.js';
import type { StudyRow } from '../../../src/index/records.js';

describe('joinModalities', () => {
  it('sorts and dedups', () => {
    expect(joinModalities(['SR', 'CT', 'CT', 'PR'])).toBe('CT,PR,SR');
    expect(joinModalities([])).toBe('');
  });
});

describe('toStudyRecord', () => {
  const row: StudyRow = {
    study_uid: '1.2.3',
    patient_id: null,
    patient_issuer: '',
    patient_name: 'Müller^Jörg',
    patient_birth_date: null,
    patient_sex: null,
    accession_number: 'A1',
    accession_issuer: null,
    study_date: null,
    study_time: null,
    description: null,
    referring_physician: null,
    study_id: null,
    modalities: '',
    series_count: 0,
    received_instances: 0,
    expected_instances: null,
    status: 'receiving',
    created_at: '2024-01-01T00:00:00.000Z',
    updated_at: '2024-01-01T00:00:00.000Z',
  };

  it('maps NULL and the stored empty issuer to undefined', () => {
    const record = toStudyRecord(row);
    expect(record.patientId).toBeUndefined();
    expect(record.patientIssuer).toBeUndefined();
    expect(record.expectedInstances).toBeUndefined();
    expect(record.patientName).toBe('Müller^Jörg');
  });

  it('splits modalities, and an empty list is empty', () => {
    expect(toStudyRecord(row).modalities).toEqual([]);
    expect(toStudyRecord({ ...row, modalities: 'CT,SR' }).modalities).toEqual(['CT', 'SR']);
  });
});

describe('toIndexError', () => {
  it('keeps the cause and its SQLite code', () => {
    const cause = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    const error = toIndexError('commitInstances', cause);
    expect(error).toBeInstanceOf(IndexError);
    expect(error.name).toBe('IndexError');
    expect(error.message).toBe('commitInstances failed: database is locked');
    expect(error.cause).toBe(cause);
    expect(error.code).toBe('SQLITE_BUSY');
  });

  it('passes an IndexError through and tolerates non-errors', () => {
    const original = new IndexError('closed');
    expect(toIndexError('x', original)).toBe(original);
    expect(toIndexError('x', 'boom').code).toBeUndefined();
  });
});
