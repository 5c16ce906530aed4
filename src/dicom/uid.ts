const UID_PATTERN = /^[0-9]+(\.[0-9]+)*$/;

/** Longest UID allowed by PS3.5 §9.1. */
export const MAX_UID_LENGTH = 64;

/** True when `value` is a syntactically valid DICOM UID (PS3.5 §9.1). */
export function isValidUid(value: string): boolean {
  return value.length > 0 && value.length <= MAX_UID_LENGTH && UID_PATTERN.test(value);
}

/** A UID that cannot be used: it would be unsafe as a storage key or is not a DICOM UID. */
export class InvalidUidError extends Error {
  override readonly name = 'InvalidUidError';
  constructor(
    readonly field: string,
    readonly value: string,
  ) {
    super(`${field} is not a valid UID: ${JSON.stringify(value.slice(0, 80))}`);
  }
}

/** Throws `InvalidUidError` naming `field` unless `value` is a valid UID. */
export function assertValidUid(field: string, value: string): void {
  if (!isValidUid(value)) throw new InvalidUidError(field, value);
}
