/**
 * Converts stored datasets on threads of its own (transcode-worker.ts), so that decompressing a
 * large multi-frame never holds up the event loop and the associations it serves.
 */
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { leastBusyThread, startWorker, transferableBytes } from '../worker-thread.js';
import type { CancelRequest, TranscodeMessage, TranscodeRequest } from './transcode-worker.js';

/** A conversion failed (the dataset cannot be converted, or its thread died); or was cancelled. */
export class TranscodeError extends Error {
  override readonly name = 'TranscodeError';
}

export interface ConvertOptions {
  /** Stops the conversion before its next frame; the promise rejects at once. */
  signal?: AbortSignal;
}

/** Reported after each decompressed frame. */
export interface TranscodeProgress {
  id: number;
  decoded: number;
  frames: number;
}

interface Pending {
  resolve: (dataset: Buffer) => void;
  reject: (error: Error) => void;
}

interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
}

/** One thread on a small machine, two where there are cores for them. */
function defaultThreads(): number {
  return Math.min(2, Math.max(1, availableParallelism() - 1));
}

/**
 * A pool of conversion threads, started at the first conversion; they keep the process alive
 * only while they have work. Emits 'progress' (TranscodeProgress) as frames are decompressed.
 */
export class Transcoder extends EventEmitter<{ progress: [TranscodeProgress] }> {
  readonly #size: number;
  #threads: Thread[] = [];
  #nextId = 1;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(threads = defaultThreads()) {
    super();
    this.#size = threads;
  }

  /** Conversions under way. */
  get running(): number {
    return this.#inFlight.size;
  }

  /**
   * Convert `dataset`, stored in `from`, into `to` (see `convertDataset`). The dataset's memory
   * is handed to the thread when the Buffer is all of it: do not use it afterwards.
   */
  convert(
    dataset: Buffer,
    from: string,
    to: string,
    options: ConvertOptions = {},
  ): Promise<Buffer> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new TranscodeError('conversion cancelled'));
    const thread = this.#leastBusy();
    const id = this.#nextId++;
    if (thread.pending.size === 0) thread.worker.ref();
    const bytes = transferableBytes(dataset);
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    this.#inFlight.add(done);
    const converted = new Promise<Buffer>((resolve, reject) => {
      const onAbort = (): void => {
        thread.worker.postMessage({ kind: 'cancel', id } satisfies CancelRequest);
        settle();
        reject(new TranscodeError('conversion cancelled'));
      };
      const settle = (): void => {
        thread.pending.delete(id);
        signal?.removeEventListener('abort', onAbort);
        if (thread.pending.size === 0) thread.worker.unref();
        this.#inFlight.delete(done);
        finished();
      };
      thread.pending.set(id, {
        resolve: (result) => {
          settle();
          resolve(result);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      thread.worker.postMessage(
        { kind: 'convert', id, dataset: bytes, from, to } satisfies TranscodeRequest,
        [bytes],
      );
    });
    return converted;
  }

  /** Stop the threads once the conversions under way are done; a later conversion starts anew. */
  async close(): Promise<void> {
    // Conversions started while others were being waited for are waited for too.
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
    await Promise.all(this.#threads.splice(0).map((thread) => thread.worker.terminate()));
  }

  #leastBusy(): Thread {
    return leastBusyThread(this.#threads, this.#size, () => this.#start());
  }

  #start(): Thread {
    const worker = startWorker(import.meta.url, 'transcode-worker');
    worker.unref();
    const thread: Thread = { worker, pending: new Map() };
    worker.on('message', (message: TranscodeMessage) => {
      const pending = thread.pending.get(message.id);
      if (!pending) return;
      if (message.kind === 'progress')
        this.emit('progress', { id: message.id, decoded: message.decoded, frames: message.frames });
      else if (message.kind === 'done') pending.resolve(Buffer.from(message.dataset));
      else pending.reject(new TranscodeError(message.message));
    });
    const fail = (error: Error): void => {
      // A thread that died takes its conversions with it: report them, and start afresh next time.
      this.#threads = this.#threads.filter((t) => t !== thread);
      for (const pending of [...thread.pending.values()])
        pending.reject(new TranscodeError(`conversion thread failed: ${error.message}`));
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    return thread;
  }
}

let shared: Transcoder | undefined;

/** The process's transcoder, made at first use: the Q/R SCP and PDI packages share its threads. */
export function sharedTranscoder(): Transcoder {
  shared ??= new Transcoder();
  return shared;
}
