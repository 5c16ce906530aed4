import { join } from 'node:path';
import type { Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { imagesAvailableEntry, reportCancelledEntry } from '../../../src/fse/fse-messages.js';
import { FseNotifier } from '../../../src/fse/fse-notifier.js';
import type { OutboxItem } from '../../../src/fse/outbox-entry.js';
import { OutboxStore } from '../../../src/fse/outbox-store.js';
import { OutboxWorker, type OutboxWorkerOptions } from '../../../src/fse/outbox-worker.js';
import { FakeFse, type FakeFseOptions } from '../../helpers/fake-fse.js';
import { waitFor } from '../../helpers/tools.js';
import {
  CODICE_FISCALE,
  PATIENT_ID,
  captureLogger,
  imagesAvailable,
  makeTempDir,
  reportCancelled,
} from './fixtures.js';

/*
 * The outbox end to end: a real SQLite file, the worker, the notifier and the fake FSE, with
 * retry delays of milliseconds.
 */

const FAST: Partial<OutboxWorkerOptions> = {
  pollIntervalMs: 50,
  retryBaseDelayMs: 20,
  retryMaxDelayMs: 100,
  maxAttempts: 5,
  stopTimeoutMs: 1_000,
};

let dir: string;
let cleanup: () => void;
let path: string;
let fake: FakeFse;
let log: Logger;
let logLines: string[];
const running: Array<{ worker: OutboxWorker; store: OutboxStore }> = [];

beforeEach(() => {
  ({ dir, cleanup } = makeTempDir());
  path = join(dir, 'index.sqlite');
  ({ log, lines: logLines } = captureLogger());
});

afterEach(async () => {
  for (const { worker, store } of running.splice(0)) {
    await worker.stop(0);
    store.close();
  }
  await fake?.close();
  cleanup();
});

async function startAll(
  fakeOptions: FakeFseOptions = {},
  options: Partial<OutboxWorkerOptions> = {},
  timeoutMs = 2_000,
): Promise<{ store: OutboxStore; worker: OutboxWorker }> {
  fake = await FakeFse.start(fakeOptions);
  return startWorker(options, timeoutMs);
}

function startWorker(
  options: Partial<OutboxWorkerOptions> = {},
  timeoutMs = 2_000,
): { store: OutboxStore; worker: OutboxWorker } {
  const store = OutboxStore.open(path, { logger: log });
  const notifier = new FseNotifier({ baseUrl: fake.baseUrl, timeoutMs });
  const worker = new OutboxWorker(
    { ...FAST, ...options },
    { store, deliver: (item, signal) => notifier.send(item, signal), log },
  );
  running.push({ worker, store });
  worker.start();
  return { store, worker };
}

const settled = (store: OutboxStore, id: number): Promise<void> =>
  waitFor(() => store.get(id)?.status !== 'pending', 10_000, `item ${id} to settle`);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('outbox delivery', () => {
  it('FSE answering 503 then 200: delivered once after a retry', async () => {
    const { store, worker } = await startAll({ answers: [503] });
    const { item } = worker.enqueue(imagesAvailableEntry(imagesAvailable(1)));
    await settled(store, item.id);
    expect(store.get(item.id)).toMatchObject({
      status: 'delivered',
      attempts: 2,
      lastHttpStatus: 200,
      lastError: undefined,
    });
    expect(fake.received(item.idempotencyKey).map((r) => r.status)).toEqual([503, 200]);
    expect(fake.accepted(item.idempotencyKey)).toBe(1);
    // Nothing more goes out afterwards.
    await sleep(300);
    expect(fake.requests).toHaveLength(2);
    expect(fake.invalid()).toEqual([]);
  });

  it('FSE answering 400: dead-lettered, listed, not retried', async () => {
    const { store, worker } = await startAll({
      answers: [
        {
          status: 400,
          // A refusal that echoes patient data: kept in the table, never in the logs.
          body: {
            esito: 'FALLIMENTO',
            errori: [
              { codice: 'CL_ER_004', descrizione: `assistito ${CODICE_FISCALE} sconosciuto` },
            ],
          },
        },
      ],
    });
    const { item } = worker.enqueue(imagesAvailableEntry(imagesAvailable(1)));
    await settled(store, item.id);
    await sleep(300);
    expect(fake.requests).toHaveLength(1);
    const dead = store.listDeadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({
      id: item.id,
      status: 'dead',
      attempts: 1,
      lastHttpStatus: 400,
      lastError: `HTTP 400: CL_ER_004: assistito ${CODICE_FISCALE} sconosciuto`,
    });
    expect(store.counts()).toEqual({ pending: 0, delivered: 0, dead: 1 });
    const logs = logLines.join('');
    expect(logs).toContain('dead letter');
    expect(logs).not.toContain(CODICE_FISCALE);
    expect(logs).not.toContain(PATIENT_ID);
  });

  it('retries after a timeout, then delivers', async () => {
    const { store, worker } = await startAll({ answers: ['hang'] }, {}, 300);
    const { item } = worker.enqueue(imagesAvailableEntry(imagesAvailable(1)));
    await settled(store, item.id);
    expect(store.get(item.id)).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(fake.received(item.idempotencyKey).map((r) => r.status)).toEqual([undefined, 200]);
    expect(logLines.join('')).toContain('no answer within 300 ms');
  });

  it('delivers once when the same notification is enqueued twice', async () => {
    const { store, worker } = await startAll();
    const entry = imagesAvailableEntry(imagesAvailable(1));
    const first = worker.enqueue(entry);
    const second = worker.enqueue(imagesAvailableEntry(imagesAvailable(1)));
    expect(second).toMatchObject({ created: false, item: { id: first.item.id } });
    await settled(store, first.item.id);
    // Enqueued again after delivery: still nothing new to send.
    expect(worker.enqueue(entry).created).toBe(false);
    await sleep(300);
    expect(fake.requests).toHaveLength(1);
    expect(fake.duplicates().size).toBe(0);
    expect(store.counts()).toEqual({ pending: 0, delivered: 1, dead: 0 });
  });

  it('re-sends a dead letter on request, and delivers it', async () => {
    const { store, worker } = await startAll({ answers: [400] });
    const { item } = worker.enqueue(imagesAvailableEntry(imagesAvailable(1)));
    await settled(store, item.id);
    expect(store.get(item.id)?.status).toBe('dead');
    store.resend(item.id);
    worker.wake();
    await settled(store, item.id);
    expect(store.get(item.id)).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(fake.received(item.idempotencyKey).map((r) => r.status)).toEqual([400, 200]);
  });

  it('picks up a dead letter re-sent by another process at its next poll', async () => {
    const { store, worker } = await startAll({ answers: [400] }, { pollIntervalMs: 100 });
    const { item } = worker.enqueue(imagesAvailableEntry(imagesAvailable(1)));
    await settled(store, item.id);
    // The CLI's own connection: the worker is not woken, only its poll finds the row.
    const cli = OutboxStore.open(path);
    try {
      cli.resend(item.id);
    } finally {
      cli.close();
    }
    await settled(store, item.id);
    expect(store.get(item.id)?.status).toBe('delivered');
  });

  it('gives up after maxAttempts transient failures: dead letter', async () => {
    const { store, worker } = await startAll({ defaultAnswer: 502 }, { maxAttempts: 3 });
    const { item } = worker.enqueue(imagesAvailableEntry(imagesAvailable(1)));
    await settled(store, item.id);
    expect(store.get(item.id)).toMatchObject({
      status: 'dead',
      attempts: 3,
      lastHttpStatus: 502,
    });
    expect(store.get(item.id)?.lastError).toMatch(/^gave up after 3 attempts: HTTP 502/);
    await sleep(300);
    expect(fake.requests).toHaveLength(3);
  });

  it('keeps at most maxInFlight attempts at once', async () => {
    const { store, worker } = await startAll(
      { defaultAnswer: { status: 200, delayMs: 150 } },
      { maxInFlight: 2 },
    );
    const ids = [1, 2, 3, 4, 5].map(
      (n) => worker.enqueue(imagesAvailableEntry(imagesAvailable(n))).item.id,
    );
    let peak = 0;
    await waitFor(
      () => {
        peak = Math.max(peak, worker.inFlight);
        return store.counts().delivered === ids.length;
      },
      10_000,
      'all delivered',
    );
    expect(peak).toBeLessThanOrEqual(2);
    expect(peak).toBe(2);
    expect(fake.requests).toHaveLength(5);
  });

  it('sends the cancellation of a report only after its images-available', async () => {
    const { store, worker } = await startAll({ answers: [503, 503] });
    const images = worker.enqueue(imagesAvailableEntry(imagesAvailable(1))).item;
    const cancel = worker.enqueue(reportCancelledEntry(reportCancelled(1))).item;
    await settled(store, cancel.id);
    expect(fake.requests.map((r) => [r.idempotencyKey, r.status])).toEqual([
      [images.idempotencyKey, 503],
      [images.idempotencyKey, 503],
      [images.idempotencyKey, 200],
      [cancel.idempotencyKey, 200],
    ]);
  });

  it('on stop, aborts what is in flight: it stays pending and goes out after a restart', async () => {
    const { store, worker } = await startAll({ answers: ['hang'] }, {}, 30_000);
    const { item } = worker.enqueue(imagesAvailableEntry(imagesAvailable(1)));
    await waitFor(() => fake.requests.length === 1, 5_000, 'the attempt');
    const stopping = worker.stop(100);
    expect(worker.stop()).toBe(stopping);
    await stopping;
    expect(worker.inFlight).toBe(0);
    expect(store.get(item.id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(logLines.join('')).toContain('stay pending');

    const restarted = startWorker();
    await settled(restarted.store, item.id);
    expect(restarted.store.get(item.id)).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(fake.accepted(item.idempotencyKey)).toBe(1);
  });

  it('waits for attempts in flight to finish when they finish before the stop timeout', async () => {
    const { store, worker } = await startAll({ answers: [{ status: 200, delayMs: 200 }] });
    const { item } = worker.enqueue(imagesAvailableEntry(imagesAvailable(1)));
    await waitFor(() => fake.requests.length === 1, 5_000, 'the attempt');
    await worker.stop(5_000);
    expect(store.get(item.id)).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('stores what is enqueued after stop, without sending it', async () => {
    const { store, worker } = await startAll();
    await worker.stop();
    const { item } = worker.enqueue(imagesAvailableEntry(imagesAvailable(1)));
    await sleep(200);
    expect(fake.requests).toHaveLength(0);
    expect(store.get(item.id)?.status).toBe('pending');
  });

  it('logs no patient data on any path', async () => {
    const { store, worker } = await startAll({ answers: [503, 'hang', 422] }, {}, 200);
    const first = worker.enqueue(imagesAvailableEntry(imagesAvailable(1))).item;
    const second = worker.enqueue(imagesAvailableEntry(imagesAvailable(2))).item;
    await settled(store, first.id);
    await settled(store, second.id);
    const logs = logLines.join('');
    expect(logs).toContain('FSE notification');
    for (const secret of [CODICE_FISCALE, PATIENT_ID, 'ASR-TO']) expect(logs).not.toContain(secret);
  });
});

describe('outbox worker and a failing database', () => {
  it('keeps running when the outbox cannot be read, and recovers', async () => {
    fake = await FakeFse.start();
    const store = OutboxStore.open(path);
    let failing = true;
    const flaky = {
      enqueue: store.enqueue.bind(store),
      due: (now: Date, limit: number): OutboxItem[] => {
        if (failing) throw new Error('SQLITE_BUSY: database is locked');
        return store.due(now, limit);
      },
      markDelivered: store.markDelivered.bind(store),
      markRetry: store.markRetry.bind(store),
      markDead: store.markDead.bind(store),
    };
    const notifier = new FseNotifier({ baseUrl: fake.baseUrl, timeoutMs: 2_000 });
    const worker = new OutboxWorker(FAST, {
      store: flaky,
      deliver: (item, signal) => notifier.send(item, signal),
      log,
    });
    running.push({ worker, store });
    worker.start();
    const { item } = worker.enqueue(imagesAvailableEntry(imagesAvailable(1)));
    await waitFor(() => logLines.join('').includes('could not be read'), 5_000, 'the error');
    failing = false;
    await settled(store, item.id);
    expect(store.get(item.id)?.status).toBe('delivered');
  });
});
