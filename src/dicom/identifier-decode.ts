/**
 * Decoding of C-FIND / C-MOVE / C-GET identifiers (see identifier.ts): a small dataset held in
 * memory, read into a tree of elements with every length checked against what is there.
 */
import { characterSetDecoder, type TextDecoderLike } from './charset.js';
import { LONG_VRS } from './dataset-walker.js';
import {
  IdentifierError,
  ITEM,
  ITEM_DELIMITER,
  MAX_SEQUENCE_DEPTH,
  SEQUENCE_DELIMITER,
  SPECIFIC_CHARACTER_SET,
  TEXT_VRS,
  UNDEFINED,
  formatTag,
  type Identifier,
  type IdentifierEncoding,
} from './identifier.js';
import { QR_KEYS_BY_TAG } from './qr-keys.js';
import { trimEnd } from './padding.js';

interface Cursor {
  bytes: Buffer;
  pos: number;
}

function fail(tag: number | undefined, offset: number, message: string, path: string): never {
  const where = tag === undefined ? '' : `${formatTag(tag)} `;
  const inside = path === '' ? '' : ` in ${path}`;
  throw new IdentifierError(`identifier element ${where}at offset ${offset}${inside}: ${message}`);
}

/**
 * Read elements up to `end` (a defined length), or up to an item delimiter when `delimited`.
 * Text values stay raw here: their character set may be declared later in the same dataset.
 */
function readDataset(
  c: Cursor,
  end: number,
  delimited: boolean,
  explicit: boolean,
  depth: number,
  path: string,
): Identifier {
  const identifier: Identifier = new Map();
  while (c.pos < end) {
    const start = c.pos;
    if (start + 8 > end) {
      const tag = start + 4 <= end ? tagAt(c.bytes, start) : undefined;
      fail(tag, start, `header is truncated (${end - start} bytes left)`, path);
    }
    const tag = tagAt(c.bytes, start);
    if (tag === ITEM_DELIMITER && delimited) {
      c.pos = start + 8;
      return identifier;
    }
    if (tag >>> 16 === 0xfffe) fail(tag, start, 'unexpected item or delimiter tag', path);
    let vr: string;
    let length: number;
    let headerLength = 8;
    if (explicit) {
      vr = c.bytes.toString('latin1', start + 4, start + 6);
      if (!/^[A-Z]{2}$/.test(vr)) fail(tag, start, `invalid VR ${JSON.stringify(vr)}`, path);
      if (LONG_VRS.has(vr)) {
        if (start + 12 > end) fail(tag, start, 'header is truncated', path);
        headerLength = 12;
        length = c.bytes.readUInt32LE(start + 8);
      } else {
        length = c.bytes.readUInt16LE(start + 6);
      }
    } else {
      length = c.bytes.readUInt32LE(start + 4);
      vr = QR_KEYS_BY_TAG.get(tag)?.vr ?? 'UN';
    }
    c.pos = start + headerLength;
    if (identifier.has(tag)) fail(tag, start, 'appears twice', path);
    // A UN of undefined length, an unknown tag in Implicit VR or an Explicit VR UN (CP-246), can
    // only be a sequence, and its items are in Implicit VR (PS3.5 6.2.2).
    if (vr === 'SQ' || (vr === 'UN' && length === UNDEFINED)) {
      if (depth >= MAX_SEQUENCE_DEPTH)
        fail(tag, start, `sequences nest deeper than ${MAX_SEQUENCE_DEPTH}`, path);
      const inner = explicit && vr === 'SQ';
      const items = readSequence(c, start, tag, length, end, inner, depth + 1, path);
      identifier.set(tag, { tag, vr: 'SQ', value: items });
      continue;
    }
    if (length === UNDEFINED) fail(tag, start, `undefined length on a ${vr} element`, path);
    if (length % 2 === 1) fail(tag, start, `odd value length ${length}`, path);
    if (c.pos + length > end)
      fail(
        tag,
        start,
        `value length ${length} runs past the end (${end - c.pos} bytes left)`,
        path,
      );
    const value = Buffer.from(c.bytes.subarray(c.pos, c.pos + length));
    c.pos += length;
    if ((tag & 0xffff) === 0) continue; // group length: meaningless once decoded
    identifier.set(tag, { tag, vr, value });
  }
  if (delimited) fail(undefined, c.pos, 'item has no item delimiter before the end', path);
  return identifier;
}

function readSequence(
  c: Cursor,
  elementStart: number,
  tag: number,
  length: number,
  outerEnd: number,
  explicit: boolean,
  depth: number,
  outerPath: string,
): Identifier[] {
  const defined = length !== UNDEFINED;
  const path = `${outerPath}${outerPath === '' ? '' : ' > '}${formatTag(tag)}`;
  if (defined && length % 2 === 1)
    fail(tag, elementStart, `odd sequence length ${length}`, outerPath);
  if (defined && c.pos + length > outerEnd)
    fail(tag, elementStart, `sequence length ${length} runs past the end`, outerPath);
  const end = defined ? c.pos + length : outerEnd;
  const items: Identifier[] = [];
  for (;;) {
    const start = c.pos;
    if (defined && start === end) return items;
    if (start + 8 > end) fail(tag, start, 'sequence is truncated or has no delimiter', outerPath);
    const itemTag = tagAt(c.bytes, start);
    const itemLength = c.bytes.readUInt32LE(start + 4);
    c.pos = start + 8;
    if (itemTag === SEQUENCE_DELIMITER && !defined) return items;
    if (itemTag !== ITEM) fail(itemTag, start, `expected an item of ${formatTag(tag)}`, outerPath);
    const itemPath = `${path}[${items.length}]`;
    if (itemLength === UNDEFINED) {
      items.push(readDataset(c, end, true, explicit, depth, itemPath));
      continue;
    }
    if (itemLength % 2 === 1) fail(itemTag, start, `odd item length ${itemLength}`, path);
    if (c.pos + itemLength > end)
      fail(
        itemTag,
        start,
        `item length ${itemLength} runs past the end of ${formatTag(tag)}`,
        path,
      );
    items.push(readDataset(c, c.pos + itemLength, false, explicit, depth, itemPath));
  }
}

function tagAt(bytes: Buffer, offset: number): number {
  return ((bytes.readUInt16LE(offset) << 16) | bytes.readUInt16LE(offset + 2)) >>> 0;
}

/** Text VRs whose bytes follow SpecificCharacterSet (PS3.5 6.1.2.3); other text is ASCII. */
const CODED_VRS: ReadonlySet<string> = new Set(['SH', 'LO', 'ST', 'LT', 'PN', 'UC', 'UT']);

/** Raw text values into strings, per the dataset's own SpecificCharacterSet or the inherited one. */
function decodeText(identifier: Identifier, inherited: TextDecoderLike): void {
  const declared = identifier.get(SPECIFIC_CHARACTER_SET)?.value;
  const decoder = Buffer.isBuffer(declared)
    ? characterSetDecoder(declared.toString('latin1'))
    : inherited;
  for (const element of identifier.values()) {
    const { vr, value } = element;
    if (Array.isArray(value)) value.forEach((item) => decodeText(item, decoder));
    else if (Buffer.isBuffer(value) && TEXT_VRS.has(vr)) {
      const text = CODED_VRS.has(vr) ? decoder.decode(value) : value.toString('latin1');
      element.value = trimEnd(text);
    }
  }
}

/**
 * Decode an identifier. Text is read per SpecificCharacterSet (see `characterSetDecoder`); in
 * Implicit VR, VRs come from `QR_KEYS` and other tags are kept as raw UN bytes.
 * Throws `IdentifierError` naming the element and offset on malformed or truncated input.
 */
export function decodeIdentifier(bytes: Buffer, encoding: IdentifierEncoding): Identifier {
  const cursor: Cursor = { bytes, pos: 0 };
  let identifier: Identifier;
  try {
    identifier = readDataset(cursor, bytes.length, false, encoding.explicitVr, 0, '');
  } catch (error) {
    if (error instanceof IdentifierError) throw error;
    // Every read is bounds-checked first; this only keeps a missed case from escaping raw.
    throw new IdentifierError(
      `identifier is malformed near offset ${cursor.pos}: ${String(error)}`,
    );
  }
  decodeText(identifier, characterSetDecoder(undefined));
  return identifier;
}
