import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeTestConfig } from '../../helpers/bridge.js';
import { daemonCommand, startDaemon, type DaemonProcess } from '../../helpers/daemon-process.js';
import { killDaemon, signalAndWait } from '../../helpers/process-data.js';
import { runTool, type ToolResult } from '../../helpers/tools.js';

/*
 * The HTTP listener carries the reports API (obscuration changes among them) and the on-demand
 * SOAP endpoint. On an address other machines can reach, the daemon refuses to start (exit code
 * 2, the key named) unless /api needs a token and the SOAP endpoint needs credentials; on
 * loopback it starts without either.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CALLER = { username: 'fse-regione', password: 'fse-password-1' };

let dir: string;
let daemons: DaemonProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bridge-exposure-'));
});

afterEach(async () => {
  for (const daemon of daemons) await killDaemon(daemon);
  daemons = [];
  rmSync(dir, { recursive: true, force: true });
});

function configWith(overrides: Record<string, unknown>): string {
  return writeTestConfig(overrides, dir).file;
}

/** Run the daemon expecting it to refuse to start. */
async function runDaemon(file: string, env: NodeJS.ProcessEnv = {}): Promise<ToolResult> {
  const [command, args] = daemonCommand(['--config', file]);
  return runTool(command, args, { cwd: ROOT, env: { ...process.env, ...env }, timeoutMs: 40_000 });
}

function expectRefused(result: ToolResult, key: string): void {
  expect(result.code, `stdout: ${result.stdout}\nstderr: ${result.stderr}`).toBe(2);
  expect(result.stderr).toContain('invalid configuration');
  expect(result.stderr).toContain(key);
  expect(result.stdout).not.toContain('bridge started');
}

async function expectStarts(file: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const daemon = await startDaemon(file, env);
  daemons.push(daemon);
  expect(daemon.logs.some((line) => line.msg === 'HTTP API listening')).toBe(true);
  expect((await signalAndWait(daemon, 'SIGTERM')).code).toBe(0);
}

describe('the HTTP listener on a non-loopback address', () => {
  it('refuses to start without an API token, naming http.apiToken', async () => {
    const file = configWith({
      http: { host: '0.0.0.0' },
      onDemand: { authKind: 'basic', ...CALLER },
    });
    expectRefused(await runDaemon(file), 'http.apiToken');
    // The same from the environment.
    expectRefused(
      await runDaemon(configWith({ onDemand: { authKind: 'basic', ...CALLER } }), {
        BRIDGE_HTTP_HOST: '0.0.0.0',
      }),
      'http.apiToken',
    );
  });

  it('refuses to start with onDemand.authKind none, naming it', async () => {
    const file = configWith({ http: { host: '0.0.0.0', apiToken: 'api-token-1' } });
    expectRefused(await runDaemon(file), 'onDemand.authKind');
  });

  it('names both keys when neither is set', async () => {
    const result = await runDaemon(configWith({ http: { host: '::' } }));
    expectRefused(result, 'http.apiToken');
    expect(result.stderr).toContain('onDemand.authKind');
  });

  it('starts with an API token and SOAP credentials', async () => {
    await expectStarts(
      configWith({
        http: { host: '0.0.0.0', apiToken: 'api-token-1' },
        onDemand: { authKind: 'basic', ...CALLER },
      }),
    );
  });
});

describe('the HTTP listener on loopback', () => {
  it.each(['127.0.0.1', 'localhost'])(
    'starts on %s without an API token or SOAP credentials',
    async (host) => {
      await expectStarts(configWith({ http: { host } }));
    },
  );
});
