/**
 * Ingest at two commits, on the same data in the same run: the bridge built from `--base` (a
 * git ref, exported into a temporary directory and built there) and this checkout's build take
 * turns receiving the same instances from storescu, alternating which goes first. Prints each
 * run and the ratio of the medians. On a shared machine whose speed drifts by ±30 % between
 * runs of `bench:ingest`, this is how a change of a few per cent is seen.
 *
 *   npm run bench:ingest-ab -- --base HEAD~1 [--count 1000] [--streams 4] [--size ct] [--rounds 4]
 *
 * The base build uses this checkout's node_modules. BENCH_DIR chooses where the data and the
 * daemons' storage go (default: the system temp directory).
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runTool } from '../test/helpers/tools.js';
import {
  build,
  median,
  send,
  senderDirs,
  SIZES,
  startBenchBridge,
  type SizeName,
} from './daemon.js';

async function check(result: Promise<{ code: number | null; stderr: string }>, what: string) {
  const { code, stderr } = await result;
  if (code !== 0) throw new Error(`${what} failed: ${stderr.slice(0, 2000)}`);
}

/** Export `ref` into a temporary directory and build it there; returns its daemon entry. */
async function buildBase(ref: string, into: string): Promise<string> {
  await check(
    runTool('sh', ['-c', 'git archive --format=tar "$1" | tar -x -C "$2"', 'sh', ref, into]),
    `exporting ${ref}`,
  );
  symlinkSync(resolve('node_modules'), join(into, 'node_modules'));
  await check(
    runTool('npm', ['run', 'build'], { cwd: into, timeoutMs: 300_000 }),
    `building ${ref}`,
  );
  return join(into, 'dist/src/main.js');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      base: { type: 'string' },
      count: { type: 'string', default: '1000' },
      streams: { type: 'string', default: '4' },
      size: { type: 'string', default: 'ct' },
      rounds: { type: 'string', default: '4' },
    },
  });
  if (!values.base) throw new Error('--base <git ref> is required');
  const size = values.size as SizeName;
  if (!(size in SIZES)) throw new Error(`--size must be small or ct, got ${values.size}`);
  const streams = Number(values.streams);
  const count = Math.ceil(Number(values.count) / streams) * streams;
  const root = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'bench-ab-'));
  try {
    await build();
    const entries = {
      base: await buildBase(values.base, mkdtempSync(join(root, 'base-'))),
      change: 'dist/src/main.js',
    };
    const dirs = senderDirs(root, size, streams, count);
    const rates: Record<keyof typeof entries, number[]> = { base: [], change: [] };
    for (let round = 0; round < Number(values.rounds); round++) {
      const order: Array<keyof typeof entries> =
        round % 2 === 0 ? ['base', 'change'] : ['change', 'base'];
      for (const side of order) {
        const bridge = await startBenchBridge(root, {}, entries[side]);
        try {
          const { seconds } = await send(bridge, dirs);
          rates[side].push(count / seconds);
          console.log(`${side.padEnd(6)} ${(count / seconds).toFixed(0)} inst/s`);
        } finally {
          await bridge.stop();
        }
      }
    }
    const base = median(rates.base);
    const change = median(rates.change);
    console.log(
      `${values.size} | ${count} inst | ${streams} stream(s) | base ${values.base} ${base.toFixed(0)} inst/s | ` +
        `this checkout ${change.toFixed(0)} inst/s | change/base ${(change / base).toFixed(2)} | ` +
        `median of ${values.rounds}`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
