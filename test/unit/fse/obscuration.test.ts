import { describe, expect, it } from 'vitest';
import {
  NOT_OBSCURED,
  ObscurationEventError,
  applyObscuration,
  deserializeObscuration,
  mayRetrieve,
  parseObscurationEvent,
  requesterKind,
  serializeObscuration,
  type Obscuration,
  type ObscurationEvent,
  type RequesterKind,
} from '../../../src/fse/obscuration.js';

const PATIENT_CF = 'RSSMRA80A01H501U';
const GUARDIAN_ROLES = new Set(['TUT', 'GEN']);

function after(...events: ObscurationEvent[]): Obscuration {
  return events.reduce(applyObscuration, NOT_OBSCURED);
}

function visibleTo(obscuration: Obscuration): RequesterKind[] {
  return (['patient', 'guardian', 'professional'] as const).filter((kind) =>
    mayRetrieve(obscuration, kind),
  );
}

describe('obscuration', () => {
  it('applies each event code as the FSE defines it', () => {
    expect(visibleTo(NOT_OBSCURED)).toEqual(['patient', 'guardian', 'professional']);
    // P99: hidden from professionals, the patient still sees it.
    expect(visibleTo(after('P99'))).toEqual(['patient', 'guardian']);
    // P97: hidden from parents and guardians acting for the patient.
    expect(visibleTo(after('P97'))).toEqual(['patient', 'professional']);
    // P98: hidden from the patient.
    expect(visibleTo(after('P98'))).toEqual(['guardian', 'professional']);
    // Codes accumulate; P00 removes every obscuration.
    expect(visibleTo(after('P99', 'P97'))).toEqual(['patient']);
    expect(visibleTo(after('P99', 'P98', 'P00'))).toEqual(['patient', 'guardian', 'professional']);
  });

  it('tells the patient by codice fiscale, guardians by configured role, others as professionals', () => {
    expect(
      requesterKind({ codiceFiscale: PATIENT_CF, role: 'MED' }, PATIENT_CF, GUARDIAN_ROLES),
    ).toBe('patient');
    expect(
      requesterKind(
        { codiceFiscale: 'rssmra80a01h501u ', role: 'ASS' },
        PATIENT_CF,
        GUARDIAN_ROLES,
      ),
    ).toBe('patient');
    expect(
      requesterKind({ codiceFiscale: 'VRDLGU70B02L219X', role: 'tut' }, PATIENT_CF, GUARDIAN_ROLES),
    ).toBe('guardian');
    expect(
      requesterKind({ codiceFiscale: 'VRDLGU70B02L219X', role: 'MED' }, PATIENT_CF, GUARDIAN_ROLES),
    ).toBe('professional');
    // Without the patient's codice fiscale nobody is recognised as the patient.
    expect(
      requesterKind({ codiceFiscale: PATIENT_CF, role: 'MED' }, undefined, GUARDIAN_ROLES),
    ).toBe('professional');
  });

  it('refuses unknown event codes, naming the value', () => {
    expect(parseObscurationEvent(' p99 ')).toBe('P99');
    expect(() => parseObscurationEvent('P42')).toThrow(ObscurationEventError);
    expect(() => parseObscurationEvent('P42')).toThrow(/value was "P42"/);
  });

  it('stores and restores the codes in force', () => {
    for (const events of [
      [],
      ['P99'],
      ['P98', 'P97'],
      ['P99', 'P97', 'P98'],
    ] as ObscurationEvent[][]) {
      const obscuration = after(...events);
      const stored = serializeObscuration(obscuration);
      expect(visibleTo(deserializeObscuration(stored))).toEqual(visibleTo(obscuration));
    }
    expect(serializeObscuration(after('P99', 'P97'))).toBe('P97,P99');
    expect(serializeObscuration(NOT_OBSCURED)).toBe('');
  });
});
