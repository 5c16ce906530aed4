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

function nextDelimiter(chunk: Buffer, from: number): number {
  const end = chunk.indexOf(END_BLOCK, from);
  const start = chunk.indexOf(START_BLOCK, from);
  if (end < 0) return start;
  if (start < 0) return end;
  return Math.min(start, end);
}

/**
 * Splits a byte stream into MLLP frames (VT … FS CR), holding at most `maxFrameBytes` (or
 * `headBytes`, when larger) of a frame: the rest of a larger one is counted and dropped,
 * keeping its first `headBytes` so that its MSH can still be answered. A lone FS ends a frame
 * too; the CR after it, and any whitespace between frames, is skipped silently; other bytes
 * outside frames are reported as garbage. Never throws.
 */
export class MllpDecoder {
  readonly #maxFrameBytes: number;
  readonly #headBytes: number;
  #inFrame = false;
  #chunks: Buffer[] = [];
  #size = 0;
  #head: Buffer | undefined;

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

  /** Feed bytes; returns what they completed, in order. */
  push(chunk: Buffer): MllpEvent[] {
    const events: MllpEvent[] = [];
    let garbage = 0;
    let i = 0;
    while (i < chunk.length) {
      if (!this.#inFrame) {
        const start = chunk.indexOf(START_BLOCK, i);
        const stop = start < 0 ? chunk.length : start;
        for (let j = i; j < stop; j++) if (!isWhitespace(chunk[j]!)) garbage++;
        if (start < 0) break;
        if (garbage > 0) events.push({ type: 'garbage', size: garbage });
        garbage = 0;
        this.#begin();
        i = start + 1;
        continue;
      }
      const at = nextDelimiter(chunk, i);
      this.#take(chunk.subarray(i, at < 0 ? chunk.length : at));
      if (at < 0) break;
      if (chunk[at] === START_BLOCK) {
        events.push({ type: 'restarted', dropped: this.#size });
        this.#begin();
      } else {
        events.push(this.#finish());
      }
      i = at + 1;
    }
    if (garbage > 0) events.push({ type: 'garbage', size: garbage });
    return events;
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
      this.#head = Buffer.concat(this.#chunks, this.#headBytes);
      this.#chunks = [];
    }
  }

  #finish(): MllpEvent {
    const event: MllpEvent =
      this.#size > this.#maxFrameBytes
        ? {
            type: 'oversized',
            head: this.#head ?? Buffer.concat(this.#chunks, Math.min(this.#size, this.#headBytes)),
            size: this.#size,
          }
        : { type: 'message', bytes: Buffer.concat(this.#chunks, this.#size) };
    this.#inFrame = false;
    this.#chunks = [];
    this.#size = 0;
    this.#head = undefined;
    return event;
  }
}
