import type { Worker } from 'node:worker_threads';
import type { StoredInstance } from '../dicom/instance-metadata.js';
import type { CommitResult } from './commit.js';
import { IndexError } from './errors.js';
import { startWorker } from '../worker-thread.js';
import type { WriterRequest, WriterResponse } from './index-writer-worker.js';

type Pending = { resolve: (result: unknown) => void; reject: (error: Error) => void };
type RequestBody = WriterRequest extends infer R
  ? R extends unknown
    ? Omit<R, 'id'>
    : never
  : never;

/**
 * Writes to the study index from a worker thread: commits run, with their fsync, off the
 * event loop, while reads stay on the main thread's own connection (SQLite WAL lets readers
 * and one writer work at once). Open the `StudyIndex` first: it applies the migrations.
 */
export class IndexWriter {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed: Promise<void> | undefined;
  #failure: Error | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (response: WriterResponse) => this.#settle(response));
    worker.on('error', (error) => this.#fail(error));
    worker.on('exit', (code) =>
      this.#fail(new IndexError(`index writer stopped (exit code ${code})`)),
    );
  }

  /** Start the writer thread on the index at `path`; resolves once it can take commits. */
  static async start(path: string): Promise<IndexWriter> {
    const writer = new IndexWriter(
      startWorker(import.meta.url, 'index-writer-worker', { workerData: { path } }),
    );
    // A harmless request proves the worker opened the database.
    await writer.#request({ op: 'remove', sopInstanceUid: '' });
    return writer;
  }

  /** One transaction for the batch (see `StudyIndex.commitInstances`). */
  commitInstances(
    items: readonly StoredInstance[],
    replace: ReadonlySet<string> = new Set(),
  ): Promise<CommitResult> {
    return this.#request({
      op: 'commit',
      items: [...items],
      replace: [...replace],
    }) as Promise<CommitResult>;
  }

  removeInstance(sopInstanceUid: string): Promise<boolean> {
    return this.#request({ op: 'remove', sopInstanceUid }) as Promise<boolean>;
  }

  /** See `StudyIndex.setExpectedInstances`; runs on the writer thread, after queued commits. */
  async setExpectedInstances(studyUid: string, expected: number | null): Promise<void> {
    await this.#request({ op: 'setExpected', studyUid, expected });
  }

  /** Finish queued commits, close the connection and stop the thread. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (!this.#failure) await this.#request({ op: 'close' }).catch(() => undefined);
      await this.#worker.terminate();
    })();
    return this.#closed;
  }

  #request(body: RequestBody): Promise<unknown> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...body, id } as WriterRequest);
    });
  }

  #settle(response: WriterResponse): void {
    const pending = this.#pending.get(response.id);
    if (!pending) return;
    this.#pending.delete(response.id);
    if (response.ok) pending.resolve(response.result);
    else
      pending.reject(
        new IndexError(response.error.message, { cause: { code: response.error.code } }),
      );
  }

  #fail(error: Error): void {
    this.#failure ??=
      error instanceof IndexError
        ? error
        : new IndexError(`index writer failed: ${error.message}`, { cause: error });
    for (const pending of this.#pending.values()) pending.reject(this.#failure);
    this.#pending.clear();
  }
}
