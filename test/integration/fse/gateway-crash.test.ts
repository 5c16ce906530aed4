import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxStore } from '../../../src/fse/outbox-store.js';
import { writeTestConfig } from '../../helpers/bridge.js';
import { startDaemon, type DaemonProcess } from '../../helpers/daemon-process.js';
import type { SampleFacts } from '../../helpers/samples.js';
import { TestGateway } from '../../helpers/test-gateway.js';
import { sampleStudy } from '../../helpers/test-pacs.js';
import { dcmsend, waitFor } from '../../helpers/tools.js';
import { registerReport } from './fixtures.js';

/*
 * The whole daemon killed with kill -9 while its MDM^T02 to the image gateway waits for the
 * acknowledgement (the gateway, an MLLP server that is not ours, holds it): after a restart the
 * message is sent once more, with the same MSH-10, and delivered.
 */

let gateway: TestGateway;
let study: SampleFacts[];
const dirs: string[] = [];
const daemons: DaemonProcess[] = [];

beforeAll(async () => {
  gateway = await TestGateway.start(['hold']);
  study = await sampleStudy('77654033/CT2');
});

afterAll(async () => {
  for (const daemon of daemons) daemon.child.kill('SIGKILL');
  await Promise.all(daemons.map((d) => d.exit));
  await gateway?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('HL7 notifications across a kill -9', () => {
  it('sends the message in flight once more after the restart, with the same MSH-10', async () => {
    const { file, dataDir } = writeTestConfig({
      fse: {
        transport: 'hl7',
        gateway: { host: '127.0.0.1', port: gateway.port, structureCode: '010301' },
        timeoutMs: 60_000,
        retryBaseDelayMs: 50,
        pollIntervalMs: 100,
      },
      links: { quietPeriodMs: 200 },
    });
    dirs.push(dataDir);
    const first = await startDaemon(file);
    daemons.push(first);
    expect(
      (
        await dcmsend(
          first.port,
          study.map((s) => s.path),
        )
      ).code,
    ).toBe(0);
    const registered = await registerReport(first, 'DOC-KILL-HL7', study);
    expect(registered.status).toBe(202);
    // The message is on its way: the gateway holds its acknowledgement.
    await gateway.received(1);
    expect(gateway.messages[0]).toMatchObject({
      messageType: 'MDM^T02^MDM_T02',
      accessionNumber: study[0]!.accessionNumber,
      structureCode: '010301',
    });
    first.child.kill('SIGKILL');
    await first.exit;

    const second = await startDaemon(file);
    daemons.push(second);
    await gateway.received(2);
    const store = OutboxStore.open(join(dataDir, 'index.sqlite'));
    try {
      await waitFor(
        () => store.get(1)?.status === 'delivered',
        30_000,
        'the notification recorded as delivered',
      );
      second.child.kill('SIGTERM');
      expect((await second.exit).code).toBe(0);
      // Sent twice in all (the attempt cut short and the one after the restart), one MSH-10.
      expect(gateway.messages).toHaveLength(2);
      expect(gateway.messageIds()).toEqual(new Set([store.get(1)!.messageId]));
      // The attempt the kill cut short had no outcome: it is not counted.
      expect(store.get(1)).toMatchObject({ status: 'delivered', attempts: 1 });
    } finally {
      store.close();
    }
  }, 120_000);
});
