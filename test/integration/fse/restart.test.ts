import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { imagesAvailableEntry } from '../../../src/fse/fse-messages.js';
import { FseNotifier } from '../../../src/fse/fse-notifier.js';
import { OutboxStore } from '../../../src/fse/outbox-store.js';
import { OutboxWorker } from '../../../src/fse/outbox-worker.js';
import { FakeFse } from '../../helpers/fake-fse.js';
import { exited, waitFor } from '../../helpers/tools.js';
import { imagesAvailable, makeTempDir } from './fixtures.js';

let dir: string;
let cleanup: () => void;
let fake: FakeFse;

beforeEach(async () => {
  ({ dir, cleanup } = makeTempDir());
  // The first attempt hangs: the child is killed while it waits for the answer.
  fake = await FakeFse.start({ answers: ['hang'] });
});

afterEach(async () => {
  await fake.close();
  cleanup();
});

describe('outbox across a crash', () => {
  it('daemon killed with pending notifications: delivered exactly once after restart', async () => {
    const path = join(dir, 'index.sqlite');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('./outbox-crash-child.ts', import.meta.url)),
        path,
        fake.baseUrl,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = exited(child);
    try {
      await waitFor(
        () => fake.requests.length === 1 || child.exitCode !== null,
        30_000,
        'the attempt',
      );
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^enqueued \d+\n$/);
    // No clean close: the enqueue lives in the WAL, which the next open replays.
    expect(existsSync(`${path}-wal`)).toBe(true);

    const key = imagesAvailableEntry(imagesAvailable(1)).idempotencyKey;
    expect(fake.received(key)).toHaveLength(1);
    expect(fake.accepted(key)).toBe(0);

    const store = OutboxStore.open(path);
    const id = Number(/\d+/.exec(stdout)![0]);
    // The killed attempt had no outcome: not counted.
    expect(store.get(id)).toMatchObject({ status: 'pending', attempts: 0, idempotencyKey: key });
    const notifier = new FseNotifier({ baseUrl: fake.baseUrl, timeoutMs: 5_000 });
    const worker = new OutboxWorker(
      { pollIntervalMs: 50 },
      {
        store,
        deliver: (item, signal) => notifier.send(item, signal),
        log: pino({ enabled: false }),
      },
    );
    try {
      worker.start();
      await waitFor(() => store.get(id)?.status !== 'pending', 10_000, 'delivery');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(store.get(id)).toMatchObject({
        status: 'delivered',
        attempts: 1,
        lastHttpStatus: 200,
      });
      // Sent twice (the second time with the same key), taken in charge once.
      expect(fake.received(key)).toHaveLength(2);
      expect(fake.accepted(key)).toBe(1);
      expect(fake.invalid()).toEqual([]);
    } finally {
      await worker.stop();
      store.close();
    }
  });
});
