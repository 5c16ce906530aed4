import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Start the worker thread whose module `name` sits next to the module at `moduleUrl` (pass
 * `import.meta.url`). Built, the worker is plain JavaScript. Run from the TypeScript sources
 * (tests, `npm run cli`), the worker first registers tsx's loader, which a worker does not
 * inherit, and then imports the TypeScript module.
 */
export function startWorker(
  moduleUrl: string,
  name: string,
  options: Omit<WorkerOptions, 'eval'> = {},
): Worker {
  const here = fileURLToPath(moduleUrl);
  if (!here.endsWith('.ts')) return new Worker(join(dirname(here), `${name}.js`), options);
  const entry = pathToFileURL(join(dirname(here), `${name}.ts`)).href;
  const tsxApi = pathToFileURL(
    createRequire(moduleUrl)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** A thread of a pool and the jobs it has under way. */
export interface PoolThread {
  worker: Worker;
  pending: ReadonlyMap<number, unknown>;
}

/**
 * The thread of `threads` with the fewest jobs under way: an idle one at once, else a new one
 * (made by `start` and added to `threads`) while the pool has fewer than `size`.
 */
export function leastBusyThread<T extends PoolThread>(
  threads: T[],
  size: number,
  start: () => T,
): T {
  let best: T | undefined;
  for (const thread of threads) {
    if (thread.pending.size === 0) return thread;
    if (!best || thread.pending.size < best.pending.size) best = thread;
  }
  if (best && threads.length >= size) return best;
  const thread = start();
  threads.push(thread);
  return thread;
}

/**
 * The memory of `bytes` to post to a thread as a transferable: the Buffer's own ArrayBuffer when
 * the Buffer is all of it (the sender must not use it afterwards), else a copy (a small Buffer
 * shares its ArrayBuffer with others).
 */
export function transferableBytes(bytes: Buffer): ArrayBuffer {
  const whole = bytes.byteOffset === 0 && bytes.length === bytes.buffer.byteLength;
  return (
    whole ? bytes.buffer : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)
  ) as ArrayBuffer;
}
