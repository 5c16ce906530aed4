/**
 * Attribute matching (PS3.4 C.2.2.2): one key's value in a Query/Retrieve identifier becomes a
 * SQL condition whose values are all parameters. `qr-query.ts` says which column each keyword
 * is and assembles the conditions into a query.
 */
import { trimEnd } from '../dicom/padding.js';
import { isValidUid } from '../dicom/uid.js';

/**
 * The identifier cannot be answered: a level the model lacks, a missing or multi-valued unique
 * key above the level, a malformed value, matching on a key the index does not hold. The SCP
 * answers 0xA900 (Identifier does not match SOP Class) or 0xC000 (Unable to process).
 */
export class QrQueryError extends Error {
  override readonly name = 'QrQueryError';

  constructor(
    /** The offending keyword. */
    readonly key: string,
    /** Its value as received (patient data for patient keys: kept out of the message). */
    readonly value: string,
    reason: string,
  ) {
    super(`${key} ${shown(key, value)}: ${reason}`);
  }
}

// Error messages end up in logs, which never carry patient names, ids or birth dates.
const PATIENT_DATA = new Set(['PatientName', 'PatientID', 'PatientBirthDate']);

function shown(key: string, value: string): string {
  if (PATIENT_DATA.has(key) && value !== '') return '(value withheld: patient data)';
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

/**
 * How a key matches: `uid` single value or list of UIDs; `text` single value or wild card,
 * case-sensitive; `name` the same on `foldName`ed values; `date` and `time` single value or
 * range; `int` single value; `count` not at all (a return key only).
 */
export type MatchKind = 'uid' | 'text' | 'name' | 'date' | 'time' | 'int' | 'count';

/** What a condition is built on. */
export interface MatchTarget {
  kind: MatchKind;
  /** SQL of the value tested: a fixed expression of the schema, never request text. */
  column: string;
  /** Puts a condition on `column` into the subquery that relates it to the row. */
  within?: (condition: string) => string;
  /** Backslash-separated values match when any does (UIDs always do). */
  list?: boolean;
  /** Longest value accepted, in characters (not UIDs); `MAX_VALUE_CHARS` unless given. */
  maxChars?: number;
}

/** A piece of WHERE clause and its parameters, in order. */
export interface Condition {
  sql: string;
  params: (string | number)[];
}

/**
 * PatientName as compared: the alphabetic group (what the index stores), trailing empty
 * components dropped (`Doe^John^^` is `Doe^John`), Unicode lower case. SQLite's own lower()
 * and LIKE fold ASCII only, and names often are not: the index registers this as `qr_fold`.
 */
export function foldName(value: string): string {
  // SQLite calls this on every candidate row, and stored names may be up to 1 MiB: no split
  // (an array of every group), and no normalize() where it cannot change anything.
  const end = value.indexOf('=');
  const alphabetic = trimEnd(end < 0 ? value : value.slice(0, end), '^ ');
  return (BEYOND_LATIN_1.test(alphabetic) ? alphabetic.normalize('NFC') : alphabetic).toLowerCase();
}

// Text within U+0000-U+00FF is in NFC already: none of it decomposes, and what composes with
// it (combining marks) lies beyond.
const BEYOND_LATIN_1 = /[^\0-\xff]/;

/**
 * GLOB pattern of a DICOM wild card value: `*` and `?` mean the same in GLOB, and `%` and `_`
 * are literal there (unlike LIKE, which would also fold ASCII case); only `[` opens a class,
 * so it is made literal as `[[]`.
 */
export function globPattern(value: string): string {
  return value.replaceAll('[', '[[]');
}

/** Most UIDs a list of UIDs may hold. */
export const MAX_UIDS = 1000;
const MAX_VALUES = 100;

/**
 * Longest value a key accepts, in characters, wild cards and a list's values with their `\`
 * included: 64, the longest of the keys' VRs (LO; AE, CS and SH hold 16 and dates, times and
 * integers fit too), and a generous bound for the issuer of an accession number (UT). A person
 * name (PN) holds 64 per component group: `PN_MAX_CHARS`. A list of UIDs is bounded by count
 * instead (`MAX_UIDS`, each UID at most 64): it is matched with IN, never GLOB.
 *
 * A longer value is refused rather than matched: SQLite's GLOB costs the length of the stored
 * value times that of the pattern, synchronously, stored values may be 1 MiB, and a list is
 * matched value by value: bounding the whole value bounds a key's cost to that of one
 * well-formed value.
 */
export const MAX_VALUE_CHARS = 64;
/** Longest person name: three component groups of 64 characters and the two `=`. */
export const PN_MAX_CHARS = 3 * 64 + 2;

/** Whether `value` holds more than `max` characters (code points: a UTF-16 pair is one). */
function longerThan(value: string, max: number): boolean {
  if (value.length <= max) return false;
  return value.length > 2 * max || [...value].length > max;
}

/**
 * The condition `value` (trimmed, non-empty) puts on `target`; undefined for universal
 * matching (`*`, or a name with no content).
 *
 * @throws QrQueryError naming `keyword` when the value cannot be matched on this key.
 */
export function keyCondition(
  keyword: string,
  target: MatchTarget,
  value: string,
): Condition | undefined {
  // Before anything else reads the value.
  const maxChars = target.maxChars ?? MAX_VALUE_CHARS;
  if (target.kind !== 'uid' && longerThan(value, maxChars))
    throw new QrQueryError(keyword, value, `is longer than ${maxChars} characters`);
  if (/^\**$/.test(target.kind === 'name' ? foldName(value) : value)) return undefined;
  const { column, kind } = target;
  let condition: Condition;
  if (value === '""') {
    // Empty value matching (C.2.2.2.8): the attribute is absent or empty.
    if (kind === 'uid' || kind === 'count' || target.within)
      throw new QrQueryError(keyword, value, 'empty value matching is not supported on this key');
    condition = { sql: `(${column} IS NULL OR ${column} = '')`, params: [] };
  } else {
    const values = value.split('\\').map((v) => v.trim());
    const uids = kind === 'uid';
    if (values.length > 1 && !target.list && !uids)
      throw new QrQueryError(keyword, value, 'multiple values are not accepted on this key');
    // Bounded so that a list exceeds neither SQLite's parameter count nor, as ORs, its
    // expression depth.
    const max = uids ? MAX_UIDS : MAX_VALUES;
    if (values.length > max) throw new QrQueryError(keyword, value, `more than ${max} values`);
    if (values.includes(''))
      throw new QrQueryError(keyword, value, 'a list of values has an empty value');
    const parts = values.map((v) => valueCondition(keyword, target, v));
    const params = parts.flatMap((part) => part.params);
    if (parts.length === 1) condition = parts[0]!;
    else if (uids)
      condition = { sql: `${column} IN (${params.map(() => '?').join(', ')})`, params };
    else condition = { sql: `(${parts.map((part) => part.sql).join(' OR ')})`, params };
  }
  return target.within ? { ...condition, sql: target.within(condition.sql) } : condition;
}

/** One value of a key (an element of a list). */
function valueCondition(keyword: string, target: MatchTarget, value: string): Condition {
  const { column } = target;
  const wild = /[*?]/.test(value);
  switch (target.kind) {
    case 'uid':
      if (!isValidUid(value))
        throw new QrQueryError(keyword, value, 'is not a UID (no wild cards on UIDs)');
      return { sql: `${column} = ?`, params: [value] };
    case 'name': {
      const folded = foldName(value);
      if (wild) return { sql: `qr_fold(${column}) GLOB ?`, params: [globPattern(folded)] };
      return { sql: `qr_fold(${column}) = ?`, params: [folded] };
    }
    case 'text':
      if (wild) return { sql: `${column} GLOB ?`, params: [globPattern(value)] };
      return { sql: `${column} = ?`, params: [value] };
    case 'date':
    case 'time':
      if (wild) throw new QrQueryError(keyword, value, 'wild cards are not allowed on this key');
      return rangeCondition(keyword, target.kind, column, value);
    case 'int':
      if (!/^[+-]?\d{1,10}$/.test(value))
        throw new QrQueryError(keyword, value, 'is not an integer');
      return { sql: `${column} = ?`, params: [Number(value)] };
    case 'count':
      throw new QrQueryError(keyword, value, 'is a return key: it cannot be matched');
  }
}

const DATE = /^(\d{4})(\d{2})(\d{2})$/;
const TIME = /^([01]\d|2[0-3])(?:([0-5]\d)(?:([0-5]\d|60)(?:\.\d{1,6})?)?)?$/;

function dateBound(keyword: string, whole: string, text: string): string {
  const m = DATE.exec(text);
  const [year, month, day] = [Number(m?.[1]), Number(m?.[2]), Number(m?.[3])];
  // Date.UTC rolls 20240230 over to March: only a real date comes back as given.
  const date = new Date(Date.UTC(year, month - 1, day));
  if (!m || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day)
    throw new QrQueryError(keyword, whole, `${JSON.stringify(text)} is not a date (YYYYMMDD)`);
  return text;
}

/** HHMMSS of a time bound; an upper bound covers the whole hour or minute it gives. */
function timeBound(keyword: string, whole: string, text: string, upper: boolean): string {
  const m = TIME.exec(text);
  if (!m) throw new QrQueryError(keyword, whole, `${JSON.stringify(text)} is not a time (HHMMSS)`);
  return `${m[1]}${m[2] ?? ''}${m[3] ?? ''}`.padEnd(6, upper ? '9' : '0');
}

/**
 * Single value or range matching of a DA or TM value (C.2.2.2.5): `A`, `A-B`, `-B`, `A-`.
 * Dates compare as YYYYMMDD, ACR-NEMA `YYYY.MM.DD` values too. Times compare to the second
 * (fractions ignored), so a single time matches all of its precision: `1730` is 17:30:00 to
 * 17:30:59.
 */
function rangeCondition(
  keyword: string,
  kind: 'date' | 'time',
  column: string,
  value: string,
): Condition {
  const parts = value.split('-');
  if (parts.length > 2 || value === '-')
    throw new QrQueryError(keyword, value, 'is neither a single value nor a range');
  const [from = '', to = from] = parts;
  const bound = (text: string, upper: boolean): string | undefined => {
    if (text === '') return undefined;
    return kind === 'date'
      ? dateBound(keyword, value, text)
      : timeBound(keyword, value, text, upper);
  };
  const lo = bound(from, false);
  const hi = bound(to, true);
  if (lo !== undefined && hi !== undefined && lo > hi)
    throw new QrQueryError(keyword, value, 'the range ends before it starts');
  // Stored as received: separators of the ACR-NEMA forms go, times are cut to HHMMSS.
  const stored =
    kind === 'date'
      ? `REPLACE(${column}, '.', '')`
      : `substr(REPLACE(${column}, ':', '') || '000000', 1, 6)`;
  if (kind === 'date' && lo !== undefined && lo === hi)
    return { sql: `${stored} = ?`, params: [lo] };
  const sql: string[] = [];
  const params: string[] = [];
  if (lo !== undefined) {
    sql.push(`${stored} >= ?`);
    params.push(lo);
  }
  if (hi !== undefined) {
    sql.push(`${stored} <= ?`);
    params.push(hi);
  }
  return { sql: sql.join(' AND '), params };
}
