import { join } from 'node:path';
import type { Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { imagesAvailableEntry, reportCancelledEntry } from '../../../src/fse/fse-messages.js';
import { GatewayNotifier } from '../../../src/fse/gateway-notifier.js';
import type { GatewayConfig } from '../../../src/fse/gateway-settings.js';
import type { OutboxItem } from '../../../src/fse/outbox-entry.js';
import { OutboxStore } from '../../../src/fse/outbox-store.js';
import { OutboxWorker } from '../../../src/fse/outbox-worker.js';
import type { FacilitySetting } from '../../../src/hl7/facilities.js';
import { FACILITY } from '../../helpers/hl7-messages.js';
import { TestGateway, type GatewayAnswer } from '../../helpers/test-gateway.js';
import { waitFor } from '../../helpers/tools.js';
import {
  PATIENT_ID,
  captureLogger,
  imagesAvailable,
  makeTempDir,
  reportCancelled,
} from './fixtures.js';

/*
 * The outbox delivered as HL7 MDM over MLLP to an MLLP server that is not ours (node-hl7-server
 * from npm), reading each message as the regional image gateway does: a real SQLite file, the
 * worker and the gateway notifier, with retry delays of milliseconds.
 */

const GATEWAY_DEFAULTS: Omit<GatewayConfig, 'port'> = {
  host: '127.0.0.1',
  structureCode: '999999',
  sendingApplication: 'FSEBRIDGE',
  sendingFacility: '',
  receivingApplication: 'O3DPACS',
  receivingFacility: 'REGIONE',
};
/** The facility of the reports below, with its own structure code and sending application. */
const GATEWAY_FACILITY: FacilitySetting = {
  ...FACILITY,
  gateway: { structureCode: '010301', sendingApplication: 'RIS_ASLTO3' },
};

let dir: string;
let cleanup: () => void;
let log: Logger;
let logLines: string[];
let gateway: TestGateway | undefined;
const running: Array<{ worker: OutboxWorker; store: OutboxStore }> = [];

beforeEach(() => {
  ({ dir, cleanup } = makeTempDir());
  ({ log, lines: logLines } = captureLogger());
});

afterEach(async () => {
  for (const { worker, store } of running.splice(0)) {
    await worker.stop(0);
    store.close();
  }
  await gateway?.close();
  gateway = undefined;
  cleanup();
});

async function startAll(
  answers: GatewayAnswer[],
  options: { timeoutMs?: number; defaults?: Partial<GatewayConfig> } = {},
): Promise<{ store: OutboxStore; worker: OutboxWorker; gateway: TestGateway }> {
  gateway = await TestGateway.start(answers);
  const store = OutboxStore.open(join(dir, 'index.sqlite'), { logger: log });
  const notifier = new GatewayNotifier({
    gateway: { ...GATEWAY_DEFAULTS, port: gateway.port, ...options.defaults },
    facilities: [GATEWAY_FACILITY],
    timeoutMs: options.timeoutMs ?? 2_000,
  });
  const worker = new OutboxWorker(
    { pollIntervalMs: 50, retryBaseDelayMs: 20, retryMaxDelayMs: 100, maxAttempts: 5 },
    { store, deliver: (item, signal) => notifier.send(item, signal), log },
  );
  running.push({ worker, store });
  worker.start();
  return { store, worker, gateway };
}

const settled = (store: OutboxStore, id: number): Promise<OutboxItem> =>
  waitFor(() => store.get(id)?.status !== 'pending', 20_000, `item ${id} delivered or dead`).then(
    () => store.get(id)!,
  );

/** Report 1 from the gateway facility, replaced `version - 1` times, with a RIS id. */
function fromFacility(n: number, version = 1) {
  return imagesAvailable(n, {
    accessionNumbers: [
      { accessionNumber: `ACC${n}`, dataNotificaPacs: '2024-03-01T10:15:00+01:00' },
      { accessionNumber: `ACC${n}B`, dataNotificaPacs: '2024-03-01T10:15:00+01:00' },
    ],
    hl7: { reportVersion: version, facility: FACILITY.sendingFacility, risId: 'R-77' },
  });
}

describe('notifications to the image gateway over HL7', () => {
  it('delivers MDM^T02 on AA: the gateway reads accession, structure, RIS id and MSH-10', async () => {
    const { store, worker, gateway } = await startAll([{ code: 'AA' }]);
    const { item } = worker.enqueue(imagesAvailableEntry(fromFacility(1)));
    expect(item.messageId).toMatch(/^[0-9A-F]{20}$/);
    expect(await settled(store, item.id)).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(gateway.messages).toHaveLength(1);
    expect(gateway.messages[0]).toMatchObject({
      messageType: 'MDM^T02^MDM_T02',
      version: '2.5',
      messageId: item.messageId,
      structureCode: '010301',
      accessionNumber: 'ACC1',
      accessionNumbers: ['ACC1', 'ACC1B'],
      risRepetition: 'R-77^^^RIS',
    });
    expect(gateway.messages[0]!.raw).toMatch(/^MSH\|\^~\\&\|RIS_ASLTO3\|/);
  });

  it('sends MDM^T10 for a replaced report and MDM^T11 for a cancellation', async () => {
    const { store, worker, gateway } = await startAll([]);
    const replaced = worker.enqueue(imagesAvailableEntry(fromFacility(2, 2))).item;
    const cancelled = worker.enqueue(
      reportCancelledEntry(
        reportCancelled(3, {
          accessionNumbers: [{ accessionNumber: 'ACC3' }],
          hl7: { patientId: PATIENT_ID, facility: FACILITY.sendingFacility },
        }),
      ),
    ).item;
    await settled(store, replaced.id);
    await settled(store, cancelled.id);
    const byId = new Map(gateway.messages.map((m) => [m.messageId, m]));
    expect(byId.get(replaced.messageId)).toMatchObject({
      messageType: 'MDM^T10^MDM_T02',
      accessionNumber: 'ACC2',
    });
    expect(byId.get(cancelled.messageId)).toMatchObject({
      messageType: 'MDM^T11^MDM_T02',
      accessionNumber: 'ACC3',
      structureCode: '010301',
    });
  });

  it.each([
    ['AE', 'Required OBX segment missing (OBX-2=RP)'],
    ['AR', 'No appropriate destination could be found to which this message could be routed.'],
  ] as const)(
    'makes %s a dead letter with the gateway text, after one attempt',
    async (code, text) => {
      const { store, worker } = await startAll([{ code, text }]);
      const { item } = worker.enqueue(imagesAvailableEntry(fromFacility(4)));
      expect(await settled(store, item.id)).toMatchObject({
        status: 'dead',
        attempts: 1,
        lastError: `acknowledged ${code}: 207 Application internal error: ${text}`,
      });
      // The gateway's text may echo patient data: in the table, not in the log.
      expect(logLines.join('')).not.toContain(text);
    },
  );

  it('makes an AE without text a dead letter too', async () => {
    const { store, worker } = await startAll([{ code: 'AE' }]);
    const { item } = worker.enqueue(imagesAvailableEntry(fromFacility(5)));
    expect(await settled(store, item.id)).toMatchObject({
      status: 'dead',
      lastError: 'acknowledged AE',
    });
  });

  it.each([
    ['no acknowledgement in time', 'silence' as const, /no acknowledgement within 300 ms/],
    ['a connection closed unanswered', 'close' as const, /connection closed before an answer/],
  ])('retries after %s, with the same MSH-10', async (_what, first, reason) => {
    const { store, worker, gateway } = await startAll([first, { code: 'AA' }], {
      timeoutMs: 300,
    });
    const { item } = worker.enqueue(imagesAvailableEntry(fromFacility(6)));
    expect(await settled(store, item.id)).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(gateway.messages).toHaveLength(2);
    expect(gateway.messageIds()).toEqual(new Set([item.messageId]));
    expect(logLines.join('')).toMatch(reason);
  });

  it('judges a refused connection retryable', async () => {
    gateway = await TestGateway.start();
    const port = gateway.port;
    await gateway.close();
    const store = OutboxStore.open(join(dir, 'index.sqlite'), { logger: log });
    const notifier = new GatewayNotifier({
      gateway: { ...GATEWAY_DEFAULTS, port },
      facilities: [],
      timeoutMs: 1_000,
    });
    const outcome = await notifier.send(
      store.enqueue(imagesAvailableEntry(imagesAvailable(7))).item,
    );
    store.close();
    expect(outcome).toMatchObject({ result: 'retry', reason: /ECONNREFUSED/ });
  });

  it('makes a report without a structure code a dead letter that names the setting', async () => {
    const { store, worker, gateway } = await startAll([], { defaults: { structureCode: '' } });
    // Of no facility: codCL 999999 is nobody's.
    const { item } = worker.enqueue(imagesAvailableEntry(imagesAvailable(8, { codCL: '999999' })));
    expect(await settled(store, item.id)).toMatchObject({
      status: 'dead',
      lastError:
        "no structure code for codCL 999999: set fse.gateway.structureCode or the facility's gateway.structureCode",
    });
    expect(gateway.messages).toHaveLength(0);
  });
});
