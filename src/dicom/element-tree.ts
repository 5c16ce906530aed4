/**
 * A stored dataset read into its elements without interpreting a value: each value is a view of
 * the stored bytes, each sequence a list of items, encapsulated pixel data a list of fragments.
 * It is what re-encoding and decompression walk, element by element; the values are written out
 * again as they were read.
 */
import { LONG_VRS, MAX_NESTING } from './dataset-walker.js';
import {
  ITEM,
  ITEM_DELIMITER,
  SEQUENCE_DELIMITER,
  UNDEFINED as UNDEFINED_LENGTH,
} from './identifier.js';
import { dictionaryVr } from './vr-dictionary.js';

export interface RawItem {
  elements: RawElement[];
  undefinedLength: boolean;
}

export interface RawElement {
  tag: number;
  /** The value representation as stored; undefined in implicit VR. */
  vr: string | undefined;
  undefinedLength: boolean;
  /** The value bytes as stored (not for sequences or encapsulated pixel data). */
  value?: Buffer;
  /** The items of a sequence (also a UN or implicit element of undefined length, PS3.5 6.2.2). */
  items?: RawItem[];
  /** Encapsulated pixel data: the fragments, the Basic Offset Table first. */
  fragments?: Buffer[];
  /** The items are in Implicit VR Little Endian (a UN sequence in an explicit dataset). */
  implicitItems?: boolean;
  /** A value the bridge put in place itself: little endian, whatever the dataset's order. */
  own?: boolean;
}

export interface SourceEncoding {
  explicitVr: boolean;
  littleEndian: boolean;
}

/** The dataset cannot be read element by element. */
export class ElementTreeError extends Error {
  override readonly name = 'ElementTreeError';
}

const IMPLICIT_LE: SourceEncoding = { explicitVr: false, littleEndian: true };

class Cursor {
  offset = 0;
  constructor(readonly data: Buffer) {}

  fail(problem: string): never {
    throw new ElementTreeError(`cannot read the dataset at byte ${this.offset}: ${problem}`);
  }

  take(length: number): Buffer {
    if (length > this.data.length - this.offset) this.fail('it ends inside an element');
    const bytes = this.data.subarray(this.offset, this.offset + length);
    this.offset += length;
    return bytes;
  }

  uint16(little: boolean): number {
    const bytes = this.take(2);
    return little ? bytes.readUInt16LE(0) : bytes.readUInt16BE(0);
  }

  uint32(little: boolean): number {
    const bytes = this.take(4);
    return little ? bytes.readUInt32LE(0) : bytes.readUInt32BE(0);
  }

  tag(little: boolean): number {
    const group = this.uint16(little);
    return ((group << 16) | this.uint16(little)) >>> 0;
  }
}

/** Read a whole dataset (no file meta) in the given encoding. */
export function readElementTree(dataset: Buffer, encoding: SourceEncoding): RawElement[] {
  const cursor = new Cursor(dataset);
  return readElements(cursor, dataset.length, encoding, 0);
}

/** Read the items of a value held as bytes (a UN element that the dictionary knows as SQ). */
export function readImplicitItems(value: Buffer): RawItem[] {
  const cursor = new Cursor(value);
  return readItems(cursor, value.length, IMPLICIT_LE, 1);
}

/** Elements up to `end`, or up to an item delimiter when `end` is -1. */
function readElements(
  cursor: Cursor,
  end: number,
  encoding: SourceEncoding,
  depth: number,
): RawElement[] {
  const little = encoding.littleEndian;
  const elements: RawElement[] = [];
  while (end < 0 || cursor.offset < end) {
    const tag = cursor.tag(little);
    if (tag === ITEM_DELIMITER && end < 0) {
      cursor.uint32(little);
      return elements;
    }
    if (tag >>> 16 === 0xfffe) cursor.fail('an item or delimiter where an element belongs');
    let vr: string | undefined;
    let length: number;
    if (encoding.explicitVr) {
      vr = cursor.take(2).toString('latin1');
      if (!/^[A-Z]{2}$/.test(vr)) cursor.fail(`invalid value representation ${JSON.stringify(vr)}`);
      if (LONG_VRS.has(vr)) {
        cursor.take(2);
        length = cursor.uint32(little);
      } else length = cursor.uint16(little);
    } else length = cursor.uint32(little);
    elements.push(readValue(cursor, tag, vr, length, encoding, depth));
  }
  if (cursor.offset !== end) cursor.fail('an element runs past its item');
  return elements;
}

function readValue(
  cursor: Cursor,
  tag: number,
  vr: string | undefined,
  length: number,
  encoding: SourceEncoding,
  depth: number,
): RawElement {
  const undefinedLength = length === UNDEFINED_LENGTH;
  const element: RawElement = { tag, vr, undefinedLength };
  const end = undefinedLength ? -1 : cursor.offset + length;
  if (!undefinedLength && length > cursor.data.length - cursor.offset)
    cursor.fail(`the value of (${tagText(tag)}) runs past the dataset`);
  if (vr === 'SQ' || (vr === undefined && dictionaryVr(tag) === 'SQ')) {
    element.items = readItems(cursor, end, encoding, depth + 1);
  } else if (undefinedLength && (vr === 'OB' || vr === 'OW')) {
    element.fragments = readFragments(cursor, encoding.littleEndian);
  } else if (undefinedLength && (vr === 'UN' || vr === undefined)) {
    // A sequence of unknown type: its items are in Implicit VR Little Endian (PS3.5 6.2.2).
    if (vr === undefined && tag === 0x7fe00010)
      cursor.fail('encapsulated pixel data in implicit VR');
    element.items = readItems(cursor, -1, IMPLICIT_LE, depth + 1);
    element.implicitItems = vr === 'UN';
  } else if (undefinedLength) {
    cursor.fail(`(${tagText(tag)}) ${vr} has an undefined length`);
  } else {
    element.value = cursor.take(length);
  }
  return element;
}

function readItems(
  cursor: Cursor,
  end: number,
  encoding: SourceEncoding,
  depth: number,
): RawItem[] {
  if (depth > MAX_NESTING) cursor.fail(`sequences nested deeper than ${MAX_NESTING} levels`);
  const little = encoding.littleEndian;
  const items: RawItem[] = [];
  while (end < 0 || cursor.offset < end) {
    const tag = cursor.tag(little);
    const length = cursor.uint32(little);
    if (tag === SEQUENCE_DELIMITER && end < 0) return items;
    if (tag !== ITEM) cursor.fail('a sequence holds something other than items');
    const undefinedLength = length === UNDEFINED_LENGTH;
    if (!undefinedLength && length > cursor.data.length - cursor.offset)
      cursor.fail('an item runs past the dataset');
    const itemEnd = undefinedLength ? -1 : cursor.offset + length;
    items.push({ elements: readElements(cursor, itemEnd, encoding, depth), undefinedLength });
  }
  if (cursor.offset !== end) cursor.fail('an item runs past its sequence');
  return items;
}

function readFragments(cursor: Cursor, little: boolean): Buffer[] {
  const fragments: Buffer[] = [];
  for (;;) {
    const tag = cursor.tag(little);
    const length = cursor.uint32(little);
    if (tag === SEQUENCE_DELIMITER) return fragments;
    if (tag !== ITEM || length === UNDEFINED_LENGTH)
      cursor.fail('encapsulated pixel data holds something other than fragments');
    fragments.push(cursor.take(length));
  }
}

export function tagText(tag: number): string {
  const hex = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');
  return `${hex(tag >>> 16)},${hex(tag & 0xffff)}`;
}
