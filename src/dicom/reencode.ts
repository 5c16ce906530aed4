/**
 * Re-encoding a dataset between transfer syntaxes with native pixel data, element by element:
 * element headers, group lengths and the byte order of binary values change; every value is
 * written as stored, text included (no character set conversion). The dataset is never parsed
 * with dcmjs, which re-encodes text as UTF-8 under ISO_IR 192 and refuses values it reads.
 *
 * Implicit VR elements, and UN elements the dictionary knows, take their value representation
 * from the DICOM dictionary, the ambiguous ones resolved from other elements (see
 * `resolveVr`); private elements stay UN.
 */
import { inflateRawSync } from 'node:zlib';
import { LONG_VRS } from './dataset-walker.js';
import {
  ITEM,
  ITEM_DELIMITER,
  SEQUENCE_DELIMITER,
  UNDEFINED as UNDEFINED_LENGTH,
} from './identifier.js';
import {
  readElementTree,
  readImplicitItems,
  tagText,
  type RawElement,
  type RawItem,
  type SourceEncoding,
} from './element-tree.js';
import { TransferSyntax, encodingOf } from './transfer-syntax.js';
import {
  PIXEL_REPRESENTATION,
  WAVEFORM_BITS_ALLOCATED,
  resolveVr,
  type VrContext,
} from './vr-dictionary.js';

/** An element put in place of the stored one (or added) at the top level of a dataset. */
export interface ElementOverride {
  vr: string;
  value: Buffer;
}

/** Top-level elements to set, or to leave out (null), when writing a dataset. */
export type Overrides = ReadonlyMap<number, ElementOverride | null>;

export interface WriteOptions {
  /** How the elements were stored. */
  source: SourceEncoding;
  /** Explicit VR Little Endian; otherwise Implicit VR Little Endian. */
  explicitOut: boolean;
  overrides?: Overrides;
}

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

const IMPLICIT_LE: SourceEncoding = { explicitVr: false, littleEndian: true };
const NO_CONTEXT: VrContext = {
  pixelRepresentation: undefined,
  waveformBitsAllocated: undefined,
  creators: new Map(),
};

const NATIVE: ReadonlySet<string> = new Set([
  TransferSyntax.ImplicitVrLittleEndian,
  TransferSyntax.ExplicitVrLittleEndian,
  TransferSyntax.ExplicitVrBigEndian,
  TransferSyntax.DeflatedExplicitVrLittleEndian,
]);

/** Pixel data in this syntax is native (or there is none): re-encoding changes only elements. */
export function isNativeSyntax(transferSyntaxUid: string): boolean {
  return NATIVE.has(transferSyntaxUid);
}

/** The dataset bytes of a native transfer syntax, inflated when deflated. */
export function inflateDataset(dataset: Buffer, transferSyntaxUid: string): Buffer {
  if (transferSyntaxUid !== TransferSyntax.DeflatedExplicitVrLittleEndian) return dataset;
  return inflateRawSync(dataset);
}

/**
 * Re-encode a dataset stored in a native transfer syntax (Implicit or Explicit VR Little Endian,
 * Explicit VR Big Endian, Deflated) in Explicit or Implicit VR Little Endian.
 */
export function reencodeDataset(dataset: Buffer, from: string, to: string): Buffer {
  if (!isNativeSyntax(from)) throw new Error(`cannot re-encode from ${from}`);
  if (to !== TransferSyntax.ExplicitVrLittleEndian && to !== TransferSyntax.ImplicitVrLittleEndian)
    throw new Error(`cannot re-encode into ${to}`);
  const source = encodingOf(from);
  const elements = readElementTree(inflateDataset(dataset, from), source);
  return writeElementTree(elements, {
    source,
    explicitOut: to === TransferSyntax.ExplicitVrLittleEndian,
  });
}

/** Write elements read by `readElementTree` in Explicit or Implicit VR Little Endian. */
export function writeElementTree(elements: RawElement[], options: WriteOptions): Buffer {
  const context = contextOf(elements, options.source, NO_CONTEXT);
  const written = writeElements(
    withOverrides(elements, options.overrides),
    options.source,
    options.explicitOut,
    context,
  );
  return Buffer.concat(written.flatMap((element) => element.parts));
}

interface Written {
  tag: number;
  parts: Buffer[];
  length: number;
}

/** The top-level elements with the overrides in their place, in tag order. */
function withOverrides(elements: RawElement[], overrides: Overrides | undefined): RawElement[] {
  if (!overrides || overrides.size === 0) return elements;
  const pending = [...overrides.entries()].sort(([a], [b]) => a - b);
  const result: RawElement[] = [];
  const insert = (before: number): void => {
    while (pending.length > 0 && pending[0]![0] < before) {
      const [tag, override] = pending.shift()!;
      if (override) result.push(overrideElement(tag, override));
    }
  };
  for (const element of elements) {
    insert(element.tag);
    if (pending[0]?.[0] === element.tag) {
      const [tag, override] = pending.shift()!;
      if (override) result.push(overrideElement(tag, override));
      continue;
    }
    result.push(element);
  }
  insert(Infinity);
  return result;
}

/** An element the bridge writes itself: always little endian. */
function overrideElement(tag: number, override: ElementOverride): RawElement {
  return { tag, vr: override.vr, undefinedLength: false, value: override.value, own: true };
}

function readUint16(element: RawElement | undefined, little: boolean): number | undefined {
  const value = element?.value;
  if (!value || value.length < 2) return undefined;
  return little ? value.readUInt16LE(0) : value.readUInt16BE(0);
}

/**
 * What the elements of an item say about the value representations in it: Pixel Representation
 * and Waveform Bits Allocated (from the item, else from the items enclosing it), and the
 * private creators (the item's own).
 */
function contextOf(elements: RawElement[], source: SourceEncoding, parent: VrContext): VrContext {
  let pixelRepresentation = parent.pixelRepresentation;
  let waveformBitsAllocated = parent.waveformBitsAllocated;
  const creators = new Map<number, string>();
  for (const element of elements) {
    const group = element.tag >>> 16;
    const number = element.tag & 0xffff;
    if (element.tag === PIXEL_REPRESENTATION)
      pixelRepresentation = readUint16(element, source.littleEndian) ?? pixelRepresentation;
    else if (element.tag === WAVEFORM_BITS_ALLOCATED)
      waveformBitsAllocated = readUint16(element, source.littleEndian) ?? waveformBitsAllocated;
    else if (group % 2 === 1 && number >= 0x10 && number <= 0xff && element.value)
      creators.set((group << 8) | number, element.value.toString('latin1').replace(/[ \0]+$/, ''));
  }
  return { pixelRepresentation, waveformBitsAllocated, creators };
}

function writeElements(
  elements: RawElement[],
  source: SourceEncoding,
  explicitOut: boolean,
  context: VrContext,
): Written[] {
  const written = elements.map((element) => writeElement(element, source, explicitOut, context));
  // Group lengths (gggg,0000) count the bytes of their group, which the new headers change.
  for (const [i, element] of written.entries()) {
    if ((element.tag & 0xffff) !== 0) continue;
    const group = element.tag >>> 16;
    let bytes = 0;
    for (const other of written.slice(i + 1)) if (other.tag >>> 16 === group) bytes += other.length;
    const value = Buffer.alloc(4);
    value.writeUInt32LE(bytes, 0);
    const header = elementHeader(element.tag, 'UL', 4, explicitOut);
    written[i] = { tag: element.tag, parts: [header, value], length: header.length + 4 };
  }
  return written;
}

/** The value representation to write: the stored one, or the dictionary's for implicit and UN. */
function outputVr(element: RawElement, context: VrContext): string {
  if (element.items) return 'SQ';
  if (element.fragments) return element.vr!;
  if (element.vr !== undefined && element.vr !== 'UN') return element.vr;
  return resolveVr(element.tag, context);
}

function writeElement(
  element: RawElement,
  source: SourceEncoding,
  explicitOut: boolean,
  context: VrContext,
): Written {
  let vr = outputVr(element, context);
  const parts: Buffer[] = [];
  let length: number;
  if (element.fragments) {
    if (!explicitOut)
      throw new Error('encapsulated pixel data cannot be written in Implicit VR Little Endian');
    for (const fragment of element.fragments)
      parts.push(itemHeader(ITEM, fragment.length), fragment);
    parts.push(itemHeader(SEQUENCE_DELIMITER, 0));
    length = UNDEFINED_LENGTH;
  } else if (vr === 'SQ') {
    const items = element.items ?? readImplicitItems(element.value!);
    // Items of a UN sequence, or of one held as a UN value, are in Implicit VR Little Endian.
    const itemSource = element.implicitItems || !element.items ? IMPLICIT_LE : source;
    for (const item of items) parts.push(...writeItem(item, itemSource, explicitOut, context));
    const content = parts.reduce((sum, part) => sum + part.length, 0);
    if (element.undefinedLength) parts.push(itemHeader(SEQUENCE_DELIMITER, 0));
    length = element.undefinedLength ? UNDEFINED_LENGTH : content;
  } else {
    let value = element.value!;
    const wordSize = WORD_SIZE[vr];
    // A UN value is little endian in every transfer syntax, as DCMTK reads it; the bridge's own
    // values are little endian too.
    const little = source.littleEndian || element.own || element.vr === 'UN';
    if (!little && wordSize && value.length % wordSize === 0) value = swap(value, wordSize);
    // A value too long for a 2-byte length field is written as UN (PS3.5 6.2.2).
    if (explicitOut && !LONG_VRS.has(vr) && value.length > 0xffff) vr = 'UN';
    parts.push(value);
    length = value.length;
  }
  const header = elementHeader(element.tag, vr, length, explicitOut);
  const total = parts.reduce((sum, part) => sum + part.length, header.length);
  return { tag: element.tag, parts: [header, ...parts], length: total };
}

function writeItem(
  item: RawItem,
  source: SourceEncoding,
  explicitOut: boolean,
  parent: VrContext,
): Buffer[] {
  const context = contextOf(item.elements, source, parent);
  const content = writeElements(item.elements, source, explicitOut, context).flatMap(
    (element) => element.parts,
  );
  const bytes = content.reduce((sum, part) => sum + part.length, 0);
  return item.undefinedLength
    ? [itemHeader(ITEM, UNDEFINED_LENGTH), ...content, itemHeader(ITEM_DELIMITER, 0)]
    : [itemHeader(ITEM, bytes), ...content];
}

function swap(value: Buffer, wordSize: number): Buffer {
  const copy = Buffer.from(value);
  if (wordSize === 2) copy.swap16();
  else if (wordSize === 4) copy.swap32();
  else copy.swap64();
  return copy;
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
    if (!/^[A-Z]{2}$/.test(vr)) throw new Error(`(${tagText(tag)}) has no value representation`);
    header.write(vr, 4, 'latin1');
    if (long) header.writeUInt32LE(length, 8);
    else header.writeUInt16LE(length, 6);
  }
  return header;
}
