import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pino } from 'pino';
import {
  openAssociation,
  type ClientAssociation,
  type ClientOptions,
} from '../../src/dimse/client.js';
import { BRIDGE_AE, type LogLine, type TestBridge } from './bridge.js';
import { spoolFilesWithData } from './process-data.js';
import { IMPLICIT_LE, VERIFICATION } from './raw-peer.js';
import { waitFor } from './tools.js';

/*
 * Checks shared by the DIMSE policy / abuse / limits / bad-input / duplicates tests: what the
 * bridge holds (index rows, object files, spool files), what it logged, and whether it still
 * answers a C-ECHO.
 */

/** A logger for our own SCU that says nothing. */
export const quietLog = pino({ level: 'silent' });

async function walkFiles(dir: string, skip: (name: string) => boolean): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files: string[] = [];
  for (const entry of entries) {
    if (skip(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walkFiles(path, skip)));
    else files.push(path);
  }
  return files;
}

function storageRoot(bridge: TestBridge): string {
  if (bridge.config.storage.kind !== 'fs')
    throw new Error('these checks expect filesystem storage');
  return bridge.config.storage.rootDir;
}

/** Files under the filesystem storage root, relative to it, leaving out the spool. */
export async function objectFiles(bridge: TestBridge): Promise<string[]> {
  const root = storageRoot(bridge);
  const spool = relative(root, bridge.config.spoolDir);
  return (await walkFiles(root, (name) => name === spool))
    .map((path) => relative(root, path))
    .sort();
}

/** Files in the spool directory that hold data (see `spoolFilesWithData`). */
export async function spoolFiles(bridge: TestBridge): Promise<string[]> {
  return Promise.resolve(spoolFilesWithData(bridge.config.spoolDir));
}

/** Nothing indexed, no object under the storage root, and the spool empties (polled). */
export async function expectNothingStored(bridge: TestBridge): Promise<void> {
  const indexed = bridge.app.index.countInstances();
  const objects = await objectFiles(bridge);
  if (indexed !== 0 || objects.length !== 0) {
    throw new Error(
      `expected nothing stored, found ${indexed} index row(s) and objects ${JSON.stringify(objects)}`,
    );
  }
  await waitFor(
    async () => (await spoolFiles(bridge)).length === 0,
    10_000,
    'the spool to be empty',
  );
}

/** Log lines with this message (exact). */
export function logsWithMessage(bridge: TestBridge, msg: string): LogLine[] {
  return bridge.logs.filter((line) => line.msg === msg);
}

/** Wait until a log line matching `predicate` has been captured; returns it. */
export async function waitForLog(
  bridge: TestBridge,
  predicate: (line: LogLine) => boolean,
  what: string,
): Promise<LogLine> {
  let found: LogLine | undefined;
  await waitFor(
    () => {
      found = bridge.logs.find(predicate);
      return found !== undefined;
    },
    10_000,
    `log line: ${what}`,
  );
  return found!;
}

export type ClientOverrides = Partial<Omit<ClientOptions, 'port' | 'log'>>;

/** Open an association to the test bridge with our SCU (Verification proposed unless `contexts` is given). */
export function connectClient(
  bridge: TestBridge,
  overrides: ClientOverrides = {},
): Promise<ClientAssociation> {
  return openAssociation({
    host: '127.0.0.1',
    port: bridge.port,
    callingAe: 'TESTSCU',
    calledAe: BRIDGE_AE,
    contexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }],
    connectTimeoutMs: 10_000,
    ...overrides,
    log: quietLog,
  });
}

/** A fresh association, a C-ECHO and a release: resolves with the C-ECHO status. */
export async function echoStatus(bridge: TestBridge, callingAe = 'TESTSCU'): Promise<number> {
  const client = await connectClient(bridge, { callingAe });
  try {
    return await client.echo();
  } finally {
    await client.release();
  }
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Settle a promise into its value or its error, for asserting on rejections. */
export function settle<T>(
  promise: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** Association close reasons the bridge logged, in order. */
export function closeReasons(bridge: TestBridge): unknown[] {
  return bridge.logs.filter((line) => line.msg === 'association closed').map((line) => line.reason);
}

/** The close reasons, once the bridge has logged `count` closed associations (it logs on socket close). */
export async function closedAssociations(bridge: TestBridge, count: number): Promise<unknown[]> {
  await waitFor(
    () => closeReasons(bridge).length >= count,
    10_000,
    'the bridge to log the associations closed',
  );
  return closeReasons(bridge);
}
