import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import {
  AssociationClosedError,
  openAssociation,
  type ClientAssociation,
} from '../../../src/dimse/client.js';
import { Status } from '../../../src/dimse/status.js';
import { BRIDGE_AE, writeTestConfig } from '../../helpers/bridge.js';
import { startDaemon, type DaemonProcess } from '../../helpers/daemon-process.js';
import {
  killDaemon,
  readIndexFile,
  signalAndWait,
  spoolFilesWithData,
} from '../../helpers/process-data.js';
import { startStorescu } from '../../helpers/process-storescu.js';
import { writeSyntheticInstances } from '../../helpers/synthetic.js';
import { waitFor } from '../../helpers/tools.js';

const VERIFICATION = '1.2.840.10008.1.1';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';

let roots: string[] = [];
let daemons: DaemonProcess[] = [];
let clients: ClientAssociation[] = [];

afterEach(async () => {
  for (const client of clients) await client.abort().catch(() => undefined);
  for (const daemon of daemons) await killDaemon(daemon);
  for (const root of roots) rmSync(root, { recursive: true, force: true });
  roots = [];
  daemons = [];
  clients = [];
});

function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'bridge-shutdown-'));
  roots.push(root);
  mkdirSync(join(root, 'data'));
  return root;
}

async function daemonFor(file: string): Promise<DaemonProcess> {
  const daemon = await startDaemon(file);
  daemons.push(daemon);
  return daemon;
}

/** An idle association from this process (Verification only), kept open until the test ends. */
async function idleAssociation(port: number): Promise<ClientAssociation> {
  const client = await openAssociation({
    host: '127.0.0.1',
    port,
    callingAe: 'TESTSCU',
    calledAe: BRIDGE_AE,
    contexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [EXPLICIT_LE] }],
    log: pino({ enabled: false }),
  });
  clients.push(client);
  expect(await client.echo()).toBe(Status.Success);
  return client;
}

const messages = (daemon: DaemonProcess): string[] => daemon.logs.map((line) => String(line.msg));

describe('SIGTERM during an association', () => {
  it('lets the association finish or ends it cleanly, exits 0, and keeps every acknowledged instance', async () => {
    const root = tempRoot();
    const written = writeSyntheticInstances(join(root, 'in'), 500, { rows: 64, columns: 64 });
    const { file } = writeTestConfig({}, join(root, 'data'));
    const config = loadConfig({ file, env: {} });
    const daemon = await daemonFor(file);
    const storescu = startStorescu(daemon.port, [join(root, 'in')], ['+sd']);
    await waitFor(
      () => storescu.acknowledged.length >= 50 || storescu.child.exitCode !== null,
      120_000,
      '50 acknowledgements',
    );
    expect(storescu.acknowledged.length, storescu.output().slice(-2000)).toBeLessThan(500);

    const exit = await signalAndWait(daemon, 'SIGTERM', 60_000);
    expect(exit, daemon.stderr()).toEqual({ code: 0, signal: null });
    expect(messages(daemon)).toContain('bridge stopped');

    // storescu either got through everything or saw its association end; it never crashed.
    const sent = await storescu.exit;
    expect(sent.signal).toBeNull();
    if (sent.code === 0) {
      expect(storescu.acknowledged).toHaveLength(500);
    } else {
      expect(storescu.output()).toMatch(
        /E: |Association Abort|Peer aborted|connection closed|Network/i,
      );
    }
    // No response other than Success was given for a file storescu got an answer for.
    expect(storescu.responses.filter((r) => r.status !== 'Success')).toEqual([]);

    // Restart: everything acknowledged is there; nothing is left in the spool.
    const again = await daemonFor(file);
    expect((await signalAndWait(again, 'SIGTERM')).code).toBe(0);
    const indexed = new Set(
      readIndexFile(config.index.path).instances.map((i) => i.sopInstanceUid),
    );
    const sopOf = new Map(written.map((w) => [w.path, w.sopInstanceUid]));
    const missing = storescu.acknowledged.filter((path) => !indexed.has(sopOf.get(path)!));
    expect(storescu.acknowledged.length).toBeGreaterThanOrEqual(50);
    expect(missing, 'acknowledged but not indexed after restart').toEqual([]);
    expect(spoolFilesWithData(config.spoolDir)).toEqual([]);
  });

  it('aborts an association still open when the drain time is over, and exits 0', async () => {
    const root = tempRoot();
    const { file } = writeTestConfig({ shutdown: { drainTimeoutMs: 500 } }, join(root, 'data'));
    const daemon = await daemonFor(file);
    const client = await idleAssociation(daemon.port);
    let closed = false;
    const pending = client.response(0xfffe).catch((error: unknown) => {
      closed = error instanceof AssociationClosedError;
    });
    const exit = await signalAndWait(daemon, 'SIGTERM', 60_000);
    expect(exit, daemon.stderr()).toEqual({ code: 0, signal: null });
    expect(messages(daemon)).toContain('shutdown timeout: aborting open associations');
    expect(messages(daemon)).toContain('bridge stopped');
    await pending;
    expect(closed).toBe(true);
  });
});

describe('SIGTERM and SIGINT without associations', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} stops the daemon with exit code 0 and logs "bridge stopped"`, async () => {
      const root = tempRoot();
      const { file } = writeTestConfig({}, join(root, 'data'));
      const daemon = await daemonFor(file);
      const exit = await signalAndWait(daemon, signal, 30_000);
      expect(exit, daemon.stderr()).toEqual({ code: 0, signal: null });
      const log = messages(daemon);
      expect(log).toContain('stopping: no new associations, open ones may finish');
      expect(log).toContain('bridge stopped');
      expect(log.indexOf('bridge stopped')).toBeGreaterThan(
        log.indexOf('stopping: no new associations, open ones may finish'),
      );
      expect(daemon.stderr()).toBe('');
    });
  }
});

describe('a second signal', () => {
  it('forces the exit (code 3) while the first is still draining an open association', async () => {
    const root = tempRoot();
    const { file } = writeTestConfig({ shutdown: { drainTimeoutMs: 60_000 } }, join(root, 'data'));
    const daemon = await daemonFor(file);
    await idleAssociation(daemon.port);
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    void daemon.exit.then((result) => (exit = result));

    daemon.child.kill('SIGTERM');
    await waitFor(
      () => messages(daemon).includes('stopping: no new associations, open ones may finish'),
      20_000,
      'the first signal to be handled',
    );
    // Still draining: the idle association holds it open (60 s drain).
    expect(exit).toBeUndefined();
    expect(messages(daemon)).not.toContain('bridge stopped');

    daemon.child.kill('SIGTERM');
    await waitFor(() => exit !== undefined, 20_000, 'the daemon to exit after the second signal');
    expect(exit).toEqual({ code: 3, signal: null });
    expect(messages(daemon)).toContain('second signal: stopping now');
    expect(messages(daemon)).not.toContain('bridge stopped');
  });
});

describe('new associations while stopping', () => {
  it('are not accepted once SIGTERM was received', async () => {
    const root = tempRoot();
    const { file } = writeTestConfig({ shutdown: { drainTimeoutMs: 60_000 } }, join(root, 'data'));
    const daemon = await daemonFor(file);
    await idleAssociation(daemon.port);
    daemon.child.kill('SIGTERM');
    await waitFor(
      () => messages(daemon).includes('stopping: no new associations, open ones may finish'),
      20_000,
      'the first signal to be handled',
    );
    await expect(idleAssociation(daemon.port)).rejects.toThrow();
    expect(daemon.child.exitCode).toBeNull();
  });
});
