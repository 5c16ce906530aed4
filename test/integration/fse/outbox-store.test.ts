import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { imagesAvailableEntry, reportCancelledEntry } from '../../../src/fse/fse-messages.js';
import { OutboxEntryError, type OutboxEntry } from '../../../src/fse/outbox-entry.js';
import { OutboxResendError, OutboxStore } from '../../../src/fse/outbox-store.js';
import { IndexError } from '../../../src/index/errors.js';
import { StudyIndex } from '../../../src/index/study-index.js';
import { captureLogger, imagesAvailable, makeTempDir, reportCancelled } from './fixtures.js';

let dir: string;
let cleanup: () => void;
let path: string;
let clock: Date;
const opened: OutboxStore[] = [];

function open(): OutboxStore {
  const store = OutboxStore.open(path, { now: () => clock });
  opened.push(store);
  return store;
}

const at = (iso: string): Date => new Date(iso);

beforeEach(() => {
  ({ dir, cleanup } = makeTempDir());
  path = join(dir, 'index.sqlite');
  clock = at('2024-03-01T10:00:00.000Z');
});

afterEach(() => {
  for (const store of opened.splice(0)) store.close();
  cleanup();
});

describe('OutboxStore', () => {
  it('shares the index database file, in WAL mode with synchronous=FULL', () => {
    const index = StudyIndex.open(path);
    const store = open();
    store.enqueue(imagesAvailableEntry(imagesAvailable(1)));
    index.close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.prepare('SELECT COUNT(*) AS n FROM outbox').get()).toEqual({ n: 1 });
    } finally {
      db.close();
    }
  });

  it('enqueues a pending item due now, with no attempts', () => {
    const store = open();
    const entry = imagesAvailableEntry(imagesAvailable(1));
    const { item, created } = store.enqueue(entry);
    expect(created).toBe(true);
    expect(item).toMatchObject({
      ...entry,
      status: 'pending',
      attempts: 0,
      nextAttemptAt: clock,
      createdAt: clock,
      lastError: undefined,
      lastHttpStatus: undefined,
      deliveredAt: undefined,
    });
    expect(store.get(item.id)).toEqual(item);
  });

  it('is idempotent on the key: the second enqueue returns the first row', () => {
    const { log, lines } = captureLogger();
    const store = OutboxStore.open(path, { now: () => clock, logger: log });
    opened.push(store);
    const entry = imagesAvailableEntry(imagesAvailable(1));
    const first = store.enqueue(entry).item;
    store.markDelivered(first.id, 200);
    const again = store.enqueue(entry);
    expect(again.created).toBe(false);
    expect(again.item).toMatchObject({ id: first.id, status: 'delivered' });
    expect(lines.join('')).not.toContain('the first one is kept');
    // Same key, another payload: the first is kept, and someone is told.
    const changed = store.enqueue({ ...entry, payload: '{"other":true}' });
    expect(changed.item.payload).toBe(entry.payload);
    expect(lines.join('')).toContain('the first one is kept');
    expect(store.counts()).toEqual({ pending: 0, delivered: 1, dead: 0 });
  });

  it('refuses entries that cannot be stored, naming the field', () => {
    const store = open();
    const entry = imagesAvailableEntry(imagesAvailable(1));
    const cases: Array<[Partial<OutboxEntry>, RegExp]> = [
      [{ kind: 'other' as never }, /^kind must be one of/],
      [{ reportKey: '' }, /^reportKey must be/],
      [{ idempotencyKey: 'k'.repeat(513) }, /^idempotencyKey must be/],
      [{ payload: 'not json' }, /^payload must be JSON/],
      [{ payload: '[1]' }, /^payload must be a JSON object/],
      [{ payload: JSON.stringify({ x: 'y'.repeat(300 * 1024) }) }, /^payload must be at most/],
    ];
    for (const [overrides, message] of cases) {
      expect(() => store.enqueue({ ...entry, ...overrides })).toThrow(OutboxEntryError);
      expect(() => store.enqueue({ ...entry, ...overrides })).toThrow(message);
    }
    expect(store.counts().pending).toBe(0);
  });

  it('returns due items earliest first, at most the limit, and not those due later', () => {
    const store = open();
    const ids = [1, 2, 3].map(
      (n) => store.enqueue(imagesAvailableEntry(imagesAvailable(n))).item.id,
    );
    store.markRetry(ids[0]!, 'HTTP 503', 503, at('2024-03-01T10:05:00.000Z'));
    expect(store.due(clock, 10).map((i) => i.id)).toEqual([ids[1], ids[2]]);
    expect(store.due(clock, 1).map((i) => i.id)).toEqual([ids[1]]);
    expect(store.due(at('2024-03-01T10:05:00.000Z'), 10).map((i) => i.id)).toEqual([
      ids[1],
      ids[2],
      ids[0],
    ]);
    expect(() => store.due(clock, 0)).toThrow(/limit must be a positive integer, got 0/);
  });

  it('delivers the notifications of one report in order: a later one waits for the first', () => {
    const store = open();
    const images = store.enqueue(imagesAvailableEntry(imagesAvailable(1))).item;
    const cancel = store.enqueue(reportCancelledEntry(reportCancelled(1))).item;
    const other = store.enqueue(imagesAvailableEntry(imagesAvailable(2))).item;
    expect(store.due(clock, 10).map((i) => i.id)).toEqual([images.id, other.id]);
    // Still waiting for its retry: the cancellation waits too.
    store.markRetry(images.id, 'HTTP 503', 503, at('2024-03-01T11:00:00.000Z'));
    expect(store.due(clock, 10).map((i) => i.id)).toEqual([other.id]);
    store.markDead(images.id, 'HTTP 400', 400);
    expect(store.due(clock, 10).map((i) => i.id)).toEqual([cancel.id, other.id]);
  });

  it('records outcomes only on pending items', () => {
    const store = open();
    const { id } = store.enqueue(imagesAvailableEntry(imagesAvailable(1))).item;
    clock = at('2024-03-01T10:00:01.000Z');
    expect(store.markRetry(id, 'HTTP 503: busy', 503, at('2024-03-01T10:00:11.000Z'))).toBe(true);
    expect(store.get(id)).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: 'HTTP 503: busy',
      lastHttpStatus: 503,
      nextAttemptAt: at('2024-03-01T10:00:11.000Z'),
      updatedAt: clock,
    });
    clock = at('2024-03-01T10:00:12.000Z');
    expect(store.markDelivered(id, 202)).toBe(true);
    expect(store.get(id)).toMatchObject({
      status: 'delivered',
      attempts: 2,
      lastError: undefined,
      lastHttpStatus: 202,
      deliveredAt: clock,
    });
    expect(store.markDead(id, 'late', 400)).toBe(false);
    expect(store.markRetry(id, 'late', 503, clock)).toBe(false);
    expect(store.markDelivered(id, 200)).toBe(false);
    expect(store.get(id)).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it('keeps long errors short', () => {
    const store = open();
    const { id } = store.enqueue(imagesAvailableEntry(imagesAvailable(1))).item;
    store.markDead(id, 'x'.repeat(10_000), 400);
    expect(store.get(id)?.lastError).toHaveLength(2_000);
  });

  it('lists dead letters without their payload, and re-sends one with a fresh budget', () => {
    const store = open();
    const { id } = store.enqueue(imagesAvailableEntry(imagesAvailable(1))).item;
    store.markRetry(id, 'HTTP 503', 503, clock);
    store.markDead(id, 'HTTP 400: CL_ER_400: codDocumentoDipartimentale unknown', 400);
    const dead = store.listDeadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ id, status: 'dead', attempts: 2, lastHttpStatus: 400 });
    expect(dead[0]).not.toHaveProperty('payload');
    expect(JSON.stringify(dead)).not.toContain('RSSMRA80A01H501U');

    clock = at('2024-03-02T09:00:00.000Z');
    const resent = store.resend(id);
    expect(resent).toMatchObject({
      status: 'pending',
      attempts: 0,
      nextAttemptAt: clock,
      lastHttpStatus: 400,
    });
    expect(store.listDeadLetters()).toEqual([]);
    expect(store.due(clock, 10).map((i) => i.id)).toEqual([id]);
  });

  it('refuses to re-send what is not a dead letter or is superseded', () => {
    const store = open();
    const first = store.enqueue(imagesAvailableEntry(imagesAvailable(1))).item;
    const expectRefusal = (id: number, reason: string): void => {
      try {
        store.resend(id);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(OutboxResendError);
        expect((err as OutboxResendError).reason).toBe(reason);
      }
    };
    expectRefusal(999, 'not-found');
    expectRefusal(first.id, 'not-dead');
    store.markDead(first.id, 'HTTP 400', 400);
    // A newer manifest of the same report went out since: the old one must not follow it.
    const newer = store.enqueue(
      imagesAvailableEntry(
        imagesAvailable(1, {
          manifest: { ...imagesAvailable(1).manifest, sopInstanceUid: '2.25.9999.1.2' },
        }),
      ),
    ).item;
    store.markDelivered(newer.id, 200);
    expectRefusal(first.id, 'superseded');
    expect(store.get(first.id)?.status).toBe('dead');
  });

  it('re-sends every dead letter that is not superseded', () => {
    const store = open();
    const ids = [1, 2, 3].map(
      (n) => store.enqueue(imagesAvailableEntry(imagesAvailable(n))).item.id,
    );
    for (const id of ids) store.markDead(id, 'HTTP 401', 401);
    store.enqueue(reportCancelledEntry(reportCancelled(3)));
    expect(store.resendAllDead()).toEqual([ids[0], ids[1]]);
    expect(store.counts()).toEqual({ pending: 3, delivered: 0, dead: 1 });
  });

  it('keeps everything across a reopen', () => {
    let store = open();
    const { id } = store.enqueue(imagesAvailableEntry(imagesAvailable(1))).item;
    store.markRetry(id, 'HTTP 503', 503, clock);
    store.close();
    store = open();
    expect(store.get(id)).toMatchObject({ status: 'pending', attempts: 1, lastHttpStatus: 503 });
  });

  it('fails with IndexError once closed', () => {
    const store = open();
    store.close();
    store.close();
    expect(() => store.counts()).toThrow(IndexError);
  });
});
