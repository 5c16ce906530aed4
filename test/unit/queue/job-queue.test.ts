import { describe, expect, it } from 'vitest';
import { JobQueue, JobQueueOptionsError, JobTimeoutError } from '../../../src/queue/job-queue.js';

/** A job the test finishes when it wants, counting how often it started. */
function controlled<T>(): {
  work: (signal: AbortSignal) => Promise<T>;
  starts: () => number;
  finish: (value: T) => void;
  fail: (error: Error) => void;
  /** The signal of its last start. */
  signal: () => AbortSignal | undefined;
  /** Resolves when its signal aborts. */
  aborted: Promise<void>;
} {
  let started = 0;
  let signal: AbortSignal | undefined;
  let abortSeen!: () => void;
  const aborted = new Promise<void>((resolve) => (abortSeen = resolve));
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const done = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return {
    work: (given) => {
      started++;
      signal = given;
      given.addEventListener('abort', () => abortSeen(), { once: true });
      return done;
    },
    starts: () => started,
    finish: (value) => resolve(value),
    fail: (error) => reject(error),
    signal: () => signal,
    aborted,
  };
}

describe('bounded job queue', () => {
  it('validates its options, naming the option and the value', () => {
    expect(() => new JobQueue({ concurrency: 0, maxQueued: 1, resultTtlMs: 0 })).toThrow(
      JobQueueOptionsError,
    );
    expect(() => new JobQueue({ concurrency: 1, maxQueued: -1, resultTtlMs: 0 })).toThrow(
      /maxQueued must be an integer >= 0: value was -1/,
    );
  });

  it('answers done within the deadline', async () => {
    const queue = new JobQueue<string>({ concurrency: 1, maxQueued: 1, resultTtlMs: 1000 });
    const answer = await queue.request('a', async () => 'package-a', 1000);
    expect(answer).toEqual({ kind: 'done', value: 'package-a' });
  });

  it('answers in progress at the deadline, goes on, and serves the result to a later identical request', async () => {
    const queue = new JobQueue<string>({ concurrency: 1, maxQueued: 1, resultTtlMs: 60_000 });
    const job = controlled<string>();
    const first = await queue.request('a', job.work, 20);
    expect(first.kind).toBe('in-progress');
    expect(first.kind === 'in-progress' && first.retryAfterMs).toBeGreaterThan(0);
    job.finish('package-a');
    await new Promise((resolve) => setImmediate(resolve));
    const later = await queue.request('a', job.work, 20);
    expect(later).toEqual({ kind: 'done', value: 'package-a' });
    expect(job.starts()).toBe(1);
  });

  it('shares one job between identical concurrent requests', async () => {
    const queue = new JobQueue<string>({ concurrency: 2, maxQueued: 2, resultTtlMs: 1000 });
    const job = controlled<string>();
    const answers = Promise.all([
      queue.request('same', job.work, 5000),
      queue.request('same', job.work, 5000),
      queue.request('same', job.work, 5000),
    ]);
    job.finish('one');
    expect(await answers).toEqual([
      { kind: 'done', value: 'one' },
      { kind: 'done', value: 'one' },
      { kind: 'done', value: 'one' },
    ]);
    expect(job.starts()).toBe(1);
  });

  it('refuses at once as busy when every worker and every queue place is taken', async () => {
    const queue = new JobQueue<string>({ concurrency: 1, maxQueued: 1, resultTtlMs: 1000 });
    const running = controlled<string>();
    const waiting = controlled<string>();
    expect((await queue.request('run', running.work, 1)).kind).toBe('in-progress');
    expect((await queue.request('wait', waiting.work, 1)).kind).toBe('in-progress');
    expect(queue.running).toBe(1);
    expect(queue.waiting).toBe(1);
    const refused = controlled<string>();
    const busy = await queue.request('third', refused.work, 5000);
    expect(busy.kind).toBe('busy');
    expect(refused.starts()).toBe(0);
    running.finish('r');
    waiting.finish('w');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await queue.request('third', async () => 't', 1000)).kind).toBe('done');
  });

  it('reports a failed job and tries again on the next identical request', async () => {
    const queue = new JobQueue<string>({ concurrency: 1, maxQueued: 1, resultTtlMs: 1000 });
    const failing = await queue.request(
      'f',
      async () => Promise.reject(new Error('PACS down')),
      1000,
    );
    expect(failing.kind === 'failed' && failing.error.message).toBe('PACS down');
    expect(await queue.request('f', async () => 'ok', 1000)).toEqual({ kind: 'done', value: 'ok' });
  });

  it('forgets a result once its time to live is over', async () => {
    let now = 0;
    const queue = new JobQueue<string>(
      { concurrency: 1, maxQueued: 1, resultTtlMs: 100 },
      () => now,
    );
    let builds = 0;
    const work = async (): Promise<string> => `build-${++builds}`;
    expect(await queue.request('k', work, 1000)).toEqual({ kind: 'done', value: 'build-1' });
    now = 50;
    expect(await queue.request('k', work, 1000)).toEqual({ kind: 'done', value: 'build-1' });
    now = 200;
    expect(await queue.request('k', work, 1000)).toEqual({ kind: 'done', value: 'build-2' });
  });

  it('gives a job up at its time limit, answering only once its work has stopped, its worker taken until then', async () => {
    const queue = new JobQueue<string>({
      concurrency: 1,
      maxQueued: 1,
      resultTtlMs: 0,
      timeoutMs: 10,
    });
    const stuck = controlled<string>();
    const next = controlled<string>();
    const answer = queue.request('stuck', stuck.work, 60_000);
    await stuck.aborted;
    expect(stuck.signal()?.reason).toBeInstanceOf(JobTimeoutError);
    // Aborted, not yet stopped: the worker is still taken and the next job waits for it.
    expect(queue.running).toBe(1);
    expect((await queue.request('next', next.work, 1)).kind).toBe('in-progress');
    expect(next.starts()).toBe(0);
    // An identical request meanwhile joins the job being given up rather than starting another.
    const again = queue.request('stuck', stuck.work, 60_000);
    expect(stuck.starts()).toBe(1);
    stuck.fail(new Error('read aborted'));
    for (const given of [await answer, await again]) {
      expect(given.kind).toBe('failed');
      expect(given.kind === 'failed' && given.error).toBeInstanceOf(JobTimeoutError);
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(next.starts()).toBe(1);
    next.finish('n');
  });

  it('refuses a time limit that is not a positive integer, naming it', () => {
    expect(
      () => new JobQueue({ concurrency: 1, maxQueued: 1, resultTtlMs: 0, timeoutMs: 0 }),
    ).toThrow(/timeoutMs must be an integer >= 1: value was 0/);
  });

  it('drains at shutdown: drops waiting jobs, waits for running ones, at most the time given', async () => {
    const queue = new JobQueue<string>({ concurrency: 1, maxQueued: 1, resultTtlMs: 0 });
    const running = controlled<string>();
    const waiting = controlled<string>();
    void queue.request('running', running.work, 10);
    void queue.request('waiting', waiting.work, 10);
    expect(queue.running).toBe(1);
    expect(queue.waiting).toBe(1);
    // The running job does not end in time: drain gives up and says so.
    expect(await queue.drain(20)).toBe(false);
    expect(waiting.starts()).toBe(0);
    running.finish('done');
    expect(await queue.drain(1000)).toBe(true);
    expect(waiting.starts()).toBe(0);
  });
});
