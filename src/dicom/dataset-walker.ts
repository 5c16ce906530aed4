/**
 * A streaming walk over a DICOM dataset as it arrives, element by element, without holding
 * values it does not need. It proves the dataset is well-formed and complete (dcmjs pads
 * truncated data silently, so completeness is checked here: every declared length must be
 * present), captures a few top-level values (the UIDs that become storage keys), and keeps
 * the top-level elements that precede the pixel data so the header can be parsed for metadata.
 */

/** The dataset is malformed or incomplete. */
export class DatasetError extends Error {
  override readonly name = 'DatasetError';
}

export interface WalkerOptions {
  explicitVr: boolean;
  littleEndian: boolean;
  /** Top-level tags whose values are captured (values up to 1 KiB). */
  captureTags: ReadonlySet<number>;
  /** The header kept for metadata stops growing beyond this many bytes. */
  maxHeaderBytes: number;
  /** Top-level elements longer than this are left out of the kept header. */
  maxKeptElementBytes: number;
}

export interface WalkResult {
  /** Kept top-level elements (those before the pixel data), in the dataset's own encoding. */
  header: Buffer;
  /** Captured top-level values, raw bytes. */
  values: Map<number, Buffer>;
  /** Total dataset bytes walked. */
  length: number;
}

const PIXEL_DATA = 0x7fe00010;
const ITEM = 0xfffee000;
const ITEM_DELIMITER = 0xfffee00d;
const SEQUENCE_DELIMITER = 0xfffee0dd;
const UNDEFINED = 0xffffffff;
const MAX_CAPTURE = 1024;
/**
 * Sequences nested deeper than this are refused. Real data nests a few levels (structured
 * reports a few dozen at most); without a bound, a peer's dataset of nested empty sequences
 * would make the walker's stack grow with every 16 bytes until the heap is exhausted.
 */
export const MAX_NESTING = 128;

/** VRs with a 2-byte reserved field and a 4-byte length in explicit VR encodings. */
export const LONG_VRS: ReadonlySet<string> = new Set([
  'OB',
  'OD',
  'OF',
  'OL',
  'OV',
  'OW',
  'SQ',
  'SV',
  'UC',
  'UN',
  'UR',
  'UT',
  'UV',
]);

interface Frame {
  /** 'sequence' expects items; 'item' expects elements. */
  kind: 'sequence' | 'item';
  /** Absolute end offset, or -1 for undefined length. */
  end: number;
  /** Items hold raw fragments (encapsulated pixel data), not datasets. */
  fragments: boolean;
  /** Elements inside are implicit VR (UN sequences, PS3.5 6.2.2). */
  implicit: boolean;
}

export class DatasetWalker {
  #options: WalkerOptions;
  #chunks: Buffer[] = [];
  #available = 0;
  #pos = 0;
  #skip = 0;
  #stack: Frame[] = [];
  #keeping = false;
  #pastPixelData = false;
  /**
   * The kept header, in one buffer that grows by doubling: kept pieces are often a few bytes
   * (element headers), and a Buffer of its own for each would cost the heap ten times their size.
   */
  #header = Buffer.allocUnsafe(16 * 1024);
  #headerBytes = 0;
  #headerFull = false;
  /** Header size when the current top-level element started, to drop it if it outgrows the cap. */
  #markBytes = 0;
  #values = new Map<number, Buffer>();
  /** Captured tags met so far: one met twice could name the instance two ways. */
  #capturedSeen = new Set<number>();

  constructor(options: WalkerOptions) {
    this.#options = options;
  }

  /** The top-level values captured so far. */
  get values(): Map<number, Buffer> {
    return this.#values;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#available += chunk.length;
    this.#run();
  }

  /** The dataset has ended: throws `DatasetError` unless it ended on a clean element boundary. */
  finish(): WalkResult {
    this.#popFinishedFrames();
    if (this.#skip > 0) {
      throw new DatasetError(
        `dataset is truncated: ${this.#skip} bytes of a declared value are missing at offset ${this.#pos}`,
      );
    }
    if (this.#available > 0) {
      throw new DatasetError(
        `dataset is truncated: ${this.#available} bytes of an incomplete element header at offset ${this.#pos}`,
      );
    }
    if (this.#stack.length > 0) {
      throw new DatasetError(
        `dataset is truncated: ${this.#stack.length} sequence(s) or item(s) not closed`,
      );
    }
    if (this.#pos === 0) throw new DatasetError('dataset is empty');
    return {
      header: this.#header.subarray(0, this.#headerBytes),
      values: this.#values,
      length: this.#pos,
    };
  }

  #run(): void {
    for (;;) {
      if (this.#skip > 0) {
        if (this.#available === 0) return;
        this.#consume(Math.min(this.#skip, this.#available), true);
        continue;
      }
      this.#popFinishedFrames();
      if (!this.#step()) return;
    }
  }

  #popFinishedFrames(): void {
    let top = this.#stack.at(-1);
    while (top && top.end !== -1 && this.#pos >= top.end) {
      if (this.#pos > top.end)
        throw new DatasetError(
          `element overruns its enclosing item or sequence at offset ${this.#pos}`,
        );
      this.#stack.pop();
      top = this.#stack.at(-1);
    }
    if (this.#stack.length === 0) this.#keeping = false;
  }

  #u16(buffer: Buffer, offset: number, little: boolean): number {
    return little ? buffer.readUInt16LE(offset) : buffer.readUInt16BE(offset);
  }

  #u32(buffer: Buffer, offset: number, little: boolean): number {
    return little ? buffer.readUInt32LE(offset) : buffer.readUInt32BE(offset);
  }

  /** Process one element or item header. Returns false when more bytes are needed. */
  #step(): boolean {
    if (this.#available < 8) return false;
    const frame = this.#stack.at(-1);
    const little = this.#options.littleEndian || (frame?.implicit ?? false);
    const head = this.#peek(Math.min(12, this.#available));
    const tag = ((this.#u16(head, 0, little) << 16) | this.#u16(head, 2, little)) >>> 0;

    if (frame?.kind === 'sequence') {
      const length = this.#u32(head, 4, little);
      if (tag === ITEM) {
        this.#consume(8, false);
        if (length === UNDEFINED) {
          if (frame.fragments)
            throw new DatasetError('encapsulated fragment with undefined length');
          this.#push({ kind: 'item', end: -1, fragments: false, implicit: frame.implicit });
        } else if (frame.fragments) {
          this.#skip = length;
        } else {
          this.#push({
            kind: 'item',
            end: this.#pos + length,
            fragments: false,
            implicit: frame.implicit,
          });
        }
        return true;
      }
      if (tag === SEQUENCE_DELIMITER) {
        if (frame.end !== -1)
          throw new DatasetError('sequence delimiter in a sequence of defined length');
        this.#consume(8, false);
        this.#stack.pop();
        if (this.#stack.length === 0) this.#keeping = false;
        return true;
      }
      throw new DatasetError(
        `expected an item in a sequence, found (${hex(tag >>> 16)},${hex(tag & 0xffff)}) at offset ${this.#pos}`,
      );
    }

    if (tag === ITEM_DELIMITER) {
      if (!frame || frame.end !== -1)
        throw new DatasetError(`unexpected item delimiter at offset ${this.#pos}`);
      this.#consume(8, false);
      this.#stack.pop();
      return true;
    }
    if (tag === ITEM || tag === SEQUENCE_DELIMITER) {
      throw new DatasetError(
        `unexpected delimiter (${hex(tag >>> 16)},${hex(tag & 0xffff)}) at offset ${this.#pos}`,
      );
    }

    const explicit = this.#options.explicitVr && !(frame?.implicit ?? false);
    let vr = '';
    let headerLength = 8;
    let length: number;
    if (explicit) {
      vr = head.toString('latin1', 4, 6);
      if (!/^[A-Z]{2}$/.test(vr)) {
        throw new DatasetError(
          `invalid VR ${JSON.stringify(vr)} for (${hex(tag >>> 16)},${hex(tag & 0xffff)}) at offset ${this.#pos}`,
        );
      }
      if (LONG_VRS.has(vr)) {
        if (head.length < 12) return false;
        headerLength = 12;
        length = this.#u32(head, 8, little);
      } else {
        length = this.#u16(head, 6, little);
      }
    } else {
      length = this.#u32(head, 4, little);
    }

    const atRoot = frame === undefined;
    if (atRoot) {
      if (tag >>> 16 === 0x0002)
        throw new DatasetError('the dataset holds file meta information elements (group 0002)');
      if (tag >= PIXEL_DATA) this.#pastPixelData = true;
      this.#markBytes = this.#headerBytes;
      this.#keeping =
        !this.#pastPixelData &&
        !this.#headerFull &&
        (length === UNDEFINED || length <= this.#options.maxKeptElementBytes);
      if (
        this.#keeping &&
        length !== UNDEFINED &&
        this.#headerBytes + headerLength + length > this.#options.maxHeaderBytes
      ) {
        this.#keeping = false;
        this.#headerFull = true;
      }
      if (length !== UNDEFINED && this.#options.captureTags.has(tag) && length <= MAX_CAPTURE) {
        if (this.#available < headerLength + length) return false;
        this.#values.set(
          tag,
          Buffer.from(this.#peek(headerLength + length).subarray(headerLength)),
        );
      }
      // Checked once the element is complete enough to be consumed (a step may be retried).
      if (this.#options.captureTags.has(tag)) {
        if (this.#capturedSeen.has(tag))
          throw new DatasetError(
            `(${hex(tag >>> 16)},${hex(tag & 0xffff)}) appears twice at the top level (offset ${this.#pos})`,
          );
        this.#capturedSeen.add(tag);
      }
    }
    this.#consume(headerLength, false);

    if (length === UNDEFINED) {
      const isPixelData = tag === PIXEL_DATA || vr === 'OB' || vr === 'OW';
      if (vr === 'SQ' || vr === 'UN' || (!explicit && tag !== PIXEL_DATA)) {
        this.#push({
          kind: 'sequence',
          end: -1,
          fragments: false,
          implicit: !explicit || vr === 'UN',
        });
      } else if (isPixelData) {
        this.#push({ kind: 'sequence', end: -1, fragments: true, implicit: false });
      } else {
        throw new DatasetError(`undefined length on a ${vr} element at offset ${this.#pos}`);
      }
    } else {
      this.#skip = length;
    }
    return true;
  }

  /** Enter a sequence or item (two frames for each level of nesting). */
  #push(frame: Frame): void {
    if (this.#stack.length >= 2 * MAX_NESTING)
      throw new DatasetError(
        `sequences nested deeper than ${MAX_NESTING} levels at offset ${this.#pos}`,
      );
    this.#stack.push(frame);
  }

  /** The first `n` available bytes, contiguous (copied only when they span chunks). */
  #peek(n: number): Buffer {
    const first = this.#chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    for (const chunk of this.#chunks) {
      const take = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, take);
      filled += take;
      if (filled === n) break;
    }
    return out;
  }

  #consume(n: number, isValue: boolean): void {
    let left = n;
    while (left > 0) {
      const first = this.#chunks[0]!;
      const take = Math.min(first.length, left);
      if (this.#keeping) this.#keep(first.subarray(0, take));
      if (take === first.length) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(take);
      left -= take;
    }
    this.#available -= n;
    this.#pos += n;
    if (isValue) this.#skip -= n;
    if (this.#keeping && this.#headerBytes > this.#options.maxHeaderBytes) {
      // A sequence grew past the cap: it cannot be kept whole, so it is left out of the header
      // (metadata comes from the elements before it; the stored bytes are unaffected).
      this.#headerBytes = this.#markBytes;
      this.#keeping = false;
      this.#headerFull = true;
    }
  }

  #keep(bytes: Buffer): void {
    const needed = this.#headerBytes + bytes.length;
    if (needed > this.#header.length) {
      // Doubling, but not past the cap (a piece beyond it is dropped with its element).
      const size = Math.min(2 * this.#header.length, this.#options.maxHeaderBytes);
      const grown = Buffer.allocUnsafe(Math.max(needed, size));
      this.#header.copy(grown, 0, 0, this.#headerBytes);
      this.#header = grown;
    }
    bytes.copy(this.#header, this.#headerBytes);
    this.#headerBytes = needed;
  }
}

function hex(value: number): string {
  return value.toString(16).toUpperCase().padStart(4, '0');
}
