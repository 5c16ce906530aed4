import { writevSync } from 'node:fs';

/** Received data gathered before one write to the spool file. */
export const SPOOL_BATCH_BYTES = 256 * 1024;

/**
 * Chunks gathered before one write, whatever their size: a peer that sends its data in tiny
 * fragments must not make an association hold thousands of chunk objects.
 */
export const SPOOL_BATCH_CHUNKS = 128;

/**
 * Writes an instance's bytes to its spool file in batches: chunks are gathered and written with
 * one `writev` per `batchBytes`, since every system call is dear on a virtual machine. Writes
 * are synchronous: they land in the page cache without waiting on the disk, and a thread-pool
 * round trip would cost more than the copy. Blocking here is also the back-pressure: the socket
 * is not read while a write is in progress. Durability is the caller's (one fdatasync at the
 * end, after `flush`).
 */
export class SpoolWriter {
  readonly #fd: number;
  readonly #batchBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(fd: number, batchBytes = SPOOL_BATCH_BYTES) {
    this.#fd = fd;
    this.#batchBytes = batchBytes;
  }

  /** Takes `chunk` (which must not change afterwards); writes the batch once it is full. */
  write(chunk: Buffer): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes >= this.#batchBytes || this.#pending.length >= SPOOL_BATCH_CHUNKS)
      this.flush();
  }

  /** Writes whatever is gathered. Throws what the write throws; the batch is then dropped. */
  flush(): void {
    let buffers = this.#pending;
    let left = this.#pendingBytes;
    this.discard();
    while (left > 0) {
      const written = writevSync(this.#fd, buffers);
      if (written === 0) throw new Error('spool file accepted no data');
      left -= written;
      if (left > 0) buffers = unwritten(buffers, written);
    }
  }

  /** Forgets what is gathered and not yet written. */
  discard(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
  }
}

/** What is left of `buffers` once their first `written` bytes are written. */
export function unwritten(buffers: Buffer[], written: number): Buffer[] {
  let skip = written;
  let first = 0;
  while (skip >= buffers[first]!.length) skip -= buffers[first++]!.length;
  return [buffers[first]!.subarray(skip), ...buffers.slice(first + 1)];
}
