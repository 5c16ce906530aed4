/**
 * Field checks of the FSE notification messages (see `fse-messages.ts`): each returns the value
 * it accepted, or throws `FseMessageError` naming the field. Values that may be patient data are
 * never quoted in the error.
 */
import { isValidUid } from '../dicom/uid.js';

/** A message cannot be built: names the field (never the patient data it held). */
export class FseMessageError extends Error {
  override readonly name = 'FseMessageError';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field} ${problem}`);
  }
}

/** Any ASCII control character (C0 or DEL). */
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
export const CONTROL = /[\x00-\x1F\x7F]/;
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export function record(field: string, value: unknown, allowed: string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new FseMessageError(field, 'must be an object');
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      throw new FseMessageError(`${field}.${key}`, 'is not a known field');
  }
  return value as Record<string, unknown>;
}

/**
 * `{ [key]: value }` when `value` is given (checked under the name `field`), else `{}`;
 * '' counts as not given.
 */
export function optional<K extends string>(
  key: K,
  value: unknown,
  check: (field: string, value: unknown) => string,
  field: string = key,
): Partial<Record<K, string>> {
  if (value === undefined || value === '') return {};
  return { [key]: check(field, value) } as Record<K, string>;
}

export function checkText(field: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > max)
    throw new FseMessageError(field, `must be a non-blank string of at most ${max} characters`);
  if (CONTROL.test(value)) throw new FseMessageError(field, 'must not contain control characters');
  return value;
}

export function checkCodCL(field: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[\x21-\x5D\x5F-\x7E]{1,64}$/.test(value))
    throw new FseMessageError(field, `must be 1-64 printable ASCII characters without "^"`);
  return value;
}

/** Document ids travel in the Idempotency-Key header: printable ASCII, no edge spaces. */
export function checkDocumentId(field: string, value: unknown, max: number): string {
  if (
    typeof value !== 'string' ||
    value.length > max ||
    !/^[\x21-\x7E]([\x20-\x7E]*[\x21-\x7E])?$/.test(value)
  )
    throw new FseMessageError(
      field,
      `must be 1-${max} printable ASCII characters, not starting or ending with a space: ${JSON.stringify(String(value).slice(0, 80))}`,
    );
  return value;
}

export function checkCodiceFiscale(field: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Z0-9]{16}$/.test(value))
    throw new FseMessageError(field, 'must be 16 upper-case letters or digits');
  return value;
}

export function checkAccession(field: string, value: unknown): string {
  const text = checkText(field, value, 16);
  if (text.includes('\\')) throw new FseMessageError(field, 'must not contain "\\"');
  return text;
}

export function checkAeTitle(field: string, value: unknown): string {
  const text = checkText(field, value, 16);
  if (text.includes('\\')) throw new FseMessageError(field, 'must not contain "\\"');
  return text;
}

export function checkUid(field: string, value: unknown): string {
  if (typeof value !== 'string' || !isValidUid(value))
    throw new FseMessageError(
      field,
      `must be a DICOM UID (digits and dots, at most 64 characters): ${JSON.stringify(String(value).slice(0, 80))}`,
    );
  return value;
}

export function timestamp(field: string, value: unknown): string {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new FseMessageError(field, 'is an invalid date');
    return value.toISOString();
  }
  if (
    typeof value !== 'string' ||
    !ISO_WITH_OFFSET.test(value) ||
    Number.isNaN(Date.parse(value))
  ) {
    throw new FseMessageError(
      field,
      `must be an ISO 8601 date-time with offset (e.g. 2024-03-01T10:15:00+01:00): ${JSON.stringify(String(value).slice(0, 40))}`,
    );
  }
  return value;
}

export function count(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw new FseMessageError(field, `must be a positive integer: ${String(value)}`);
  return value;
}

export function list(field: string, value: unknown, max: number): readonly unknown[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > max)
    throw new FseMessageError(field, `must list 1 to ${max} items`);
  return value as readonly unknown[];
}

export function unique(field: string, values: string[]): string[] {
  const seen = new Set<string>();
  for (const value of values) {
    if (seen.has(value)) throw new FseMessageError(field, `lists ${value} twice`);
    seen.add(value);
  }
  return values;
}
