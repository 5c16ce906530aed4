import { statfs } from 'node:fs/promises';

/** Free space on the filesystem holding `dir`, compared with a floor. */
export class DiskGuard {
  #dir: string;
  #floorBytes: number;

  constructor(dir: string, floorBytes: number) {
    this.#dir = dir;
    this.#floorBytes = floorBytes;
  }

  /** Bytes available to the daemon's user. */
  async freeBytes(): Promise<number> {
    const stats = await statfs(this.#dir);
    return stats.bavail * stats.bsize;
  }

  /** Undefined when there is room; otherwise a sentence for the refusal. */
  async shortage(): Promise<string | undefined> {
    if (this.#floorBytes <= 0) return undefined;
    const free = await this.freeBytes();
    return free < this.#floorBytes
      ? `free disk space ${free} bytes is below the floor of ${this.#floorBytes} bytes`
      : undefined;
  }
}
