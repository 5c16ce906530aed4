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
