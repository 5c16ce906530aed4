/**
 * Ingest benchmark: the same synthetic instances sent with DCMTK storescu to (a) the bridge,
 * with durable acknowledgement and indexing, and (b) DCMTK storescp writing to disk, in the
 * same run. Prints instances/s, MB/s, the ratio bridge/storescp and the bridge's peak RSS.
 *
 *   npm run bench:ingest -- [--count 2000] [--streams 1,4] [--sizes small,ct] [--repeat 3]
 *
 * Each configuration runs `repeat` times, alternating which side goes first, and the median
 * is reported: disk latency on shared machines varies from run to run. Each row also prints
 * what bounds a receiver here: the CPU that receiver and senders use per instance (with several
 * senders), and, with one sender, the extra latency of a durable write of that size.
 */
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  mkdtempSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import {
  build,
  cpuSeconds,
  median,
  peakRssMb,
  SIZES,
  senderDirs,
  startBenchBridge,
  startStorescp,
  type BenchTarget,
  type SizeName,
  send,
  threadCpuSeconds,
} from './daemon.js';

function startBridge(root: string): Promise<BenchTarget> {
  return startBenchBridge(root);
}

/**
 * Median milliseconds to write one file of `bytes` as a receiver that answers from the page
 * cache does (`storescp`: write, close, rename) and as a durable one does (write, fdatasync,
 * close, rename, directory fsync).
 */
function writeLatencyMs(root: string, bytes: number): { plain: number; durable: number } {
  const data = Buffer.alloc(bytes, 1);
  const time = (durable: boolean): number => {
    const times: number[] = [];
    for (let i = 0; i < 50; i++) {
      const path = join(root, `probe-${i}`);
      const started = performance.now();
      const fd = openSync(`${path}.tmp`, 'w');
      writeSync(fd, data);
      if (durable) fdatasyncSync(fd);
      closeSync(fd);
      renameSync(`${path}.tmp`, path);
      if (durable) {
        const dir = openSync(root, 'r');
        fsyncSync(dir);
        closeSync(dir);
      }
      times.push(performance.now() - started);
    }
    for (let i = 0; i < 50; i++) rmSync(join(root, `probe-${i}`), { force: true });
    return median(times);
  };
  return { plain: time(false), durable: time(true) };
}

/**
 * With one sender, `storescu` waits for each answer before it sends the next instance, so a
 * receiver that makes each instance durable before answering adds the durable write's extra
 * latency to every instance: even one that spent nothing else would reach only `storescp`'s
 * time per instance over that sum.
 */
function latencyBound(
  storescpSeconds: number,
  count: number,
  write: { plain: number; durable: number },
): string {
  const perInstance = (storescpSeconds * 1000) / count;
  const extra = write.durable - write.plain;
  return (
    `one sender waits for each answer: storescp takes ${perInstance.toFixed(2)} ms per instance; ` +
    `writing a file of this size durably (fdatasync, rename, directory fsync) takes ` +
    `${extra.toFixed(2)} ms more than into the page cache (${write.plain.toFixed(2)} → ` +
    `${write.durable.toFixed(2)} ms), so a receiver that does only that reaches at most ` +
    `${(perInstance / (perInstance + extra)).toFixed(2)}x`
  );
}

/**
 * Write and remove `bytes` of data under `root` before measuring. On a virtual machine the
 * first write into memory the guest has never touched costs host page faults (here it doubled
 * the system time of whichever receiver ran first); afterwards both receivers reuse memory
 * that is already backed.
 */
function prefault(root: string, bytes: number): void {
  const path = join(root, 'prefault.tmp');
  const chunk = Buffer.alloc(8 * 1024 * 1024, 1);
  const fd = openSync(path, 'w');
  try {
    for (let written = 0; written < bytes; written += chunk.length) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}

/** The threads' CPU per instance between two readings: the event loop first, then the busiest. */
function perThread(
  pid: number,
  before: Map<number, number>,
  after: Map<number, number>,
  count: number,
): string {
  const ms = (tid: number): number =>
    (((after.get(tid) ?? 0) - (before.get(tid) ?? 0)) * 1000) / count;
  const others = [...after.keys()]
    .filter((tid) => tid !== pid)
    .map(ms)
    .filter((value) => value >= 0.05)
    .sort((a, b) => b - a);
  return `event loop ${ms(pid).toFixed(2)} ms; other threads ${others.map((v) => v.toFixed(2)).join(', ')} ms`;
}

/** Median CPU milliseconds per instance over the runs, user + system. */
function cpuPerInstance(runs: Array<{ user: number; system: number }>, count: number): string {
  const ms = (seconds: number): string => ((seconds * 1000) / count).toFixed(2);
  const user = median(runs.map((run) => run.user));
  const system = median(runs.map((run) => run.system));
  return `${ms(user + system)} ms (${ms(user)} + ${ms(system)})`;
}

/**
 * The most each receiver could reach if the machine's cores did nothing but this benchmark:
 * cores ÷ (receiver CPU + senders' CPU) per instance. When a receiver comes close to its bound,
 * only less CPU per instance makes it faster.
 */
function cpuBound(
  cpu: Record<string, Array<{ user: number; system: number }>>,
  senderCpu: Record<string, number[]>,
  count: number,
): string {
  const cores = availableParallelism();
  const perInstance = (name: string): { receiver: number; sender: number } => ({
    receiver: median(cpu[name]!.map((run) => run.user + run.system)) / count,
    sender: median(senderCpu[name]!) / count,
  });
  const bridge = perInstance('bridge');
  const reference = perInstance('storescp');
  const bound = (side: { receiver: number; sender: number }): number =>
    cores / (side.receiver + side.sender);
  return (
    `senders' CPU per instance ${(bridge.sender * 1000).toFixed(2)} ms (to the bridge), ` +
    `${(reference.sender * 1000).toFixed(2)} ms (to storescp); CPU bound on ${cores} cores: ` +
    `bridge ${bound(bridge).toFixed(0)} inst/s, storescp ${bound(reference).toFixed(0)} inst/s, ` +
    `ratio ${(bound(bridge) / bound(reference)).toFixed(2)}x`
  );
}

function totalBytes(dirs: string[]): number {
  return dirs
    .flatMap((dir) => readdirSync(dir).map((name) => statSync(join(dir, name)).size))
    .reduce((a, b) => a + b, 0);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '2000' },
      streams: { type: 'string', default: '1,4' },
      sizes: { type: 'string', default: 'small,ct' },
      repeat: { type: 'string', default: '3' },
    },
  });
  const repeat = Number(values.repeat);
  const count = Number(values.count);
  const streamsList = values.streams.split(',').map(Number);
  const sizes = values.sizes.split(',') as SizeName[];
  await build();
  const root = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'bench-ingest-'));
  const rows: string[] = [];
  const small = writeLatencyMs(root, 8192);
  console.log(
    `disk: median durable small write (write + fdatasync + rename + dir fsync) ${small.durable.toFixed(2)} ms`,
  );
  try {
    for (const size of sizes) {
      for (const streams of streamsList) {
        const dirs = senderDirs(root, size, streams, count);
        const megabytes = totalBytes(dirs) / 1e6;
        // Both receivers' copies, and the bridge's spool, fit in memory touched before.
        prefault(root, 3 * megabytes * 1e6);
        const write =
          streams === 1 ? writeLatencyMs(root, Math.round((megabytes * 1e6) / count)) : undefined;
        const seconds: Record<string, number[]> = { bridge: [], storescp: [] };
        const cpu: Record<string, Array<{ user: number; system: number }>> = {
          bridge: [],
          storescp: [],
        };
        const senderCpu: Record<string, number[]> = { bridge: [], storescp: [] };
        let rss = 0;
        let threads = '';
        for (let run = 0; run < repeat; run++) {
          // Alternate the order so neither side always gets the warmer page cache.
          const order = run % 2 === 0 ? [startStorescp, startBridge] : [startBridge, startStorescp];
          for (const start of order) {
            const target = await start(root);
            try {
              const cpuBefore = cpuSeconds(target.pid);
              const threadsBefore = threadCpuSeconds(target.pid);
              const sent = await send(target, dirs);
              seconds[target.name]!.push(sent.seconds);
              senderCpu[target.name]!.push(sent.senderCpu);
              const cpuAfter = cpuSeconds(target.pid);
              if (target.name === 'bridge')
                threads = perThread(target.pid, threadsBefore, threadCpuSeconds(target.pid), count);
              cpu[target.name]!.push({
                user: cpuAfter.user - cpuBefore.user,
                system: cpuAfter.system - cpuBefore.system,
              });
              if (target.name === 'bridge') rss = Math.max(rss, peakRssMb(target.pid));
            } finally {
              await target.stop();
            }
          }
        }
        const bridge = { seconds: median(seconds.bridge!), rss };
        const reference = { seconds: median(seconds.storescp!) };
        const line = [
          `${size} ${SIZES[size].rows}x${SIZES[size].columns}`,
          `${count} inst`,
          `${streams} stream(s)`,
          `bridge ${(count / bridge.seconds).toFixed(0)} inst/s ${(megabytes / bridge.seconds).toFixed(1)} MB/s`,
          `storescp ${(count / reference.seconds).toFixed(0)} inst/s ${(megabytes / reference.seconds).toFixed(1)} MB/s`,
          `ratio ${(reference.seconds / bridge.seconds).toFixed(2)}x`,
          `bridge peak RSS ${bridge.rss.toFixed(0)} MB`,
          `CPU per instance (user + system) bridge ${cpuPerInstance(cpu.bridge!, count)}, storescp ${cpuPerInstance(cpu.storescp!, count)}`,
          `median of ${repeat}`,
        ].join(' | ');
        console.log(line);
        console.log(`  bridge CPU per instance by thread (last run): ${threads}`);
        console.log(`  ${cpuBound(cpu, senderCpu, count)}`);
        if (write) console.log(`  ${latencyBound(reference.seconds, count, write)}`);
        rows.push(line);
        for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  console.log('\nSummary\n' + rows.join('\n'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
