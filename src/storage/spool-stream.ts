import { Writable } from 'node:stream';
import type { Spool } from './object-store.js';

/**
 * A writable stream into `spool`, for producers that pipe (a ZIP writer). Its chunks go to the
 * spool's gathered writes; finishing ends the spool, and `commit` is still the caller's.
 * Aborting `signal` destroys the stream; the spool is then the caller's to discard.
 */
export function spoolWritable(spool: Spool, signal?: AbortSignal): Writable {
  return new Writable({
    ...(signal ? { signal } : {}),
    writev(chunks, callback) {
      try {
        spool.write(chunks.map(({ chunk }) => chunk as Buffer));
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    final(callback) {
      try {
        spool.end();
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}
