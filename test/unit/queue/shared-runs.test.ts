import { describe, expect, it } from 'vitest';
import { SharedRuns } from '../../../src/queue/shared-runs.js';

/** A run the test ends when it wants, telling when its signal aborts. */
function held(): {
  start: (signal: AbortSignal) => Promise<string>;
  starts: () => number;
  aborted: Promise<unknown>;
  end: () => void;
} {
  let started = 0;
  let end!: () => void;
  let seen!: (reason: unknown) => void;
  const aborted = new Promise<unknown>((resolve) => (seen = resolve));
  const ended = new Promise<void>((resolve) => (end = resolve));
  return {
    start: async (signal) => {
      started++;
      signal.addEventListener('abort', () => seen(signal.reason), { once: true });
      await ended;
      return 'done';
    },
    starts: () => started,
    aborted,
    end,
  };
}

const settled = <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );

describe('runs shared by key', () => {
  it('shares one run between callers of one key', async () => {
    const runs = new SharedRuns<string>();
    const run = held();
    const both = Promise.all([runs.run('a', run.start), runs.run('a', run.start)]);
    run.end();
    expect(await both).toEqual(['done', 'done']);
    expect(run.starts()).toBe(1);
  });

  it('stops a run its only caller gives up, and answers that caller once it has stopped', async () => {
    const runs = new SharedRuns<string>();
    const run = held();
    const controller = new AbortController();
    const reason = new Error('given up');
    let answered = false;
    const answer = settled(runs.run('a', run.start, controller.signal)).finally(
      () => (answered = true),
    );
    controller.abort(reason);
    expect(await run.aborted).toBe(reason);
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);
    // Forgotten at once: a new caller starts a new run.
    const fresh = held();
    const next = runs.run('a', fresh.start);
    expect(fresh.starts()).toBe(1);
    run.end();
    expect(await answer).toEqual({ error: reason });
    fresh.end();
    expect(await next).toBe('done');
  });

  it('keeps a run going while another caller waits for it', async () => {
    const runs = new SharedRuns<string>();
    const run = held();
    const controller = new AbortController();
    const reason = new Error('given up');
    const leaving = settled(runs.run('a', run.start, controller.signal));
    const staying = runs.run('a', run.start);
    controller.abort(reason);
    expect(await leaving).toEqual({ error: reason });
    let aborted = false;
    void run.aborted.then(() => (aborted = true));
    run.end();
    expect(await staying).toBe('done');
    expect(aborted).toBe(false);
  });

  it('stops a run once every caller with a signal has given it up', async () => {
    const runs = new SharedRuns<string>();
    const run = held();
    const first = new AbortController();
    const second = new AbortController();
    const one = settled(runs.run('a', run.start, first.signal));
    const two = settled(runs.run('a', run.start, second.signal));
    first.abort(new Error('first'));
    expect(await one).toEqual({ error: new Error('first') });
    second.abort(new Error('second'));
    expect(await run.aborted).toEqual(new Error('second'));
    run.end();
    expect(await two).toEqual({ error: new Error('second') });
    await runs.idle();
    expect(runs.current('a')).toBeUndefined();
  });
});
