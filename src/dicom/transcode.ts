import { TransferSyntax } from './transfer-syntax.js';

/**
 * Syntaxes an instance can be re-encoded from: the explicit VR ones with native pixel data.
 * Implicit VR Little Endian is not among them: it is DICOM's default transfer syntax (PS3.5
 * 10.1), which peers accept, and re-encoding it in explicit VR would mean taking value
 * representations from a dictionary, wrongly for the ambiguous ones (dcmjs, used here before,
 * declared SmallestImagePixelValue US in a signed image).
 */
const TRANSCODABLE: ReadonlySet<string> = new Set([
  TransferSyntax.ExplicitVrLittleEndian,
  TransferSyntax.ExplicitVrBigEndian,
]);

/** Syntaxes an instance can be re-encoded into, in order of preference. */
export const TRANSCODE_TARGETS: readonly string[] = [
  TransferSyntax.ExplicitVrLittleEndian,
  TransferSyntax.ImplicitVrLittleEndian,
];

export function canTranscode(transferSyntaxUid: string): boolean {
  return TRANSCODABLE.has(transferSyntaxUid);
}

/**
 * Re-encode an explicit VR dataset with native pixel data in Implicit or Explicit VR Little
 * Endian. This is the fallback when a peer refuses the stored syntax, so it is off unless
 * configured. Elements are rewritten one by one: only their headers change (and the byte order
 * of binary values, from big endian); every value is sent as stored. The dataset is not parsed
 * with dcmjs, which re-encodes all text as UTF-8 and declares ISO_IR 192 (a Latin-1 instance
 * would reach an old implicit-only peer in a character set it may not read) and refuses to
 * write some values it reads (an ACR-NEMA date such as "1997.04.24").
 */
export function transcodeUncompressed(dataset: Buffer, from: string, to: string): Buffer {
  if (!canTranscode(from) || !TRANSCODE_TARGETS.includes(to))
    throw new Error(`cannot transcode from ${from} to ${to}`);
  const cursor: Cursor = {
    data: dataset,
    offset: 0,
    bigEndian: from === TransferSyntax.ExplicitVrBigEndian,
  };
  return reencodeElements(
    cursor,
    dataset.length,
    { bigEndian: cursor.bigEndian, explicitOut: to === TransferSyntax.ExplicitVrLittleEndian },
    0,
  );
}

const ITEM = 0xfffee000;
const ITEM_DELIMITER = 0xfffee00d;
const SEQUENCE_DELIMITER = 0xfffee0dd;
const UNDEFINED_LENGTH = 0xffffffff;
const MAX_DEPTH = 32;
/** VRs with a reserved field and a 4-byte length in explicit VR (PS3.5 7.1.2). */
const LONG_VRS = new Set('OB OD OF OL OV OW SQ SV UC UN UR UT UV'.split(' '));
/** Size of the numbers a binary VR holds: their bytes are swapped from big endian. */
const WORD_SIZE: Readonly<Record<string, number>> = {
  AT: 2,
  OW: 2,
  SS: 2,
  US: 2,
  FL: 4,
  OF: 4,
  OL: 4,
  SL: 4,
  UL: 4,
  FD: 8,
  OD: 8,
  OV: 8,
  SV: 8,
  UV: 8,
};

interface Cursor {
  data: Buffer;
  offset: number;
  bigEndian: boolean;
}

interface Options {
  bigEndian: boolean;
  explicitOut: boolean;
}

function fail(cursor: Cursor, problem: string): never {
  throw new Error(`cannot re-encode the dataset at byte ${cursor.offset}: ${problem}`);
}

function take(cursor: Cursor, length: number): Buffer {
  if (cursor.offset + length > cursor.data.length) fail(cursor, 'it ends inside an element');
  const bytes = cursor.data.subarray(cursor.offset, cursor.offset + length);
  cursor.offset += length;
  return bytes;
}

function readTag(cursor: Cursor): number {
  const bytes = take(cursor, 4);
  const group = cursor.bigEndian ? bytes.readUInt16BE(0) : bytes.readUInt16LE(0);
  const element = cursor.bigEndian ? bytes.readUInt16BE(2) : bytes.readUInt16LE(2);
  return ((group << 16) | element) >>> 0;
}

function readUint(cursor: Cursor, size: 2 | 4): number {
  const bytes = take(cursor, size);
  if (size === 2) return cursor.bigEndian ? bytes.readUInt16BE(0) : bytes.readUInt16LE(0);
  return cursor.bigEndian ? bytes.readUInt32BE(0) : bytes.readUInt32LE(0);
}

/** Tag and length of an item or delimiter, little endian. */
function itemHeader(tag: number, length: number): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  header.writeUInt32LE(length, 4);
  return header;
}

function elementHeader(tag: number, vr: string, length: number, explicitOut: boolean): Buffer {
  const long = LONG_VRS.has(vr);
  const header = Buffer.alloc(explicitOut && long ? 12 : 8);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  if (!explicitOut) header.writeUInt32LE(length, 4);
  else {
    header.write(vr, 4, 'latin1');
    if (long) header.writeUInt32LE(length, 8);
    else header.writeUInt16LE(length, 6);
  }
  return header;
}

/** The elements of the dataset or item up to `end` (-1: up to an item delimitation item). */
function reencodeElements(cursor: Cursor, end: number, options: Options, depth: number): Buffer {
  const elements: Array<{ tag: number; vr: string; header: Buffer; value: Buffer }> = [];
  while (end < 0 || cursor.offset < end) {
    const tag = readTag(cursor);
    if (tag === ITEM_DELIMITER && end < 0) {
      readUint(cursor, 4);
      break;
    }
    if (tag >>> 16 === 0xfffe) fail(cursor, 'an item or delimiter where an element belongs');
    const vr = take(cursor, 2).toString('latin1');
    if (!/^[A-Z]{2}$/.test(vr)) fail(cursor, `invalid value representation ${JSON.stringify(vr)}`);
    if (LONG_VRS.has(vr)) take(cursor, 2);
    const length = readUint(cursor, LONG_VRS.has(vr) ? 4 : 2);
    let value: Buffer;
    let headerLength: number;
    if (vr === 'SQ') {
      value = reencodeItems(cursor, length, options, depth + 1);
      headerLength = length === UNDEFINED_LENGTH ? UNDEFINED_LENGTH : value.length;
    } else {
      // Undefined length outside SQ: encapsulated pixel data, or a UN sequence (PS3.5 6.2.2).
      if (length === UNDEFINED_LENGTH) fail(cursor, `${vr} element of undefined length`);
      value = take(cursor, length);
      const wordSize = WORD_SIZE[vr];
      if (options.bigEndian && wordSize && value.length % wordSize === 0) {
        value = Buffer.from(value);
        if (wordSize === 2) value.swap16();
        else if (wordSize === 4) value.swap32();
        else value.swap64();
      }
      headerLength = value.length;
    }
    elements.push({
      tag,
      vr,
      header: elementHeader(tag, vr, headerLength, options.explicitOut),
      value,
    });
  }
  if (end >= 0 && cursor.offset !== end) fail(cursor, 'an element runs past its item');
  // Group lengths (gggg,0000) count the bytes of their group, which the new headers change.
  for (const [i, element] of elements.entries()) {
    if ((element.tag & 0xffff) !== 0 || element.vr !== 'UL' || element.value.length !== 4) continue;
    const group = element.tag >>> 16;
    let bytes = 0;
    for (const other of elements.slice(i + 1))
      if (other.tag >>> 16 === group) bytes += other.header.length + other.value.length;
    element.value = Buffer.alloc(4);
    element.value.writeUInt32LE(bytes, 0);
  }
  return Buffer.concat(elements.flatMap((element) => [element.header, element.value]));
}

/** The items of a sequence value of `length` bytes (or undefined length), re-encoded. */
function reencodeItems(cursor: Cursor, length: number, options: Options, depth: number): Buffer {
  if (depth > MAX_DEPTH) fail(cursor, 'sequences nested too deep');
  const undefinedLength = length === UNDEFINED_LENGTH;
  const end = undefinedLength ? -1 : cursor.offset + length;
  const parts: Buffer[] = [];
  while (undefinedLength || cursor.offset < end) {
    const tag = readTag(cursor);
    const itemLength = readUint(cursor, 4);
    if (tag === SEQUENCE_DELIMITER && undefinedLength) {
      parts.push(itemHeader(SEQUENCE_DELIMITER, 0));
      break;
    }
    if (tag !== ITEM) fail(cursor, 'a sequence holds something other than items');
    const itemUndefined = itemLength === UNDEFINED_LENGTH;
    if (!itemUndefined && cursor.offset + itemLength > cursor.data.length)
      fail(cursor, 'an item runs past the dataset');
    const content = reencodeElements(
      cursor,
      itemUndefined ? -1 : cursor.offset + itemLength,
      options,
      depth,
    );
    parts.push(itemHeader(ITEM, itemUndefined ? UNDEFINED_LENGTH : content.length), content);
    if (itemUndefined) parts.push(itemHeader(ITEM_DELIMITER, 0));
  }
  if (!undefinedLength && cursor.offset !== end) fail(cursor, 'an item runs past its sequence');
  return Buffer.concat(parts);
}
