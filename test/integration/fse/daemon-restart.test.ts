import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTestConfig } from '../../helpers/bridge.js';
import { startDaemon, type DaemonProcess } from '../../helpers/daemon-process.js';
import { FakeFse } from '../../helpers/fake-fse.js';
import { sampleFacts, validSamples, type SampleFacts } from '../../helpers/samples.js';
import { dcmsend, waitFor } from '../../helpers/tools.js';
import { registerReport } from './fixtures.js';

/*
 * The whole daemon killed with kill -9 while a notification to the FSE side is in flight (the
 * fake FSE holds the request unanswered): after a restart the notification is delivered, once.
 */

let fse: FakeFse;
let study: SampleFacts[];
const dirs: string[] = [];
const daemons: DaemonProcess[] = [];

beforeAll(async () => {
  fse = await FakeFse.start();
  const samples = await Promise.all(validSamples().map((path) => sampleFacts(path)));
  const uid = samples.find((s) => s.path.includes('77654033/CT2'))!.studyUid;
  study = samples.filter((s) => s.studyUid === uid);
});

afterAll(async () => {
  for (const daemon of daemons) daemon.child.kill('SIGKILL');
  await Promise.all(daemons.map((d) => d.exit));
  await fse?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('FSE notifications across a kill -9', () => {
  it('delivers a notification pending when the daemon was killed, once, after the restart', async () => {
    const { file, dataDir } = writeTestConfig({
      fse: {
        transport: 'http',
        notifyUrl: fse.baseUrl,
        timeoutMs: 60_000,
        retryBaseDelayMs: 50,
        pollIntervalMs: 100,
      },
      links: { quietPeriodMs: 200 },
    });
    dirs.push(dataDir);
    fse.script(['hang'], 200);
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
    const registered = await registerReport(first, 'DOC-KILL-1', study);
    expect(registered.status).toBe(202);
    // The notification is on its way: the fake holds it unanswered.
    await waitFor(() => fse.requests.length > 0, 30_000, 'the notification to be sent');
    const key = fse.requests[0]!.idempotencyKey!;
    expect(key).toMatch(/^images-available:010203\^DOC-KILL-1:/);
    first.child.kill('SIGKILL');
    await first.exit;

    const second = await startDaemon(file);
    daemons.push(second);
    await waitFor(
      () => fse.received(key).some((request) => request.status === 200),
      30_000,
      'the notification to be delivered after the restart',
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(fse.received(key).filter((request) => request.status === 200)).toHaveLength(1);
    second.child.kill('SIGTERM');
    expect((await second.exit).code).toBe(0);
  }, 120_000);
});
