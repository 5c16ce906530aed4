import { statfs } from 'node:fs/promises';

/** Bytes available to the daemon's user on the filesystem holding `dir`. */
async function statfsFreeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

/**
 * How long one reading of free space answers for the floor check: instances arrive by the
 * hundred per second, and a statfs for each would be a thread-pool round trip for each.
 */
const READING_MS = 100;

/** Free space on the filesystem holding `dir`, compared with a floor. */
export class DiskGuard {
  readonly #dir: string;
  readonly #floorBytes: number;
  readonly #read: (dir: string) => Promise<number>;
  #reading: { at: number; free: Promise<number> } | undefined;

  /** `read` measures free bytes (statfs; replaceable for tests). */
  constructor(dir: string, floorBytes: number, read = statfsFreeBytes) {
    this.#dir = dir;
    this.#floorBytes = floorBytes;
    this.#read = read;
  }

  /** Bytes available to the daemon's user, read now. */
  freeBytes(): Promise<number> {
    return this.#read(this.#dir);
  }

  /**
   * Undefined when there is room; otherwise a sentence for the refusal. Checks made within
   * 100 ms of each other share one reading.
   */
  async shortage(): Promise<string | undefined> {
    if (this.#floorBytes <= 0) return undefined;
    const free = await this.#recentReading();
    return free < this.#floorBytes
      ? `free disk space ${free} bytes is below the floor of ${this.#floorBytes} bytes`
      : undefined;
  }

  #recentReading(): Promise<number> {
    const now = performance.now();
    if (this.#reading && now - this.#reading.at < READING_MS) return this.#reading.free;
    const free = this.freeBytes();
    const reading = { at: now, free };
    this.#reading = reading;
    // A failed reading is not reused: the next check reads again.
    free.catch(() => {
      if (this.#reading === reading) this.#reading = undefined;
    });
    return free;
  }
}
