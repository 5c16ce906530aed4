/**
 * C-FIND / C-MOVE / C-GET identifiers (PS3.4 C.4): the small datasets that follow a
 * query/retrieve command, in Implicit or Explicit VR Little Endian as the presentation context
 * says. Unlike received instances, identifiers are small and fully held in memory, so they are
 * decoded into a tree of elements rather than walked.
 */
import { LONG_VRS } from './dataset-walker.js';
import { QR_KEYS } from './qr-keys.js';

export { QR_KEYS, QR_KEYS_BY_TAG, type QrKey } from './qr-keys.js';

/**
 * Text VRs → string (multiple values joined with `\` exactly as on the wire, trailing padding
 * removed); SQ → items; every other VR, and unknown tags in Implicit VR, → raw bytes.
 */
export type IdentifierValue = string | Identifier[] | Buffer;

export interface IdentifierElement {
  /** Group in the high 16 bits, element in the low 16 bits. */
  tag: number;
  /** Two upper-case letters; 'UN' for a tag of unknown VR read in Implicit VR. */
  vr: string;
  value: IdentifierValue;
}

/** Elements by tag. */
export type Identifier = Map<number, IdentifierElement>;

/** The transfer syntax of an identifier: always little endian. */
export interface IdentifierEncoding {
  explicitVr: boolean;
}

/** An identifier that cannot be encoded or decoded; the message names the element. */
export class IdentifierError extends Error {
  override readonly name = 'IdentifierError';
}

/** Deepest sequence nesting accepted; identifiers nest one or two levels in practice. */
export const MAX_SEQUENCE_DEPTH = 16;

export const SPECIFIC_CHARACTER_SET = 0x00080005;
export const ITEM = 0xfffee000;
export const ITEM_DELIMITER = 0xfffee00d;
export const SEQUENCE_DELIMITER = 0xfffee0dd;
export const UNDEFINED = 0xffffffff;

/** VRs whose values are character strings (PS3.5 6.2). */
export const TEXT_VRS: ReadonlySet<string> = new Set(
  'AE AS CS DA DS DT IS LO LT PN SH ST TM UC UI UR UT'.split(' '),
);

/** `(gggg,eeee)`, as DICOM tools print tags. */
export function formatTag(tag: number): string {
  const hex = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');
  return `(${hex(tag >>> 16)},${hex(tag & 0xffff)})`;
}

function tagOf(keywordOrTag: string | number): number {
  if (typeof keywordOrTag === 'number') return keywordOrTag;
  const known = QR_KEYS[keywordOrTag];
  if (!known)
    throw new IdentifierError(`unknown query/retrieve keyword ${JSON.stringify(keywordOrTag)}`);
  return known.tag;
}

/**
 * An identifier from keywords of `QR_KEYS`. An empty string is a return key (zero length); on
 * a sequence it means an empty sequence.
 */
export function identifierOf(values: Record<string, string | Identifier[]>): Identifier {
  const identifier: Identifier = new Map();
  for (const [keyword, value] of Object.entries(values)) {
    const known = QR_KEYS[keyword];
    if (!known)
      throw new IdentifierError(`unknown query/retrieve keyword ${JSON.stringify(keyword)}`);
    const { tag, vr } = known;
    const valid = vr === 'SQ' ? Array.isArray(value) || value === '' : typeof value === 'string';
    if (!valid) {
      throw new IdentifierError(
        `${keyword} ${formatTag(tag)} is ${vr}: expected ${vr === 'SQ' ? 'items' : 'a string'}`,
      );
    }
    identifier.set(tag, { tag, vr, value: vr === 'SQ' && value === '' ? [] : value });
  }
  return identifier;
}

/**
 * The text of a top-level element: `undefined` when absent or not text, `''` for a return key.
 * A keyword must be one of `QR_KEYS`.
 */
export function getText(identifier: Identifier, keywordOrTag: string | number): string | undefined {
  const value = identifier.get(tagOf(keywordOrTag))?.value;
  return typeof value === 'string' ? value : undefined;
}

// ---------------------------------------------------------------------------------------------
// Encoding (decoding: identifier-decode.ts)

type TextEncoding = 'latin1' | 'utf8';

/** The tag of the first text value (depth first) that `pattern` matches. */
function findText(identifier: Identifier, pattern: RegExp, depth = 0): number | undefined {
  if (depth > MAX_SEQUENCE_DEPTH) return undefined; // encodeDataset reports the depth itself
  for (const { tag, value } of identifier.values()) {
    if (typeof value === 'string' && pattern.test(value)) return tag;
    for (const item of Array.isArray(value) ? value : []) {
      const found = findText(item, pattern, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/**
 * How text is written, and the identifier to write: non-ASCII text needs a character set, and
 * UTF-8 (ISO_IR 192) is the one that can carry any name; the caller's own choice is kept when it
 * can carry the values.
 */
function chooseCharset(identifier: Identifier): [Identifier, TextEncoding] {
  const declared = identifier.get(SPECIFIC_CHARACTER_SET)?.value;
  const charset = typeof declared === 'string' ? declared.trim() : undefined;
  const utf8 = charset === 'ISO_IR 192';
  const nonAscii = findText(identifier, /[\u0080-\uffff]/);
  if (nonAscii === undefined) return [identifier, utf8 ? 'utf8' : 'latin1'];
  // An empty value means the default repertoire, as when it is absent.
  if (charset === undefined || charset === '') {
    const withCharset: Identifier = new Map(identifier);
    const { tag, vr } = QR_KEYS.SpecificCharacterSet!;
    withCharset.set(tag, { tag, vr, value: 'ISO_IR 192' });
    return [withCharset, 'utf8'];
  }
  if (utf8) return [identifier, 'utf8'];
  if (charset === 'ISO_IR 100') {
    // Latin-1 carries U+0000..U+00FF only; anything beyond would be silently mangled.
    const beyond = findText(identifier, /[\u0100-\uffff]/);
    if (beyond !== undefined) {
      throw new IdentifierError(
        `${formatTag(beyond)} holds characters outside ISO_IR 100 (SpecificCharacterSet); use ISO_IR 192`,
      );
    }
    return [identifier, 'latin1'];
  }
  throw new IdentifierError(
    `${formatTag(nonAscii)} holds non-ASCII text that cannot be encoded in SpecificCharacterSet ${JSON.stringify(charset)}; use ISO_IR 192 or leave it unset`,
  );
}

/** An element header; items and delimiters (group FFFE) have no VR in either syntax. */
function header(tag: number, vr: string, length: number, explicitVr: boolean): Buffer {
  const withVr = explicitVr && tag >>> 16 !== 0xfffe;
  const long = withVr && LONG_VRS.has(vr);
  const bytes = Buffer.alloc(long ? 12 : 8);
  bytes.writeUInt16LE(tag >>> 16, 0);
  bytes.writeUInt16LE(tag & 0xffff, 2);
  if (!withVr) bytes.writeUInt32LE(length, 4);
  else {
    bytes.write(vr, 4, 'latin1');
    if (long) bytes.writeUInt32LE(length, 8);
    else bytes.writeUInt16LE(length, 6);
  }
  return bytes;
}

/** The value bytes of a non-sequence element, padded to even length. */
function valueBytes(element: IdentifierElement, text: TextEncoding): Buffer {
  const { tag, vr, value } = element;
  const where = `${formatTag(tag)} ${vr}`;
  let bytes: Buffer;
  if (typeof value === 'string') {
    if (value !== '' && !TEXT_VRS.has(vr))
      throw new IdentifierError(`${where} is not a text VR: its value must be bytes, not a string`);
    bytes = Buffer.from(value, text);
  } else if (Buffer.isBuffer(value)) {
    bytes = value;
  } else {
    throw new IdentifierError(`${where} holds items but is not a sequence (SQ)`);
  }
  if (bytes.length % 2 === 1) {
    if (!TEXT_VRS.has(vr) && vr !== 'OB' && vr !== 'UN')
      throw new IdentifierError(
        `${where} has an odd length (${bytes.length}) that cannot be padded`,
      );
    // PS3.5 6.2: UIs and binary values pad with NUL, other text with a space.
    bytes = Buffer.concat([bytes, Buffer.from(TEXT_VRS.has(vr) && vr !== 'UI' ? ' ' : '\0')]);
  }
  if (bytes.length > 0xffff && !LONG_VRS.has(vr)) {
    // Refused in Implicit VR too, so an identifier encodes in both syntaxes or in neither.
    throw new IdentifierError(
      `${where} value is ${bytes.length} bytes; a ${vr} holds at most 65535`,
    );
  }
  return bytes;
}

function encodeDataset(
  identifier: Identifier,
  explicitVr: boolean,
  text: TextEncoding,
  parts: Buffer[],
  depth: number,
): void {
  const elements = [...identifier.entries()].sort(([a], [b]) => a - b);
  for (const [key, element] of elements) {
    const { tag, vr, value } = element;
    if (key !== tag)
      throw new IdentifierError(`element ${formatTag(tag)} is stored under ${formatTag(key)}`);
    if (!Number.isInteger(tag) || tag < 0 || tag > 0xffffffff || tag >>> 16 === 0xfffe)
      throw new IdentifierError(`${formatTag(tag)} is not a dataset element tag`);
    if (!/^[A-Z]{2}$/.test(vr))
      throw new IdentifierError(`${formatTag(tag)} has invalid VR ${JSON.stringify(vr)}`);
    if ((tag & 0xffff) === 0) continue; // group lengths are retired (PS3.5 7.2); never written
    if (vr !== 'SQ') {
      const bytes = valueBytes(element, text);
      parts.push(header(tag, vr, bytes.length, explicitVr), bytes);
      continue;
    }
    if (!Array.isArray(value) && value !== '')
      throw new IdentifierError(`${formatTag(tag)} is a sequence (SQ): its value must be items`);
    if (depth >= MAX_SEQUENCE_DEPTH)
      throw new IdentifierError(
        `${formatTag(tag)} nests sequences deeper than ${MAX_SEQUENCE_DEPTH}`,
      );
    // Undefined lengths: the encoder never has to measure an item before writing it.
    parts.push(header(tag, vr, UNDEFINED, explicitVr));
    for (const item of Array.isArray(value) ? value : []) {
      parts.push(header(ITEM, '', UNDEFINED, explicitVr));
      encodeDataset(item, explicitVr, text, parts, depth + 1);
      parts.push(header(ITEM_DELIMITER, '', 0, explicitVr));
    }
    parts.push(header(SEQUENCE_DELIMITER, '', 0, explicitVr));
  }
}

/**
 * Encode an identifier: elements in ascending tag order, without group lengths, text padded to
 * even length, sequences and items of undefined length. Non-ASCII text is written as UTF-8 with
 * SpecificCharacterSet ISO_IR 192 added, unless the caller set ISO_IR 100 or ISO_IR 192.
 */
export function encodeIdentifier(identifier: Identifier, encoding: IdentifierEncoding): Buffer {
  const [toWrite, text] = chooseCharset(identifier);
  const parts: Buffer[] = [];
  encodeDataset(toWrite, encoding.explicitVr, text, parts, 0);
  return Buffer.concat(parts);
}
