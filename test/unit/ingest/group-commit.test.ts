import { setImmediate as turn } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IndexError } from '../../../src/index/errors.js';
import { StudyIndex } from '../../../src/index/study-index.js';
import { GroupCommitter } from '../../../src/ingest/group-commit.js';
import { commitGate, type CommitGate } from '../../helpers/ingest-rig.js';
import { makeInstance } from '../../integration/index/fixtures.js';

/*
 * The group committer over a real (in-memory) index, behind a gate this test opens: each
 * transaction waits at the gate before it runs. A commit must not resolve before its
 * transaction has committed, and must reject when it fails.
 */

let index: StudyIndex;
let gate: CommitGate;
let committer: GroupCommitter;

beforeEach(() => {
  index = StudyIndex.open(':memory:');
  gate = commitGate(index);
  committer = new GroupCommitter(gate.index);
});

afterEach(() => index.close());

/** `promise`, with a flag telling whether it has settled yet. */
function watch(promise: Promise<void>): { settled: () => boolean; promise: Promise<void> } {
  let settled = false;
  const watched = promise.finally(() => (settled = true));
  watched.catch(() => undefined);
  return { settled: () => settled, promise: watched };
}

/** Every callback already due has run (microtasks and the next turn of the event loop). */
async function drain(): Promise<void> {
  await turn();
  await turn();
}

describe('GroupCommitter', () => {
  it('resolves a commit only once its transaction has committed', async () => {
    const item = makeInstance({ study: 1, series: 1, sop: 1 });
    const commit = watch(committer.commit(item));
    await gate.reached(1);
    await drain();
    expect(commit.settled()).toBe(false);
    expect(index.findInstance(item.metadata.instance.uid)).toBeUndefined();

    gate.open();
    await commit.promise;
    expect(index.findInstance(item.metadata.instance.uid)?.storageKey).toBe(item.storageKey);
  });

  it('rejects with the index error when the transaction fails, and resolves nothing', async () => {
    gate.open();
    // size_bytes must not be negative: SQLite's CHECK constraint fails the transaction.
    const bad = { ...makeInstance({ study: 1, series: 1, sop: 1 }), sizeBytes: -1 };
    const error = await committer.commit(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IndexError);
    expect((error as IndexError).message).toMatch(/CHECK constraint failed/);
    expect(index.countInstances()).toBe(0);
  });

  it('commits the rows that arrive during a transaction together, in the next one', async () => {
    const items = [1, 2, 3, 4].map((sop) => makeInstance({ study: 1, series: 1, sop }));
    const first = watch(committer.commit(items[0]!));
    await gate.reached(1);
    const rest = items.slice(1).map((item) => watch(committer.commit(item)));
    await drain();
    expect(gate.batches).toHaveLength(1);
    expect([first, ...rest].some((c) => c.settled())).toBe(false);

    gate.open();
    await Promise.all([first, ...rest].map((c) => c.promise));
    expect(gate.batches.map((batch) => batch.length)).toEqual([1, 3]);
    expect(index.countInstances()).toBe(4);
  });

  it('retries a failed batch row by row: only the bad row fails', async () => {
    const first = watch(committer.commit(makeInstance({ study: 1, series: 1, sop: 1 })));
    await gate.reached(1);
    const good = [2, 3].map((sop) => makeInstance({ study: 1, series: 1, sop }));
    const bad = { ...makeInstance({ study: 1, series: 1, sop: 9 }), sizeBytes: -1 };
    const commits = [good[0]!, bad, good[1]!].map((item) => watch(committer.commit(item)));
    gate.open();

    await first.promise;
    await commits[0]!.promise;
    await expect(commits[1]!.promise).rejects.toBeInstanceOf(IndexError);
    await commits[2]!.promise;
    // One batch of three that failed, then each row alone.
    expect(gate.batches.map((batch) => batch.length)).toEqual([1, 3, 1, 1, 1]);
    expect(index.countInstances()).toBe(3);
    expect(index.findInstance(bad.metadata.instance.uid)).toBeUndefined();
  });
});
