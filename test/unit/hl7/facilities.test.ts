import { describe, expect, it } from 'vitest';
import { assertFacilities, facilitiesByName } from '../../../src/hl7/facilities.js';
import { FACILITY } from '../../helpers/hl7-messages.js';

function problem(value: unknown): string {
  try {
    assertFacilities(value);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the facilities to be refused');
}

describe('facility settings', () => {
  it('accepts complete entries, optional keys included, and indexes them by MSH-4', () => {
    const second = {
      ...FACILITY,
      sendingFacility: 'ASLCN1',
      patientIdTypeCode: 'PI',
      codCL: undefined,
    };
    const byName = facilitiesByName([
      FACILITY,
      second,
      { ...FACILITY, sendingFacility: 'X', patientIdIssuer: '', accessionIssuer: '' },
    ]);
    expect([...byName.keys()]).toEqual(['ASLTO3', 'ASLCN1', 'X']);
    expect(byName.get('ASLCN1')?.patientIdTypeCode).toBe('PI');
    expect(facilitiesByName([]).size).toBe(0);
  });

  it.each([
    ['not a list', { a: 1 }, 'must be a list of facilities: value was {"a":1}'],
    ['an entry that is no object', ['ASLTO3'], 'entry 0 must be an object: value was "ASLTO3"'],
    [
      'a missing key',
      [{ ...FACILITY, accessionIssuer: undefined }],
      'entry 0 accessionIssuer is required: value was undefined',
    ],
    [
      'an unknown key',
      [{ ...FACILITY, patientIdAuthorithy: 'X' }],
      'entry 0 patientIdAuthorithy is not a facility setting (known: sendingFacility, patientIdAuthority, patientIdIssuer, accessionIssuer, patientIdTypeCode, codCL, documentIdWithoutTxa, gateway): value was "X"',
    ],
    [
      'an unknown source of document ids',
      [{ ...FACILITY, documentIdWithoutTxa: 'TXA-12' }],
      'entry 0 documentIdWithoutTxa must be accession, MSH-10, OBR-3, OBX:<code> or refuse: value was "TXA-12"',
    ],
    [
      'an empty authority',
      [{ ...FACILITY, patientIdAuthority: '' }],
      'entry 0 patientIdAuthority must be a non-empty string of at most 180 characters: value was ""',
    ],
    [
      'a number',
      [FACILITY, { ...FACILITY, sendingFacility: 'B', accessionIssuer: 3 }],
      'entry 1 accessionIssuer must be a string of at most 64 characters: value was 3',
    ],
    [
      'an issuer DICOM cannot hold',
      [{ ...FACILITY, patientIdIssuer: 'A'.repeat(65) }],
      `entry 0 patientIdIssuer must be a string of at most 64 characters: value was "${'A'.repeat(65)}"`,
    ],
    [
      'a backslash',
      [{ ...FACILITY, patientIdIssuer: 'A\\B' }],
      'entry 0 patientIdIssuer must not hold backslashes or control characters: value was "A\\\\B"',
    ],
    [
      'spaces around',
      [{ ...FACILITY, sendingFacility: ' ASLTO3' }],
      'entry 0 sendingFacility must not start or end with spaces: value was " ASLTO3"',
    ],
    [
      'an empty codCL',
      [{ ...FACILITY, codCL: '' }],
      'entry 0 codCL must be a non-empty string of at most 180 characters: value was ""',
    ],
    [
      'a facility twice',
      [FACILITY, FACILITY],
      'entry 1 sendingFacility is listed twice: value was "ASLTO3"',
    ],
  ])('refuses %s, naming the entry, key and value', (_what, value, message) => {
    expect(problem(value)).toBe(message);
  });
});
