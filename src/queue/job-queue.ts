import PQueue from 'p-queue';

export interface JobQueueOptions {
  /** Jobs running at once. */
  concurrency: number;
  /** Jobs waiting for a worker; one more is refused as busy. */
  maxQueued: number;
  /** How long a finished job's result is served to identical requests, in milliseconds. */
  resultTtlMs: number;
  /**
   * A job still running after this long, in milliseconds, is given up: its signal aborts, and
   * once its work has stopped it fails with `JobTimeoutError`. Until then its worker stays
   * taken. None: jobs run as long as they take.
   */
  timeoutMs?: number;
}

/** The answer to a request, within its deadline. */
export type JobAnswer<T> =
  /** The result is ready. */
  | { kind: 'done'; value: T }
  /** Admitted, not ready by the deadline: the job goes on; ask again later. */
  | { kind: 'in-progress'; retryAfterMs: number }
  /** The queue is full: nothing was admitted; ask again later. */
  | { kind: 'busy'; retryAfterMs: number }
  /** The job failed. */
  | { kind: 'failed'; error: Error };

interface Entry<T> {
  promise: Promise<T>;
  settled: { value: T } | { error: Error } | undefined;
  expiresAt: number;
}

/** Options a queue refuses, named with the value received. */
export class JobQueueOptionsError extends Error {
  override readonly name = 'JobQueueOptionsError';
}

/** A job given up after `JobQueueOptions.timeoutMs`; its work has stopped. */
export class JobTimeoutError extends Error {
  override readonly name = 'JobTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`job given up after ${timeoutMs} ms`);
  }
}

function checkInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min)
    throw new JobQueueOptionsError(`${name} must be an integer >= ${min}: value was ${value}`);
}

/**
 * A bounded worker queue for jobs identified by a key (a package to build): a fixed number run
 * at once, a fixed number wait, and more are refused at once as busy, never queued without
 * bound. Identical requests share one job; a caller whose deadline passes gets "in progress"
 * while the job goes on, and a later identical request gets its result for `resultTtlMs`. A job
 * past `timeoutMs` is aborted through the signal its work is given, and holds its worker until
 * that work has stopped: a job given up never runs beside the ones after it.
 */
export class JobQueue<T> {
  #queue: PQueue;
  #options: JobQueueOptions;
  #jobs = new Map<string, Entry<T>>();
  #now: () => number;

  constructor(options: JobQueueOptions, now: () => number = Date.now) {
    checkInteger('concurrency', options.concurrency, 1);
    checkInteger('maxQueued', options.maxQueued, 0);
    checkInteger('resultTtlMs', options.resultTtlMs, 0);
    if (options.timeoutMs !== undefined) checkInteger('timeoutMs', options.timeoutMs, 1);
    this.#options = options;
    this.#queue = new PQueue({ concurrency: options.concurrency });
    this.#now = now;
  }

  /** Jobs waiting for a worker. */
  get waiting(): number {
    return this.#queue.size;
  }

  /** Jobs running. */
  get running(): number {
    return this.#queue.pending;
  }

  /**
   * Answer a request for the job `key` within `deadlineMs`: its result when ready in time,
   * "in progress" when admitted but not ready, "busy" when the queue is full.
   */
  async request(
    key: string,
    work: (signal: AbortSignal) => Promise<T>,
    deadlineMs: number,
  ): Promise<JobAnswer<T>> {
    this.#expire();
    let entry = this.#jobs.get(key);
    if (!entry) {
      if (
        this.#queue.size >= this.#options.maxQueued &&
        this.#queue.pending >= this.#options.concurrency
      )
        return { kind: 'busy', retryAfterMs: this.#retryHint() };
      entry = this.#admit(key, work);
    }
    if (entry.settled) return answerOf(entry.settled);
    const current = entry;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(0, deadlineMs));
      timer.unref();
    });
    const outcome = await Promise.race([
      current.promise.then(
        () => 'settled' as const,
        () => 'settled' as const,
      ),
      timeout,
    ]);
    clearTimeout(timer);
    if (outcome === 'timeout' || !current.settled)
      return { kind: 'in-progress', retryAfterMs: this.#retryHint() };
    return answerOf(current.settled);
  }

  #admit(key: string, work: (signal: AbortSignal) => Promise<T>): Entry<T> {
    const entry: Entry<T> = {
      promise: undefined as unknown as Promise<T>,
      settled: undefined,
      expiresAt: Number.POSITIVE_INFINITY,
    };
    entry.promise = this.#queue.add(() => this.#run(work));
    entry.promise.then(
      (value) => {
        entry.settled = { value };
        entry.expiresAt = this.#now() + this.#options.resultTtlMs;
      },
      (error: unknown) => {
        // A failure is not kept: the next identical request tries again.
        entry.settled = { error: error instanceof Error ? error : new Error(String(error)) };
        this.#jobs.delete(key);
      },
    );
    this.#jobs.set(key, entry);
    return entry;
  }

  /** Run `work` on a worker, aborting it at `timeoutMs`; settles once the work has. */
  async #run(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const { timeoutMs } = this.#options;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => controller.abort(new JobTimeoutError(timeoutMs)), timeoutMs);
    timer?.unref();
    try {
      return await work(controller.signal);
    } catch (error) {
      // Whatever the work threw on its way out, it was given up.
      if (controller.signal.aborted) throw controller.signal.reason;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** A retry hint that grows with the work ahead: about one job's worth per worker. */
  #retryHint(): number {
    const ahead = this.#queue.size + this.#queue.pending;
    return Math.max(1000, Math.ceil(ahead / this.#options.concurrency) * 5000);
  }

  #expire(): void {
    const now = this.#now();
    for (const [key, entry] of this.#jobs)
      if (entry.settled && entry.expiresAt <= now) this.#jobs.delete(key);
  }

  /**
   * Stop taking jobs, drop those waiting and wait for those running, at most `timeoutMs`
   * (shutdown). Resolves true when none was left running.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.#queue.pause();
    this.#queue.clear();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
    });
    const drained = await Promise.race([this.#queue.onPendingZero().then(() => true), timeout]);
    clearTimeout(timer);
    return drained;
  }
}

function answerOf<T>(settled: { value: T } | { error: Error }): JobAnswer<T> {
  return 'value' in settled
    ? { kind: 'done', value: settled.value }
    : { kind: 'failed', error: settled.error };
}
