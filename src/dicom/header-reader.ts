/**
 * Reads chosen values out of a dataset header held in memory (the top-level elements before
 * the pixel data that the walker kept): the top-level elements named, and the elements of the
 * first item of the sequences named. Everything else is skipped by its length, so reading a
 * header costs a pass over a few kilobytes and no object per element.
 */
import { LONG_VRS } from './dataset-walker.js';

export interface HeaderEncoding {
  explicitVr: boolean;
  littleEndian: boolean;
}

export interface HeaderValues {
  /** Raw values of the top-level elements asked for. */
  top: Map<number, Buffer>;
  /** Per sequence asked for: raw values of the elements asked for in its first item. */
  items: Map<number, Map<number, Buffer>>;
  /** Why reading stopped early (a malformed element); what came before it is kept. */
  error: string | undefined;
}

export interface HeaderRequest {
  top: ReadonlySet<number>;
  /** Sequence tag → the tags wanted in its first item. */
  sequences: ReadonlyMap<number, ReadonlySet<number>>;
}

const ITEM = 0xfffee000;
const ITEM_DELIMITER = 0xfffee00d;
const SEQUENCE_DELIMITER = 0xfffee0dd;
const UNDEFINED = 0xffffffff;
/** Nesting deeper than this is not a real header; stop rather than recurse without end. */
const MAX_DEPTH = 32;

class Malformed extends Error {}

/** Where one element's value starts and how long it is. */
interface ElementHead {
  tag: number;
  vr: string;
  valueStart: number;
  /** UNDEFINED for undefined length. */
  length: number;
}

class HeaderReader {
  readonly #buffer: Buffer;
  readonly #encoding: HeaderEncoding;
  readonly #request: HeaderRequest;
  readonly result: HeaderValues = { top: new Map(), items: new Map(), error: undefined };

  constructor(buffer: Buffer, encoding: HeaderEncoding, request: HeaderRequest) {
    this.#buffer = buffer;
    this.#encoding = encoding;
    this.#request = request;
  }

  read(): void {
    try {
      this.#elements(0, this.#buffer.length, false, false, 0, (head, valueEnd) => {
        const sequence = this.#request.sequences.get(head.tag);
        if (sequence)
          this.#firstItem(head.tag, sequence, head.valueStart, valueEnd, head.vr === 'UN');
        else if (this.#request.top.has(head.tag) && head.length !== UNDEFINED)
          this.result.top.set(head.tag, this.#buffer.subarray(head.valueStart, valueEnd));
      });
    } catch (error) {
      if (!(error instanceof Malformed) && !(error instanceof RangeError)) throw error;
      this.result.error = error.message;
    }
  }

  #head(pos: number, end: number, implicit: boolean): ElementHead {
    if (pos + 8 > end) throw new Malformed(`incomplete element header at offset ${pos}`);
    const little = this.#encoding.littleEndian || implicit;
    const b = this.#buffer;
    const u16 = (at: number): number => (little ? b.readUInt16LE(at) : b.readUInt16BE(at));
    const u32 = (at: number): number => (little ? b.readUInt32LE(at) : b.readUInt32BE(at));
    const tag = u16(pos) * 0x10000 + u16(pos + 2);
    const explicit = this.#encoding.explicitVr && !implicit && tag >>> 16 !== 0xfffe;
    if (!explicit) return { tag, vr: '', valueStart: pos + 8, length: u32(pos + 4) };
    const vr = b.toString('latin1', pos + 4, pos + 6);
    if (!LONG_VRS.has(vr)) return { tag, vr, valueStart: pos + 8, length: u16(pos + 6) };
    if (pos + 12 > end) throw new Malformed(`incomplete element header at offset ${pos}`);
    return { tag, vr, valueStart: pos + 12, length: u32(pos + 8) };
  }

  /**
   * The elements in [pos, end), or up to an item delimiter when `untilDelimiter`; `visit` sees
   * each one with the end of its value. Returns the offset after the last byte consumed.
   */
  #elements(
    pos: number,
    end: number,
    untilDelimiter: boolean,
    implicit: boolean,
    depth: number,
    visit?: (head: ElementHead, valueEnd: number) => void,
  ): number {
    if (depth > MAX_DEPTH) throw new Malformed('sequences nested too deep');
    while (pos < end) {
      const head = this.#head(pos, end, implicit);
      if (head.tag === ITEM_DELIMITER) {
        if (!untilDelimiter) throw new Malformed(`unexpected item delimiter at offset ${pos}`);
        return head.valueStart;
      }
      const valueEnd =
        head.length === UNDEFINED
          ? this.#sequence(
              head.valueStart,
              end,
              implicit || head.vr === 'UN' || !this.#encoding.explicitVr,
              depth,
            )
          : head.valueStart + head.length;
      if (valueEnd > end) throw new Malformed(`value overruns the header at offset ${pos}`);
      visit?.(head, valueEnd);
      pos = valueEnd;
    }
    if (untilDelimiter) throw new Malformed('item not closed');
    return pos;
  }

  /** Skip the items of a sequence of undefined length starting at `pos`; returns its end. */
  #sequence(pos: number, end: number, implicit: boolean, depth: number): number {
    for (;;) {
      const item = this.#head(pos, end, implicit);
      if (item.tag === SEQUENCE_DELIMITER) return item.valueStart;
      if (item.tag !== ITEM) throw new Malformed(`expected an item at offset ${pos}`);
      pos =
        item.length === UNDEFINED
          ? this.#elements(item.valueStart, end, true, implicit, depth + 1)
          : item.valueStart + item.length;
    }
  }

  /** The wanted values of the first item of the sequence whose items lie in [start, end). */
  #firstItem(
    sequence: number,
    wanted: ReadonlySet<number>,
    start: number,
    end: number,
    implicit: boolean,
  ): void {
    if (this.result.items.has(sequence) || start >= end) return;
    const values = new Map<number, Buffer>();
    this.result.items.set(sequence, values);
    const item = this.#head(start, end, implicit);
    if (item.tag !== ITEM) return;
    const itemEnd = item.length === UNDEFINED ? end : item.valueStart + item.length;
    if (itemEnd > end) throw new Malformed(`item overruns its sequence at offset ${start}`);
    this.#elements(
      item.valueStart,
      itemEnd,
      item.length === UNDEFINED,
      implicit || !this.#encoding.explicitVr,
      1,
      (head, valueEnd) => {
        if (wanted.has(head.tag) && head.length !== UNDEFINED)
          values.set(head.tag, this.#buffer.subarray(head.valueStart, valueEnd));
      },
    );
  }
}

/** The values `request` names, read from `header` (complete top-level elements). */
export function readHeaderValues(
  header: Buffer,
  encoding: HeaderEncoding,
  request: HeaderRequest,
): HeaderValues {
  const reader = new HeaderReader(header, encoding, request);
  reader.read();
  return reader.result;
}
