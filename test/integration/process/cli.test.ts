import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type BridgeConfig } from '../../../src/config/load.js';
import { BRIDGE_AE, writeTestConfig } from '../../helpers/bridge.js';
import { startDaemon, type DaemonProcess } from '../../helpers/daemon-process.js';
import { killDaemon, readIndexFile, signalAndWait } from '../../helpers/process-data.js';
import { SAMPLES_DIR, sampleFacts, validSamples, type SampleFacts } from '../../helpers/samples.js';
import { freePort, runTool, type ToolResult } from '../../helpers/tools.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** `bridge <args>` from the TypeScript sources, as `npm run cli` runs it. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ToolResult> {
  return runTool(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    timeoutMs: 60_000,
  });
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

let root: string;
let file: string;
let config: BridgeConfig;
let daemon: DaemonProcess | undefined;
let samples: SampleFacts[];
/** Expected per study: distinct series and instances. */
let expected: Map<string, { series: Set<string>; instances: Set<string> }>;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'bridge-cli-'));
  mkdirSync(join(root, 'data'));
  ({ file } = writeTestConfig({}, join(root, 'data')));
  config = loadConfig({ file, env: {} });
  samples = await Promise.all(
    validSamples()
      .filter((path) => path.startsWith(join(SAMPLES_DIR, 'studies')))
      .map((path) => sampleFacts(path)),
  );
  expected = new Map();
  for (const sample of samples) {
    const study = expected.get(sample.studyUid) ?? { series: new Set(), instances: new Set() };
    study.series.add(sample.seriesUid);
    study.instances.add(sample.sopInstanceUid);
    expected.set(sample.studyUid, study);
  }
  daemon = await startDaemon(file);
  const sent = await runTool('dcmsend', [
    '-aet',
    'DCMSEND',
    '-aec',
    BRIDGE_AE,
    '--decompress-never',
    '127.0.0.1',
    String(daemon.port),
    ...samples.map((s) => s.path),
  ]);
  expect(sent.code, sent.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await killDaemon(daemon);
  rmSync(root, { recursive: true, force: true });
});

const instanceTotal = (): number =>
  [...expected.values()].reduce((n, study) => n + study.instances.size, 0);

describe('bridge list', () => {
  it('shows every study with its series and instance counts (while the daemon runs)', async () => {
    const result = await cli(['list', '--config', file]);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^studyUid\s+patientId\s+accession\s+date\s+modalities\s+series\s+instances$/,
    );
    expect(expected.size).toBeGreaterThan(1);
    for (const [studyUid, study] of expected) {
      const row = lines.find((line) => line.startsWith(`${studyUid} `));
      expect(row, `row for study ${studyUid}`).toBeDefined();
      expect(row).toMatch(new RegExp(`\\s${study.series.size}\\s+${study.instances.size}$`));
    }
    expect(result.stdout).toContain(`\n${expected.size} studies, ${instanceTotal()} instances`);
  });

  it('shows the series of a study and the instances of a series', async () => {
    const [studyUid, study] = [...expected].find(([, s]) => s.series.size > 1)!;
    const series = await cli(['list', '--config', file, '--study', studyUid]);
    expect(series.code, series.stderr).toBe(0);
    for (const seriesUid of study.series)
      expect(series.stdout).toMatch(new RegExp(`^${escape(seriesUid)}\\s`, 'm'));
    const seriesUid = [...study.series][0]!;
    const instances = await cli(['list', '--config', file, '--series', seriesUid]);
    expect(instances.code, instances.stderr).toBe(0);
    const expectedSops = samples
      .filter((s) => s.seriesUid === seriesUid)
      .map((s) => s.sopInstanceUid);
    expect(expectedSops.length).toBeGreaterThan(0);
    for (const sop of expectedSops)
      expect(instances.stdout).toMatch(new RegExp(`^${escape(sop)}\\s.*\\sDCMSEND$`, 'm'));
  });
});

describe('bridge echo', () => {
  it('answers 0x0000 from the running bridge and exits 0', async () => {
    const result = await cli(['echo', '--config', file, '--port', String(daemon!.port)]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(
        `C-ECHO ${BRIDGE_AE} -> ${BRIDGE_AE}@127\\.0\\.0\\.1:${daemon!.port}: status 0x0000`,
      ),
    );
  });

  it('exits 1 when the bridge refuses the association', async () => {
    const result = await cli([
      'echo',
      '--config',
      file,
      '--port',
      String(daemon!.port),
      '--called-ae',
      'NOTTHEBRIDGE',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: /m);
  });

  it('exits 1 against a closed port', async () => {
    const port = await freePort();
    const result = await cli(['echo', '--config', file, '--port', String(port)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .*(ECONNREFUSED|connect)/m);
    expect(result.stdout).not.toContain('status');
  });
});

describe('bridge config', () => {
  it('prints the effective configuration with secrets hidden', async () => {
    const result = await cli(['config', '--config', file], {
      BRIDGE_S3_SECRET_KEY: 'cli-secret-value-42',
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toContain('cli-secret-value-42');
    const printed = JSON.parse(result.stdout) as {
      dataDir: string;
      storage: { s3: { secretKey: string } };
    };
    expect(printed.dataDir).toBe(config.dataDir);
    expect(printed.storage.s3.secretKey).toBe('[Sensitive]');
  });

  it('exits 2 for an unknown command', async () => {
    const result = await cli(['frobnicate', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command: frobnicate');
  });
});

describe('bridge rebuild-index', () => {
  it('rebuilds the same index from storage (daemon stopped)', async () => {
    const before = await cli(['list', '--config', file]);
    expect((await signalAndWait(daemon!, 'SIGTERM')).code).toBe(0);
    daemon = undefined;
    const snapshot = readIndexFile(config.index.path);
    expect(snapshot.instances).toHaveLength(instanceTotal());

    const result = await cli(['rebuild-index', '--config', file]);
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toContain(
      `index rebuilt: ${instanceTotal()} instances indexed, 0 objects skipped`,
    );

    expect(readIndexFile(config.index.path)).toEqual(snapshot);
    const after = await cli(['list', '--config', file]);
    expect(after.stdout).toBe(before.stdout);
  });
});
