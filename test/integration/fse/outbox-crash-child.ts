/**
 * Child process for the restart test: enqueues a notification, starts the worker against the
 * FSE at <base url> (which the test makes hang), and waits to be killed with SIGKILL, as a
 * crashing daemon would be. Usage: outbox-crash-child.ts <db path> <base url>.
 */
import { pino } from 'pino';
import { imagesAvailableEntry } from '../../../src/fse/fse-messages.js';
import { FseNotifier } from '../../../src/fse/fse-notifier.js';
import { OutboxStore } from '../../../src/fse/outbox-store.js';
import { OutboxWorker } from '../../../src/fse/outbox-worker.js';
import { imagesAvailable } from './fixtures.js';

const [path, baseUrl] = process.argv.slice(2);
if (path === undefined || baseUrl === undefined)
  throw new Error('usage: outbox-crash-child.ts <db path> <base url>');
const store = OutboxStore.open(path);
const notifier = new FseNotifier({ baseUrl, timeoutMs: 60_000 });
const worker = new OutboxWorker(
  { pollIntervalMs: 50 },
  {
    store,
    deliver: (item, signal) => notifier.send(item, signal),
    log: pino({ enabled: false }),
  },
);
worker.start();
const { item } = worker.enqueue(imagesAvailableEntry(imagesAvailable(1)));
process.stdout.write(`enqueued ${item.id}\n`);
// Kept alive by the request in flight; the parent kills it.
