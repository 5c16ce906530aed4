import { closeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { leastBusyThread, startWorker } from '../worker-thread.js';
import type { MoveRequest, MoveResponse, MoveStage } from './file-mover-worker.js';

/** Two threads on a small machine, up to four where there are cores for them. */
function defaultThreads(): number {
  return Math.min(4, Math.max(2, availableParallelism()));
}

/** A move failed; `stage` says how far it got (before `rename` nothing is visible). */
export class MoveError extends Error {
  override readonly name = 'MoveError';
  constructor(
    message: string,
    readonly stage: MoveStage,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

interface Thread {
  worker: Worker;
  pending: Map<number, { resolve: () => void; reject: (error: Error) => void }>;
}

/**
 * Makes spooled files durable under their final names on a few threads of its own: each move
 * (fdatasync, close, rename, directory fsync) is one hand-over from the event loop and one
 * answer back. Through the thread pool each of those steps would be a round trip of its own,
 * and on a busy event loop every round trip waits behind the socket reads of other
 * associations. Threads start with `start()` or at the first moves, and keep the process alive
 * only while they have moves to finish.
 */
export class FileMover {
  readonly #size: number;
  #threads: Thread[] = [];
  #nextId = 1;
  #closed = false;
  readonly #inFlight = new Set<Promise<void>>();

  /** `threads`: moves at once (each waits on the disk for its syncs). */
  constructor(threads = defaultThreads()) {
    this.#size = threads;
  }

  /** Start every thread now, rather than at the first moves; resolves once they are running. */
  async start(): Promise<void> {
    const started: Thread[] = [];
    while (this.#threads.length + started.length < this.#size) started.push(this.#start());
    this.#threads.push(...started);
    await Promise.all(
      started.map(
        (thread) =>
          new Promise<void>((resolve, reject) => {
            thread.worker.once('online', resolve);
            thread.worker.once('error', reject);
          }),
      ),
    );
  }

  /**
   * fdatasync (unless `sync` is false: the caller did) and close `fd`, the descriptor of
   * `from` (handed over: it is closed whatever happens, unless its thread dies mid-move);
   * rename `from` to `to`; fsync `dir`, the directory of `to`.
   */
  move(
    fd: number,
    from: string,
    to: string,
    dir: string,
    options: { sync: boolean } = { sync: true },
  ): Promise<void> {
    if (this.#closed) {
      closeSync(fd);
      return Promise.reject(new MoveError('file mover closed', 'sync', undefined));
    }
    const thread = this.#leastBusy();
    const id = this.#nextId++;
    // A thread keeps the process alive only while it has moves to finish.
    if (thread.pending.size === 0) thread.worker.ref();
    const moved = new Promise<void>((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.worker.postMessage({
        id,
        fd,
        from,
        to,
        dir,
        sync: options.sync,
      } satisfies MoveRequest);
    });
    const settled: Promise<void> = moved.then(
      () => this.#settled(thread, settled),
      () => this.#settled(thread, settled),
    );
    this.#inFlight.add(settled);
    return moved;
  }

  /** Stop the threads once the moves in progress are done. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#inFlight);
    await Promise.all(this.#threads.splice(0).map((thread) => thread.worker.terminate()));
  }

  #settled(thread: Thread, settled: Promise<void>): void {
    this.#inFlight.delete(settled);
    if (thread.pending.size === 0) thread.worker.unref();
  }

  #leastBusy(): Thread {
    return leastBusyThread(this.#threads, this.#size, () => this.#start());
  }

  #start(): Thread {
    // The descriptors it closes were opened by the main thread: not the worker's to track.
    const worker = startWorker(import.meta.url, 'file-mover-worker', { trackUnmanagedFds: false });
    worker.unref();
    const thread: Thread = { worker, pending: new Map() };
    worker.on('message', (response: MoveResponse) => {
      const pending = thread.pending.get(response.id);
      if (!pending) return;
      thread.pending.delete(response.id);
      if (response.ok) pending.resolve();
      else pending.reject(new MoveError(response.message, response.stage, response.code));
    });
    const fail = (error: Error): void => {
      // A thread that died takes its moves with it: report them, and start afresh next time.
      this.#threads = this.#threads.filter((t) => t !== thread);
      for (const pending of thread.pending.values())
        pending.reject(
          new MoveError(`file mover thread failed: ${error.message}`, 'unknown', undefined),
        );
      thread.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    return thread;
  }
}
