/**
 * Obscuration of a document in the FSE (oscuramento), and who may still retrieve its images.
 * Event codes (national FSE 2.0): P99 obscures the document to professionals (the patient still
 * sees it), P97 to parents and guardians acting for the patient, P98 to the patient; P00 removes
 * the obscuration. The codes accumulate: a document may be hidden from several kinds of
 * requester at once, and P00 clears them all.
 */

export type ObscurationEvent = 'P99' | 'P97' | 'P98' | 'P00';

/** Who asks, as far as obscuration is concerned. */
export type RequesterKind = 'patient' | 'guardian' | 'professional';

/** The kinds of requester a document is hidden from. */
export type Obscuration = ReadonlySet<RequesterKind>;

export const NOT_OBSCURED: Obscuration = new Set();

const HIDES: Readonly<Record<Exclude<ObscurationEvent, 'P00'>, RequesterKind>> = {
  P99: 'professional',
  P97: 'guardian',
  P98: 'patient',
};

/** An event code that is not one of P99, P97, P98, P00. */
export class ObscurationEventError extends Error {
  override readonly name = 'ObscurationEventError';
}

export function parseObscurationEvent(code: string): ObscurationEvent {
  const trimmed = code.trim().toUpperCase();
  if (trimmed === 'P99' || trimmed === 'P97' || trimmed === 'P98' || trimmed === 'P00')
    return trimmed;
  throw new ObscurationEventError(
    `event code must be P99, P97, P98 or P00: value was ${JSON.stringify(code.slice(0, 20))}`,
  );
}

/** The obscuration after `event`. */
export function applyObscuration(current: Obscuration, event: ObscurationEvent): Obscuration {
  if (event === 'P00') return NOT_OBSCURED;
  return new Set([...current, HIDES[event]]);
}

/**
 * What kind of requester this is: the patient when the requester's codice fiscale is the
 * patient's; otherwise a guardian or a professional by role, through the configured role codes
 * (the FSE's role catalogue is not public, so the mapping is configuration).
 */
export function requesterKind(
  requester: { codiceFiscale: string; role: string },
  patientCodiceFiscale: string | undefined,
  guardianRoles: ReadonlySet<string>,
): RequesterKind {
  if (
    patientCodiceFiscale &&
    requester.codiceFiscale.trim().toUpperCase() === patientCodiceFiscale.trim().toUpperCase()
  )
    return 'patient';
  return guardianRoles.has(requester.role.trim().toUpperCase()) ? 'guardian' : 'professional';
}

/** True when the document is visible to this kind of requester. */
export function mayRetrieve(obscuration: Obscuration, kind: RequesterKind): boolean {
  return !obscuration.has(kind);
}

/** Stored form: the event codes in force, comma-separated ('' when not obscured). */
export function serializeObscuration(obscuration: Obscuration): string {
  const codes = Object.entries(HIDES)
    .filter(([, kind]) => obscuration.has(kind))
    .map(([code]) => code);
  return codes.sort().join(',');
}

export function deserializeObscuration(stored: string): Obscuration {
  let obscuration: Obscuration = NOT_OBSCURED;
  for (const code of stored.split(',').filter(Boolean))
    obscuration = applyObscuration(obscuration, parseObscurationEvent(code));
  return obscuration;
}
