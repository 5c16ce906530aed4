/**
 * What bounds ingest before any durable step: DCMTK storescu sends the same synthetic instances,
 * in the same run, to
 *   - `storescp` (DCMTK, `+B`: each instance into a file in the page cache);
 *   - `floor`: the bridge's DICOM network layer writing each dataset into a file in the page
 *     cache, and nothing else (bench/floor-receiver.ts);
 *   - `floor+sha256`: the same, also hashing each dataset, as the bridge does for its index;
 *   - `floor+durable`: hashing too, answering only once the file is durable (fdatasync, and
 *     a directory entry made durable ahead): the least a durable receiver must do;
 *   - `bridge`: the bridge itself, durable acknowledgement and indexing.
 * and prints instances/s, the ratio to storescp and each receiver's CPU per instance. The
 * bridge does all the floor does and more, so its ratio can be no better than `floor+durable`'s.
 *
 *   npm run bench:ingest-floor -- [--count 1000] [--streams 4] [--sizes ct] [--repeat 3]
 *
 * Receivers take turns, the order reversed every other round; medians are reported.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  build,
  cpuSeconds,
  median,
  send,
  senderDirs,
  startBenchBridge,
  startFloorReceiver,
  startStorescp,
  type BenchTarget,
  type SizeName,
} from './daemon.js';

const RECEIVERS: Array<(root: string) => Promise<BenchTarget>> = [
  startStorescp,
  (root) => startFloorReceiver('floor', root, []),
  (root) => startFloorReceiver('floor+sha256', root, ['--hash']),
  (root) => startFloorReceiver('floor+durable', root, ['--hash', '--durable']),
  (root) => startBenchBridge(root),
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '1000' },
      streams: { type: 'string', default: '4' },
      sizes: { type: 'string', default: 'ct' },
      repeat: { type: 'string', default: '3' },
    },
  });
  const count = Number(values.count);
  const repeat = Number(values.repeat);
  await build();
  const root = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'bench-floor-'));
  try {
    for (const size of values.sizes.split(',') as SizeName[]) {
      for (const streams of values.streams.split(',').map(Number)) {
        const dirs = senderDirs(root, size, streams, count);
        const rates = new Map<string, number[]>();
        const cpu = new Map<string, number[]>();
        for (let round = 0; round < repeat; round++) {
          const order = round % 2 === 0 ? RECEIVERS : [...RECEIVERS].reverse();
          for (const start of order) {
            const target = await start(root);
            try {
              const before = cpuSeconds(target.pid);
              const { seconds } = await send(target, dirs);
              const after = cpuSeconds(target.pid);
              rates.set(target.name, [...(rates.get(target.name) ?? []), count / seconds]);
              const used = after.user + after.system - before.user - before.system;
              cpu.set(target.name, [...(cpu.get(target.name) ?? []), (used * 1000) / count]);
            } finally {
              await target.stop();
            }
          }
        }
        const reference = median(rates.get('storescp')!);
        console.log(`${size} | ${count} inst | ${streams} stream(s) | median of ${repeat}`);
        for (const [name, values] of rates) {
          console.log(
            `  ${name.padEnd(13)} ${median(values).toFixed(0).padStart(5)} inst/s ` +
              `ratio ${(median(values) / reference).toFixed(2)}x ` +
              `CPU ${median(cpu.get(name)!).toFixed(2)} ms/inst ` +
              `(runs: ${values.map((v) => v.toFixed(0)).join(', ')})`,
          );
        }
        for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
