import { describe, expect, it } from 'vitest';
import { DiskGuard } from '../../../src/ingest/disk-guard.js';

/** A reader of free space that counts its readings and answers what the test sets. */
function reader(initial: number) {
  const state = { free: initial, reads: 0, fail: false };
  const read = async (): Promise<number> => {
    state.reads++;
    if (state.fail) throw new Error('statfs failed');
    return state.free;
  };
  return { state, read };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('DiskGuard', () => {
  it('names the free space and the floor when space is short', async () => {
    const { read } = reader(100);
    const guard = new DiskGuard('/data', 1000, read);
    expect(await guard.shortage()).toBe(
      'free disk space 100 bytes is below the floor of 1000 bytes',
    );
  });

  it('shares one reading between checks made close together, and reads again later', async () => {
    const { state, read } = reader(5000);
    const guard = new DiskGuard('/data', 1000, read);
    const checks = await Promise.all(Array.from({ length: 20 }, () => guard.shortage()));
    expect(checks.every((check) => check === undefined)).toBe(true);
    expect(state.reads).toBe(1);
    state.free = 10;
    await sleep(150);
    expect(await guard.shortage()).toMatch(/below the floor/);
    expect(state.reads).toBe(2);
  });

  it('reads again after a failed reading, and reports the failure', async () => {
    const { state, read } = reader(5000);
    const guard = new DiskGuard('/data', 1000, read);
    state.fail = true;
    await expect(guard.shortage()).rejects.toThrow(/statfs failed/);
    state.fail = false;
    expect(await guard.shortage()).toBeUndefined();
    expect(state.reads).toBe(2);
  });

  it('never reads when the floor is 0 (the check is off)', async () => {
    const { state, read } = reader(0);
    const guard = new DiskGuard('/data', 0, read);
    expect(await guard.shortage()).toBeUndefined();
    expect(state.reads).toBe(0);
  });

  it('reads the real filesystem by default', async () => {
    const guard = new DiskGuard('/', 1);
    expect(await guard.freeBytes()).toBeGreaterThan(0);
    expect(await guard.shortage()).toBeUndefined();
  });
});
