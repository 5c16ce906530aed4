/** MLLP start block (VT). */
export const START_BLOCK = 0x0b;
/** MLLP end block: FS, then CR. */
export const END_BLOCK = 0x1c;
export const CARRIAGE_RETURN = 0x0d;

/** What the decoder found in the bytes it was given. */
export type MllpEvent =
  /** A whole frame: the bytes between the start block and the end block. */
  | { type: 'message'; bytes: Buffer }
  /** A frame larger than the limit ended; its first bytes are kept to answer it. */
  | { type: 'oversized'; head: Buffer; size: number }
  /** Bytes other than whitespace outside any frame, dropped. */
  | { type: 'garbage'; size: number }
  /** A start block inside a frame: the unfinished frame before it is dropped. */
  | { type: 'restarted'; dropped: number };

/** Wrap a message in an MLLP frame. */
export function frame(payload: Uint8Array): Buffer {
  return Buffer.concat([Buffer.of(START_BLOCK), payload, Buffer.of(END_BLOCK, CARRIAGE_RETURN)]);
}

function isWhitespace(byte: number): boolean {
  return byte === 0x0d || byte === 0x0a || byte === 0x20 || byte === 0x09;
}

/**
 * Splits a byte stream into MLLP frames (VT … FS CR), holding at most `maxFrameBytes` (or
 * `headBytes`, when larger) of a frame: the rest of a larger one is counted and dropped,
 * keeping its first `headBytes` so that its MSH can still be answered. A lone FS ends a frame
 * too; the CR after it, and any whitespace between frames, is skipped silently; other bytes
 * outside frames are reported as garbage. Never throws.
 *
 * Bytes are handed over with `feed` and read event by event with `next`, so that a reader can
 * stop between two frames and go on later. The work is linear in the bytes: the position of
 * the next start block and of the next end block are each searched for once and remembered,
 * so that no byte is searched twice for the same delimiter, and each byte of a frame is
 * copied once.
 */
export class MllpDecoder {
  readonly #maxFrameBytes: number;
  readonly #headBytes: number;
  #inFrame = false;
  #chunks: Buffer[] = [];
  #size = 0;
  #head: Buffer | undefined;
  /** Bytes fed and not read yet; reading goes on in the first, from `#at`. */
  #input: Buffer[] = [];
  #at = 0;
  /** Where the next start and end blocks are in the first input buffer (its length: none). */
  #nextStart = -1;
  #nextEnd = -1;
  #scanned = 0;
  #copied = 0;

  constructor(maxFrameBytes: number, headBytes = 4096) {
    this.#maxFrameBytes = maxFrameBytes;
    this.#headBytes = headBytes;
  }

  /** A start block was seen and its end block not yet. */
  get inFrame(): boolean {
    return this.#inFrame;
  }

  /** Bytes of the unfinished frame so far (held or dropped). */
  get frameSize(): number {
    return this.#size;
  }

  /** Bytes were fed that `next` has not read to their end. */
  get unread(): boolean {
    return this.#input.length > 0;
  }

  /** Bytes looked at so far, by the delimiter searches and the garbage count. */
  get bytesScanned(): number {
    return this.#scanned;
  }

  /** Bytes copied so far into frames and heads. */
  get bytesCopied(): number {
    return this.#copied;
  }

  /** Hand bytes over; `next` reads them after those fed before. */
  feed(chunk: Buffer): void {
    if (chunk.length > 0) this.#input.push(chunk);
  }

  /** The next event in the bytes fed, or undefined once they are all read. */
  next(): MllpEvent | undefined {
    while (this.#input.length > 0) {
      const chunk = this.#input[0]!;
      const event = this.#inFrame ? this.#readFrame(chunk) : this.#skipToFrame(chunk);
      if (this.#at >= chunk.length) {
        this.#input.shift();
        this.#at = 0;
        this.#nextStart = -1;
        this.#nextEnd = -1;
      }
      if (event) return event;
    }
    return undefined;
  }

  /** Feed bytes and read every event they complete, in order. */
  push(chunk: Buffer): MllpEvent[] {
    this.feed(chunk);
    const events: MllpEvent[] = [];
    for (let event = this.next(); event; event = this.next()) events.push(event);
    return events;
  }

  /** Index of the next `byte` at or after `#at` in `chunk`, or its length when there is none. */
  #find(chunk: Buffer, byte: typeof START_BLOCK | typeof END_BLOCK): number {
    const known = byte === START_BLOCK ? this.#nextStart : this.#nextEnd;
    if (known >= this.#at) return known;
    const found = chunk.indexOf(byte, this.#at);
    const at = found < 0 ? chunk.length : found;
    this.#scanned += Math.min(at + 1, chunk.length) - this.#at;
    if (byte === START_BLOCK) this.#nextStart = at;
    else this.#nextEnd = at;
    return at;
  }

  #skipToFrame(chunk: Buffer): MllpEvent | undefined {
    const start = this.#find(chunk, START_BLOCK);
    let garbage = 0;
    for (let j = this.#at; j < start; j++) if (!isWhitespace(chunk[j]!)) garbage++;
    this.#scanned += start - this.#at;
    // Garbage is reported before the frame after it; the start block is read on the next call.
    this.#at = garbage > 0 ? start : Math.min(start + 1, chunk.length);
    if (garbage > 0) return { type: 'garbage', size: garbage };
    if (start < chunk.length) this.#begin();
    return undefined;
  }

  #readFrame(chunk: Buffer): MllpEvent | undefined {
    const at = Math.min(this.#find(chunk, START_BLOCK), this.#find(chunk, END_BLOCK));
    this.#take(chunk.subarray(this.#at, at));
    this.#at = Math.min(at + 1, chunk.length);
    if (at === chunk.length) return undefined;
    if (chunk[at] === START_BLOCK) {
      const dropped = this.#size;
      this.#begin();
      return { type: 'restarted', dropped };
    }
    return this.#finish();
  }

  #begin(): void {
    this.#inFrame = true;
    this.#chunks = [];
    this.#size = 0;
    this.#head = undefined;
  }

  #take(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#size += bytes.length;
    if (this.#head !== undefined) return;
    this.#chunks.push(bytes);
    // The head is cut only once it is whole, so that it is the same bytes however TCP split
    // the frame (the limit may be below headBytes).
    if (this.#size > this.#maxFrameBytes && this.#size >= this.#headBytes) {
      this.#head = this.#concat(this.#headBytes);
      this.#chunks = [];
    }
  }

  #concat(length: number): Buffer {
    this.#copied += length;
    return Buffer.concat(this.#chunks, length);
  }

  #finish(): MllpEvent {
    const event: MllpEvent =
      this.#size > this.#maxFrameBytes
        ? {
            type: 'oversized',
            head: this.#head ?? this.#concat(Math.min(this.#size, this.#headBytes)),
            size: this.#size,
          }
        : { type: 'message', bytes: this.#concat(this.#size) };
    this.#inFrame = false;
    this.#chunks = [];
    this.#size = 0;
    this.#head = undefined;
    return event;
  }
}
