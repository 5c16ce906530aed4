/**
 * What the benchmarks share: the built bridge started as its own process on a temp data
 * directory, its peak memory, and the median of repeated measurements.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSyntheticInstances } from '../test/helpers/synthetic.js';
import { DCMTK_ENV, exited, freePort, runTool, waitFor } from '../test/helpers/tools.js';

/** The instance sizes the ingest benchmarks send: 8 KB and CT-sized (525 KB). */
export const SIZES = {
  small: { rows: 64, columns: 64 },
  ct: { rows: 512, columns: 512 },
} as const;
export type SizeName = keyof typeof SIZES;

/**
 * `count` distinct synthetic instances of `size`, spread over one directory per sender under
 * `root` (each sender's instances in studies of their own).
 */
export function senderDirs(root: string, size: SizeName, streams: number, count: number): string[] {
  const perStream = Math.ceil(count / streams);
  return Array.from({ length: streams }, (_, i) => {
    const dir = join(root, `${size}-${streams}-${i}`);
    writeSyntheticInstances(dir, Math.min(perStream, count - i * perStream), SIZES[size], 10 + i);
    return dir;
  });
}

/** A receiver under measurement, running as its own process. */
export interface BenchTarget {
  name: string;
  /** DICOM port. */
  port: number;
  pid: number;
  /** Where it writes (removed when it stops). */
  dir: string;
  stop(): Promise<void>;
}

export interface BenchBridge extends BenchTarget {
  name: 'bridge';
  httpPort: number;
}

/** True once the receiver on `port` answers a C-ECHO (calling and called AE FSEBRIDGE). */
async function answersEcho(port: number): Promise<boolean> {
  const echo = await runTool('echoscu', [
    '-aet',
    'FSEBRIDGE',
    '-aec',
    'FSEBRIDGE',
    '127.0.0.1',
    String(port),
  ]);
  return echo.code === 0;
}

/**
 * Start a receiver that is not the bridge (`storescp`, the floor receiver): `command` with the
 * `args` for a free port and a new directory under `root`, which goes when it stops. Resolves
 * once it answers C-ECHO.
 */
export async function startReceiver(
  name: string,
  root: string,
  command: string,
  args: (port: number, dir: string) => string[],
): Promise<BenchTarget> {
  const dir = mkdtempSync(join(root, `${name}-`));
  const port = await freePort();
  const child = spawn(command, args(port, dir), { env: DCMTK_ENV, stdio: 'ignore' });
  const exit = exited(child);
  await waitFor(() => answersEcho(port), 30_000, name);
  return {
    name,
    port,
    pid: child.pid!,
    dir,
    async stop() {
      child.kill('SIGTERM');
      await exit;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The floor receiver (`bench/floor-receiver.ts`) as `name`, with its options (`--hash`,
 * `--durable`).
 */
export function startFloorReceiver(
  name: string,
  root: string,
  flags: string[],
): Promise<BenchTarget> {
  return startReceiver(name, root, process.execPath, (port, dir) => [
    '--import',
    'tsx',
    'bench/floor-receiver.ts',
    '--port',
    String(port),
    '--dir',
    dir,
    ...flags,
  ]);
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

/** DCMTK `storescp`, writing each instance as received (`+B`) into its directory. */
export function startStorescp(root: string): Promise<BenchTarget> {
  return startReceiver('storescp', root, 'storescp', (port, dir) => [
    '+B',
    '-aet',
    'FSEBRIDGE',
    '-od',
    dir,
    String(port),
  ]);
}

/**
 * Start the built bridge (`dist/src/main.js`, or another build's `entry`) with `overrides` over
 * a benchmark configuration (warn-level log, loopback, STORESCU allowed); resolves once it has
 * started.
 */
export async function startBenchBridge(
  root: string,
  overrides: Record<string, unknown> = {},
  entry = 'dist/src/main.js',
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
  const child = spawn(process.execPath, [...profile, entry, '--config', config], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exit = exited(child);
  await waitFor(() => answersEcho(port), 30_000, 'the bridge');
  return {
    name: 'bridge',
    port,
    httpPort,
    pid: child.pid!,
    dir: dataDir,
    async stop() {
      child.kill('SIGTERM');
      await exit;
      if (out.includes('"level":"error"')) console.log(out);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Each sender runs under `sh`, whose `times` prints the CPU its child (storescu) used: on this
 * machine the senders share the cores with the receiver, so their CPU bounds what either
 * receiver can reach.
 */
const SENDER = 'storescu "$@"; status=$?; times >&2; exit $status';

/** CPU seconds (user + system) of the shell's children, from the last line `times` printed. */
function senderCpuSeconds(stderr: string): number {
  const last = stderr.trim().split('\n').at(-1) ?? '';
  const match = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(last);
  if (!match) throw new Error(`no CPU times from the sender: ${last}`);
  const [, um, us, sm, ss] = match.map(Number) as [number, number, number, number, number];
  return um * 60 + us + sm * 60 + ss;
}

/**
 * Sends every directory at once, one storescu each (calling AE STORESCU, called AE FSEBRIDGE);
 * wall seconds and the senders' CPU seconds.
 */
export async function send(
  target: { name: string; port: number },
  dirs: string[],
): Promise<{ seconds: number; senderCpu: number }> {
  const started = performance.now();
  const results = await Promise.all(
    dirs.map((dir) =>
      runTool(
        'sh',
        [
          '-c',
          SENDER,
          'storescu',
          ...[
            '-aet',
            'STORESCU',
            '-aec',
            'FSEBRIDGE',
            '+sd',
            '127.0.0.1',
            String(target.port),
            dir,
          ],
        ],
        { timeoutMs: 3_600_000 },
      ),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const result of results) {
    if (result.code !== 0 || /E: /.test(result.stderr))
      throw new Error(`storescu failed against ${target.name}: ${result.stderr.slice(0, 2000)}`);
  }
  const senderCpu = results.reduce((sum, result) => sum + senderCpuSeconds(result.stderr), 0);
  return { seconds, senderCpu };
}
