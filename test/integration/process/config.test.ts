import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadConfig } from '../../../src/config/load.js';
import { writeTestConfig } from '../../helpers/bridge.js';
import { daemonCommand } from '../../helpers/daemon-process.js';
import { runTool, type ToolResult } from '../../helpers/tools.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bridge-config-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A configuration file with `content` as its JSON. */
function configFile(content: unknown, name = 'config.json'): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(content));
  return file;
}

/** Run the daemon to completion (it is expected to refuse to start). */
async function runDaemon(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ToolResult> {
  const [command, commandArgs] = daemonCommand(args);
  return runTool(command, commandArgs, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    timeoutMs: 60_000,
  });
}

/** A valid test configuration (with `overrides`) whose data dir does not exist yet. */
function validConfig(overrides: Record<string, unknown> = {}): { file: string; dataDir: string } {
  const { file } = writeTestConfig(overrides, dir);
  const dataDir = join(dir, 'data-never-created');
  writeFileSync(
    file,
    JSON.stringify({ ...(JSON.parse(readFileSync(file, 'utf8')) as object), dataDir }),
  );
  return { file, dataDir };
}

function expectRefused(result: ToolResult, ...mentions: string[]): void {
  expect(result.code, `stdout: ${result.stdout}\nstderr: ${result.stderr}`).toBe(2);
  expect(result.stderr).toMatch(/invalid configuration|configuration file not found/);
  for (const mention of mentions) expect(result.stderr).toContain(mention);
  expect(result.stdout).not.toContain('bridge started');
}

describe('the daemon refuses an invalid configuration with exit code 2, naming the key', () => {
  it('BRIDGE_DICOM_PORT=70000', async () => {
    const { file, dataDir } = validConfig();
    const result = await runDaemon(['--config', file], { BRIDGE_DICOM_PORT: '70000' });
    expectRefused(result, 'dicom.port', '70000');
    expect(existsSync(dataDir), 'nothing is created for a refused configuration').toBe(false);
  });

  it('an AE title longer than 16 characters', async () => {
    const { file } = validConfig({ dicom: { aeTitles: ['WAY_TOO_LONG_AE_TITLE_X'] } });
    expectRefused(await runDaemon(['--config', file]), 'dicom.aeTitles', 'WAY_TOO_LONG_AE_TITLE_X');
  });

  it('an unknown key in the file', async () => {
    const { file } = validConfig({ dicom: { prot: 104 } });
    expectRefused(await runDaemon(['--config', file]), 'dicom.prot');
    const { file: top } = validConfig({ shutdwn: { drainTimeoutMs: 5 } });
    expectRefused(await runDaemon(['--config', top]), 'shutdwn');
  });

  it('an allowed peer with a bad host', async () => {
    const { file } = validConfig({
      dicom: { allowedPeers: [{ aeTitle: 'PACS', host: 'not a host!' }] },
    });
    expectRefused(await runDaemon(['--config', file]), 'dicom.allowedPeers', 'not a host!');
  });

  it('an invalid log level from the environment', async () => {
    const { file } = validConfig();
    expectRefused(
      await runDaemon(['--config', file], { BRIDGE_LOG_LEVEL: 'chatty' }),
      'log.level',
      'chatty',
    );
  });

  it('a --config file that does not exist', async () => {
    const missing = join(dir, 'no-such-config.json');
    expectRefused(await runDaemon(['--config', missing]), missing);
  });

  it('a --config file that is not JSON', async () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{ "dicom": { "port": 104, ');
    const result = await runDaemon(['--config', file]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    // The operator has to know which file to fix.
    expect(result.stderr).toContain(file);
  });
});

describe('loadConfig', () => {
  it('turns BRIDGE_ALLOWED_PEERS="PACS@10.0.0.5,MOD" into peers with and without host', () => {
    const config = loadConfig({ env: { BRIDGE_ALLOWED_PEERS: 'PACS@10.0.0.5,MOD' }, baseDir: dir });
    expect(config.dicom.allowedPeers).toEqual([
      { aeTitle: 'PACS', host: '10.0.0.5' },
      { aeTitle: 'MOD' },
    ]);
  });

  it('accepts BRIDGE_ALLOWED_PEERS as JSON and BRIDGE_AE_TITLES as a list', () => {
    const config = loadConfig({
      env: {
        BRIDGE_ALLOWED_PEERS: '[{"aeTitle":"PACS","host":"pacs.example"}]',
        BRIDGE_AE_TITLES: 'BRIDGE1, BRIDGE2',
      },
      baseDir: dir,
    });
    expect(config.dicom.allowedPeers).toEqual([{ aeTitle: 'PACS', host: 'pacs.example' }]);
    expect(config.dicom.aeTitles).toEqual(['BRIDGE1', 'BRIDGE2']);
  });

  it('refuses a bad peer from the environment, naming the key', () => {
    expect(() =>
      loadConfig({ env: { BRIDGE_ALLOWED_PEERS: 'PACS@bad host' }, baseDir: dir }),
    ).toThrow(ConfigError);
    expect(() =>
      loadConfig({ env: { BRIDGE_ALLOWED_PEERS: 'PACS@bad host' }, baseDir: dir }),
    ).toThrow(/dicom\.allowedPeers/);
  });

  it('resolves the defaults: ./data, filesystem storage under data/objects, index data/index.sqlite', () => {
    for (const baseDir of [dir, ROOT]) {
      const config = loadConfig({ env: {}, baseDir });
      const dataDir = resolve('data');
      expect(config.dataDir).toBe(dataDir);
      expect(config.storage).toEqual({ kind: 'fs', rootDir: join(dataDir, 'objects') });
      expect(config.index.path).toBe(join(dataDir, 'index.sqlite'));
      expect(config.spoolDir).toBe(join(dataDir, 'objects', '.spool'));
      expect(config.dicom.port).toBe(11112);
      expect(config.dicom.aeTitles).toEqual(['FSEBRIDGE']);
      expect(config.dicom.allowedPeers).toEqual([]);
      expect(config.shutdown.drainTimeoutMs).toBe(10_000);
    }
  });

  it('lets the environment override the file, coercing numbers', () => {
    const file = configFile({
      dataDir: join(dir, 'd'),
      dicom: { port: 104 },
      shutdown: { drainTimeoutMs: 1000 },
    });
    const config = loadConfig({
      file,
      env: { BRIDGE_DICOM_PORT: '4242', BRIDGE_SHUTDOWN_DRAIN_MS: '2500' },
      baseDir: dir,
    });
    expect(config.dicom.port).toBe(4242);
    expect(config.shutdown.drainTimeoutMs).toBe(2500);
    expect(config.dataDir).toBe(join(dir, 'd'));
  });

  it('derives S3 storage, and the spool under the data dir, from the environment', () => {
    const config = loadConfig({
      env: {
        BRIDGE_DATA_DIR: join(dir, 'd'),
        BRIDGE_STORAGE: 's3',
        BRIDGE_S3_ENDPOINT: 's3.local',
        BRIDGE_S3_PORT: '7480',
        BRIDGE_S3_ACCESS_KEY: 'AK',
        BRIDGE_S3_SECRET_KEY: 'SK',
        BRIDGE_S3_BUCKET: 'b-1',
      },
      baseDir: dir,
    });
    expect(config.storage).toEqual({
      kind: 's3',
      endPoint: 's3.local',
      port: 7480,
      useSSL: false,
      accessKey: 'AK',
      secretKey: 'SK',
      bucket: 'b-1',
      region: 'us-east-1',
    });
    expect(config.spoolDir).toBe(join(dir, 'd', 'spool'));
    expect(config.index.path).toBe(join(dir, 'd', 'index.sqlite'));
  });

  it('refuses an invalid value from the environment, naming the key and the value', () => {
    expect(() => loadConfig({ env: { BRIDGE_DICOM_PORT: '70000' }, baseDir: dir })).toThrow(
      /dicom\.port.*70000/,
    );
    expect(() => loadConfig({ env: { BRIDGE_MAX_ASSOCIATIONS: '0' }, baseDir: dir })).toThrow(
      /dicom\.maxAssociations/,
    );
  });

  it('reads only the environment it is given, not process.env', () => {
    const file = configFile({ dicom: { port: 104 } });
    const saved = process.env.BRIDGE_DICOM_PORT;
    process.env.BRIDGE_DICOM_PORT = '4242';
    try {
      // The documented contract of LoadOptions.env: the environment to read overrides from.
      expect(loadConfig({ file, env: {}, baseDir: dir }).dicom.port).toBe(104);
      expect(loadConfig({ file, env: { BRIDGE_DICOM_PORT: '105' }, baseDir: dir }).dicom.port).toBe(
        105,
      );
    } finally {
      if (saved === undefined) delete process.env.BRIDGE_DICOM_PORT;
      else process.env.BRIDGE_DICOM_PORT = saved;
    }
  });
});

describe('HTTP listener limits', () => {
  it('has the documented defaults, for the admin listener too', () => {
    const config = loadConfig({ env: {}, baseDir: dir });
    expect(config.http).toMatchObject({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5000,
      idleTimeoutMs: 300_000,
      maxConnections: 256,
    });
    expect(config.admin.maxConnections).toBe(32);
  });

  it('refuses timeouts that do not fit together, naming the key', () => {
    expect(() =>
      loadConfig({
        env: { BRIDGE_HTTP_HEADERS_TIMEOUT_MS: '40000', BRIDGE_HTTP_REQUEST_TIMEOUT_MS: '30000' },
        baseDir: dir,
      }),
    ).toThrow(/http\.headersTimeoutMs must not exceed http\.requestTimeoutMs.*40000/);
    expect(() =>
      loadConfig({ env: { BRIDGE_HTTP_IDLE_TIMEOUT_MS: '120000' }, baseDir: dir }),
    ).toThrow(/http\.idleTimeoutMs must be longer than onDemand\.maxDeadlineMs.*120000/);
    expect(() => loadConfig({ env: { BRIDGE_HTTP_MAX_CONNECTIONS: '0' }, baseDir: dir })).toThrow(
      /http\.maxConnections/,
    );
    expect(() => loadConfig({ env: { BRIDGE_ADMIN_MAX_CONNECTIONS: '-1' }, baseDir: dir })).toThrow(
      /admin\.maxConnections/,
    );
  });
});

describe('admin log-in lockout', () => {
  it('has the documented defaults and refuses a first lockout longer than the longest', () => {
    expect(loadConfig({ env: {}, baseDir: dir }).admin).toMatchObject({
      loginMaxFailures: 5,
      loginFailureWindowMs: 900_000,
      loginLockoutMs: 60_000,
      loginMaxLockoutMs: 3_600_000,
    });
    expect(() =>
      loadConfig({
        env: {
          BRIDGE_ADMIN_LOGIN_LOCKOUT_MS: '7200000',
          BRIDGE_ADMIN_LOGIN_MAX_LOCKOUT_MS: '3600000',
        },
        baseDir: dir,
      }),
    ).toThrow(/admin\.loginLockoutMs must not exceed admin\.loginMaxLockoutMs.*7200000/);
    expect(() =>
      loadConfig({ env: { BRIDGE_ADMIN_LOGIN_MAX_FAILURES: '0' }, baseDir: dir }),
    ).toThrow(/admin\.loginMaxFailures/);
  });
});

describe('describeConfig', () => {
  it('hides the S3 keys, from the environment or a file', () => {
    const fromEnv = describeConfig({
      env: {
        BRIDGE_S3_SECRET_KEY: 'hunter2-secret-value',
        BRIDGE_S3_ACCESS_KEY: 'AKIA-ACCESS-VALUE',
      },
      baseDir: dir,
    });
    expect(fromEnv).not.toContain('hunter2-secret-value');
    expect(fromEnv).not.toContain('AKIA-ACCESS-VALUE');
    const parsed = JSON.parse(fromEnv) as {
      storage: { s3: { secretKey: string; accessKey: string; bucket: string } };
    };
    expect(parsed.storage.s3.secretKey).toBe('[Sensitive]');
    expect(parsed.storage.s3.accessKey).toBe('[Sensitive]');
    expect(parsed.storage.s3.bucket).toBe('fse-bridge');

    const file = configFile({ storage: { kind: 's3', s3: { secretKey: 'from-file-secret' } } });
    const fromFile = describeConfig({ file, env: {}, baseDir: dir });
    expect(fromFile).not.toContain('from-file-secret');
    expect(fromFile).toContain('[Sensitive]');
  });
});
