import { describe, expect, it } from 'vitest';
import {
  InvalidUidError,
  MAX_UID_LENGTH,
  assertValidUid,
  isValidUid,
} from '../../../src/dicom/uid.js';

/** A UID of exactly `length` characters: digits and dots. */
function uidOfLength(length: number): string {
  const base = '1.2.840.10008.';
  return base + '1'.repeat(length - base.length);
}

describe('UID validation (PS3.5 9.1)', () => {
  it('accepts well-formed UIDs up to 64 characters', () => {
    expect(MAX_UID_LENGTH).toBe(64);
    for (const uid of [
      '1',
      '0',
      '1.2',
      '1.2.840.10008.1.2.1',
      '2.25.121393553256475818467689392626788434393.5.3',
      uidOfLength(63),
      uidOfLength(64),
    ]) {
      expect(isValidUid(uid), uid).toBe(true);
      expect(() => assertValidUid('SOPInstanceUID', uid)).not.toThrow();
    }
    expect(uidOfLength(64)).toHaveLength(64);
  });

  it('rejects a UID of 65 characters', () => {
    const uid = uidOfLength(65);
    expect(uid).toHaveLength(65);
    expect(isValidUid(uid)).toBe(false);
  });

  it('rejects empty, dots in the wrong place, letters, padding, whitespace and paths', () => {
    const bad = [
      '',
      '.1.2.3',
      '1.2.3.',
      '1..2',
      '.',
      '1.2.3.abc',
      '1.2.3a',
      '1.2.3\0',
      '1.2.3 ',
      ' 1.2.3',
      '1.2.\n3',
      '1,2,3',
      '-1.2',
      '1.2.+3',
      '1.2.3e5',
      '../../../../tmp/bridge-escape',
      '1.2/3',
      '1.2\\3',
      '１.２', // full-width digits
    ];
    for (const uid of bad) expect(isValidUid(uid), JSON.stringify(uid)).toBe(false);
  });

  it('throws InvalidUidError naming the field and value', () => {
    let error: unknown;
    try {
      assertValidUid('StudyInstanceUID', '1.2.3.abc');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidUidError);
    expect(error).toBeInstanceOf(Error);
    const invalid = error as InvalidUidError;
    expect(invalid.name).toBe('InvalidUidError');
    expect(invalid.field).toBe('StudyInstanceUID');
    expect(invalid.value).toBe('1.2.3.abc');
    expect(invalid.message).toContain('StudyInstanceUID');
    expect(invalid.message).toContain('"1.2.3.abc"');
  });

  it('keeps the error message short for a huge value', () => {
    const huge = `1.${'2'.repeat(10_000)}`;
    expect(() => assertValidUid('SeriesInstanceUID', huge)).toThrow(InvalidUidError);
    try {
      assertValidUid('SeriesInstanceUID', huge);
    } catch (error) {
      expect((error as Error).message.length).toBeLessThan(200);
    }
  });
});
