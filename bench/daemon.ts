/**
 * What the benchmarks share: the built bridge started as its own process on a temp data
 * directory, its peak memory, and the median of repeated measurements.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exited, freePort, runTool, waitFor } from '../test/helpers/tools.js';

export interface BenchBridge {
  name: 'bridge';
  /** DICOM port. */
  port: number;
  httpPort: number;
  pid: number;
  stop(): Promise<void>;
}

export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : NaN;
}

/** CPU time a process (all threads) or one of its threads has used so far, in seconds. */
export function cpuSeconds(pid: number, tid?: number): { user: number; system: number } {
  const stat = readFileSync(
    tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`,
    'utf8',
  );
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

/** CPU seconds (user + system) each thread of a process has used so far, by thread id. */
export function threadCpuSeconds(pid: number): Map<number, number> {
  const threads = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const { user, system } = cpuSeconds(pid, Number(tid));
      threads.set(Number(tid), user + system);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return threads;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The value at `p` (0–1) of `values`, nearest rank. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** Build `dist/` so the benchmark measures the code as it is. */
export async function build(): Promise<void> {
  const result = await runTool('npm', ['run', 'build'], { timeoutMs: 300_000 });
  if (result.code !== 0) throw new Error(`build failed: ${result.stderr}`);
}

/**
 * Start the built bridge (`dist/src/main.js`) with `overrides` over a benchmark configuration
 * (warn-level log, loopback, STORESCU allowed); resolves once it has started.
 */
export async function startBenchBridge(
  root: string,
  overrides: Record<string, unknown> = {},
): Promise<BenchBridge> {
  const dataDir = mkdtempSync(join(root, 'bridge-'));
  const port = await freePort();
  const httpPort = await freePort();
  const config = join(dataDir, 'bench.json');
  writeFileSync(
    config,
    JSON.stringify({
      dataDir,
      log: { level: 'warn' },
      dicom: {
        aeTitles: ['FSEBRIDGE'],
        host: '127.0.0.1',
        port,
        allowedPeers: [{ aeTitle: 'STORESCU' }],
        maxAssociations: 32,
      },
      ingest: { minFreeDiskBytes: 0 },
      http: { host: '127.0.0.1', port: httpPort },
      ...overrides,
    }),
  );
  // BENCH_PROFILE=<dir>: the bridge writes a V8 CPU profile there when it stops.
  const profile = process.env.BENCH_PROFILE
    ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE]
    : [];
  const child = spawn(process.execPath, [...profile, 'dist/src/main.js', '--config', config], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exit = exited(child);
  await waitFor(
    async () =>
      (
        await runTool('echoscu', [
          '-aet',
          'FSEBRIDGE',
          '-aec',
          'FSEBRIDGE',
          '127.0.0.1',
          String(port),
        ])
      ).code === 0,
    30_000,
    'the bridge',
  );
  return {
    name: 'bridge',
    port,
    httpPort,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      await exit;
      if (out.includes('"level":"error"')) console.log(out);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
