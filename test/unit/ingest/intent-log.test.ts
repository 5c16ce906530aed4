import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INTENT_JOURNAL, IntentLog } from '../../../src/ingest/intent-log.js';

const KEY = (n: number): string => `studies/1.2.3/1.2.3.4/1.2.3.4.${n}.dcm`;

describe('IntentLog', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'intents-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the notes not cleared for the next start; a cleared slot is overwritten by the next note', async () => {
    const log = new IntentLog(dir);
    await log.start();
    const notes = [];
    for (let n = 0; n < 5; n++) notes.push(await log.record(KEY(n)));
    log.clear(notes[1]!);
    log.clear(notes[3]!);
    await log.record(KEY(10));
    await log.record(`studies/9/9/${'9'.repeat(20)}.dcm`);
    log.close();
    expect(statSync(join(dir, INTENT_JOURNAL)).size).toBe(5 * 256);
    expect((await new IntentLog(dir).pending()).sort()).toEqual(
      [KEY(0), KEY(2), KEY(4), KEY(10), `studies/9/9/${'9'.repeat(20)}.dcm`].sort(),
    );
  });

  it('reuses cleared slots, so the journal stays as large as the notes open at once', async () => {
    const log = new IntentLog(dir);
    await log.start();
    for (let n = 0; n < 50; n++) {
      const [a, b] = await Promise.all([log.record(KEY(n)), log.record(KEY(n + 1000))]);
      log.clear(a);
      log.clear(b);
    }
    expect(statSync(join(dir, INTENT_JOURNAL)).size).toBe(2 * 256);
    log.close();
    // Every note cleared: a clean stop removes the journal.
    expect(existsSync(join(dir, INTENT_JOURNAL))).toBe(false);
  });

  it('starts a fresh journal and refuses notes once closed', async () => {
    const first = new IntentLog(dir);
    await first.start();
    await first.record(KEY(1));
    first.close();
    await expect(first.record(KEY(2))).rejects.toThrow(/not open/);
    const second = new IntentLog(dir);
    await second.start();
    expect(readFileSync(join(dir, INTENT_JOURNAL))).toHaveLength(0);
    second.close();
  });

  it('refuses a key longer than a slot rather than noting part of it', async () => {
    const log = new IntentLog(dir);
    await log.start();
    await expect(log.record(`studies/${'1.'.repeat(200)}1.dcm`)).rejects.toThrow(/too long/);
    log.close();
    expect(await new IntentLog(dir).pending()).toEqual([]);
  });

  it('still reads the one-file-per-note notes of earlier versions', async () => {
    writeFileSync(join(dir, 'a.intent'), KEY(7));
    writeFileSync(join(dir, 'prepared.intent'), '');
    expect(await new IntentLog(dir).pending()).toEqual([KEY(7)]);
  });
});
