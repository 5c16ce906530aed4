/**
 * Value representations of elements that arrive without one: in Implicit VR Little Endian, and
 * as UN. They come from the DICOM dictionary dcmjs ships (PS3.6, repeating groups included, and
 * the private elements of the creators it knows, the same as DCMTK's); the ambiguous ones are
 * resolved as PS3.5 Annex A and DCMTK resolve them, from the values of other elements.
 */
import dcmjs from 'dcmjs';

/** What decides an ambiguous value representation, from the item or its enclosing ones. */
export interface VrContext {
  /** Pixel Representation (0028,0103) of the nearest item holding one. */
  pixelRepresentation: number | undefined;
  /** Waveform Bits Allocated (5400,1004) of the nearest item holding one. */
  waveformBitsAllocated: number | undefined;
  /** The private creators of the item, by group << 8 | block (PS3.5 7.8.1). */
  creators: ReadonlyMap<number, string>;
}

export const PIXEL_REPRESENTATION = 0x00280103;
export const WAVEFORM_BITS_ALLOCATED = 0x54001004;
const PIXEL_DATA = 0x7fe00010;

/** OB or OW by Waveform Bits Allocated (PS3.5 8.3). */
const WAVEFORM_VALUES = new Set([0x54001010, 0x5400100a, 0x54000110, 0x54000112]);

const cache = new Map<number, string | undefined>();
const privateCache = new Map<string, string | undefined>();

function hex(value: number): string {
  return value.toString(16).toUpperCase().padStart(4, '0');
}

/** A private element's value representation, from the dictionary entries of its creator. */
function privateVr(group: number, creator: string, element: number): string | undefined {
  const key = `${hex(group)}|${creator}|${element}`;
  if (privateCache.has(key)) return privateCache.get(key);
  const byte = element.toString(16).padStart(2, '0');
  // The dictionary spells hex digits in either case, as its sources did.
  let vr: string | undefined;
  for (const g of new Set([hex(group), hex(group).toLowerCase()]))
    for (const e of new Set([byte, byte.toUpperCase()]))
      vr ??= dcmjs.data.DicomMetaDictionary.dictionary[`(${g},"${creator}",${e})`]?.vr;
  privateCache.set(key, vr);
  return vr;
}

/**
 * The dictionary's value representation of `tag`, with DCMTK's codes for the ambiguous ones
 * (xs: US or SS, ox: OB or OW, lt: US or OW, up: UL); undefined when the dictionary does not
 * know the tag. Private creators are LO (PS3.5 7.8.1), other private elements unknown here (see
 * `resolveVr`); group lengths are UL.
 */
export function dictionaryVr(tag: number): string | undefined {
  const group = tag >>> 16;
  const element = tag & 0xffff;
  if (element === 0) return 'UL';
  if (group % 2 === 1) return element >= 0x10 && element <= 0xff ? 'LO' : undefined;
  if (cache.has(tag)) return cache.get(tag);
  const entry = dcmjs.data.DicomMetaDictionary.dictionary[`(${hex(group)},${hex(element)})`];
  const vr = entry?.vr;
  cache.set(tag, vr);
  return vr;
}

/**
 * The value representation to write for an element whose stored one is absent or UN: the
 * dictionary's, with the ambiguous ones resolved.
 *
 * - US or SS: SS when Pixel Representation is 1, else US (PS3.3 C.7.6.1 and C.11; DCMTK falls
 *   back to US when there is none).
 * - OB or OW: Pixel Data and Overlay Data are OW (PS3.5 A.1, 8.1.2, 8.2); Waveform Data and its
 *   padding and channel extremes are OB when Waveform Bits Allocated is 8, OW otherwise (8.3);
 *   anything else, or a waveform value without Waveform Bits Allocated, is OB, as DCMTK writes it.
 * - US or OW (LUT Data): OW; UL for DICOMDIR offsets.
 * - Private elements: their creator's dictionary entry (US, OB, OW for the ambiguous ones, as
 *   DCMTK writes them), UN when it has none.
 * - Unknown to the dictionary: UN.
 */
export function resolveVr(tag: number, context: VrContext): string {
  const group = tag >>> 16;
  const element = tag & 0xffff;
  if (group % 2 === 1 && element >= 0x1000) {
    const creator = context.creators.get((group << 8) | (element >>> 8));
    const vr = creator === undefined ? undefined : privateVr(group, creator, element & 0xff);
    // DCMTK resolves the ambiguous ones of private dictionaries by their first choice.
    if (vr === undefined || vr === '' || vr === 'UN') return 'UN';
    return vr === 'xs' ? 'US' : vr === 'ox' ? 'OB' : vr === 'lt' ? 'OW' : vr;
  }
  const vr = dictionaryVr(tag);
  switch (vr) {
    case undefined:
      return 'UN';
    case 'xs':
      return context.pixelRepresentation === 1 ? 'SS' : 'US';
    case 'ox':
      if (tag === PIXEL_DATA || (tag & 0xff00ffff) === 0x60003000) return 'OW';
      if (WAVEFORM_VALUES.has(tag) && context.waveformBitsAllocated !== undefined)
        return context.waveformBitsAllocated === 8 ? 'OB' : 'OW';
      return 'OB';
    case 'lt':
      return 'OW';
    case 'up':
      return 'UL';
    default:
      return vr;
  }
}
