import { describe, expect, it } from 'vitest';
import { Progress, type ProgressStream } from '../../../src/progress.js';

function stream(isTTY: boolean): ProgressStream & { lines: string[] } {
  const lines: string[] = [];
  return { isTTY, lines, write: (text: string) => lines.push(text) };
}

describe('Progress', () => {
  it('writes a line every N items and one at the end, on a terminal', () => {
    const out = stream(true);
    let now = 0;
    const progress = new Progress({
      label: 'work',
      unit: 'items',
      stream: out,
      everyItems: 3,
      everyMs: 60_000,
      now: () => now,
    });
    for (let i = 0; i < 7; i++) {
      now += 100;
      progress.tick();
    }
    progress.done('all good');
    expect(out.lines).toEqual([
      'work: 3 items (10.0/s)\n',
      'work: 6 items (10.0/s)\n',
      'work: done, 7 items (10.0/s), all good\n',
    ]);
  });

  it('writes a line when the interval has passed, however few items came', () => {
    const out = stream(true);
    let now = 0;
    const progress = new Progress({
      label: 'work',
      unit: 'items',
      stream: out,
      everyItems: 1000,
      everyMs: 5000,
      now: () => now,
    });
    progress.tick();
    expect(out.lines).toEqual([]);
    now = 5000;
    progress.tick(1, '0 skipped');
    expect(out.lines).toEqual(['work: 2 items (0.4/s), 0 skipped\n']);
  });

  it('stays silent when the stream is not a terminal, unless forced', () => {
    const piped = stream(false);
    const quiet = new Progress({ label: 'w', unit: 'u', stream: piped, everyItems: 1, everyMs: 1 });
    quiet.tick();
    quiet.done();
    expect(piped.lines).toEqual([]);
    expect(quiet.count).toBe(1);
    const forced = new Progress({
      label: 'w',
      unit: 'u',
      stream: piped,
      everyItems: 1,
      everyMs: 1,
      force: true,
      now: () => 0,
    });
    forced.tick();
    expect(piped.lines).toEqual(['w: 1 u\n']);
  });

  it('refuses intervals that are not positive, naming them', () => {
    const out = stream(true);
    expect(
      () => new Progress({ label: 'w', unit: 'u', stream: out, everyItems: 0, everyMs: 1 }),
    ).toThrow(/everyItems/);
    expect(
      () => new Progress({ label: 'w', unit: 'u', stream: out, everyItems: 1, everyMs: 0 }),
    ).toThrow(/everyMs/);
  });
});
