/** Where progress lines go: stderr, or a stream a test reads. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  /** Names the work in each line, e.g. `rebuild-index`. */
  label: string;
  /** What is counted, plural: `objects`. */
  unit: string;
  stream: ProgressStream;
  /** A line at least every this many items... */
  everyItems: number;
  /** ...and at least every this many milliseconds while items come. */
  everyMs: number;
  /** Write even when the stream is not a terminal (`--progress`); false never writes. */
  force?: boolean;
  /** The clock; tests inject one. */
  now?: () => number;
}

/**
 * Progress lines for long command-line work, on stderr so stdout stays the result: one every
 * `everyItems` items or `everyMs` milliseconds, whichever comes first, and one at the end. Only
 * on a terminal unless forced, so logs and pipes are not filled with them.
 */
export class Progress {
  #options: ProgressOptions;
  #enabled: boolean;
  #now: () => number;
  #count = 0;
  #startedAt: number;
  #lastAt: number;
  #lastCount = 0;

  constructor(options: ProgressOptions) {
    if (!Number.isInteger(options.everyItems) || options.everyItems < 1)
      throw new Error(`everyItems must be a positive integer: value was ${options.everyItems}`);
    if (!(options.everyMs > 0))
      throw new Error(`everyMs must be a positive number: value was ${options.everyMs}`);
    this.#options = options;
    this.#enabled = options.force ?? options.stream.isTTY === true;
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#lastAt = this.#now();
  }

  get count(): number {
    return this.#count;
  }

  /** Count `items` more; writes a line when one is due. */
  tick(items = 1, detail = ''): void {
    this.#count += items;
    if (!this.#enabled) return;
    const now = this.#now();
    if (
      this.#count - this.#lastCount >= this.#options.everyItems ||
      now - this.#lastAt >= this.#options.everyMs
    )
      this.#line(now, detail);
  }

  /** The last line, with the total. */
  done(detail = ''): void {
    if (this.#enabled) this.#line(this.#now(), detail, true);
  }

  #line(now: number, detail: string, last = false): void {
    const seconds = (now - this.#startedAt) / 1000;
    const rate = seconds > 0 ? ` (${(this.#count / seconds).toFixed(1)}/s)` : '';
    const { label, unit } = this.#options;
    this.#options.stream.write(
      `${label}: ${last ? 'done, ' : ''}${this.#count} ${unit}${rate}${detail ? `, ${detail}` : ''}\n`,
    );
    this.#lastAt = now;
    this.#lastCount = this.#count;
  }
}
