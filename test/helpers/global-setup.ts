import { execFile } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from 'minio';
import type { TestProject } from 'vitest/node';
import type { S3TestServer } from './s3.js';

/*
 * Starts one Ceph S3 server (monitor + in-memory OSD + RADOS gateway, see
 * scripts/ceph-s3.sh) for the whole test run and stops it afterwards. Several vitest runs on
 * one machine (engineers working in parallel) share the instance: each registers its pid in
 * a users directory, and the last one to finish stops it. A run that finds an instance but no
 * live user (a crashed run) replaces it.
 */

const SECOND = 1000;
const S3_PORT = 7480;
const MON_PORT = 6789;
const STATE_DIR = path.join(os.tmpdir(), 'pacs-fse-bridge-ceph-s3');
const USERS_DIR = `${STATE_DIR}.users`;
const LOCK_DIR = `${STATE_DIR}.lock`;
const SCRIPT = fileURLToPath(new URL('../../scripts/ceph-s3.sh', import.meta.url));
const REQUIRED_TOOLS = [
  'radosgw',
  'radosgw-admin',
  'ceph-mon',
  'ceph-osd',
  'ceph',
  'monmaptool',
  'ceph-authtool',
];
const SERVER: S3TestServer = {
  endPoint: '127.0.0.1',
  port: S3_PORT,
  accessKey: 'TESTKEY',
  secretKey: 'TESTSECRET',
};

const run = promisify(execFile);

/** vitest globalSetup: provides `inject('s3')`; the returned function is the teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await assertCephInstalled();
  await withLock(async () => {
    const users = await liveUsers();
    if (users.length === 0 || !(await answers())) await startCeph();
    await mkdir(USERS_DIR, { recursive: true });
    await writeFile(path.join(USERS_DIR, String(process.pid)), '');
  });
  try {
    await checkCredentials();
  } catch (err) {
    await teardown();
    throw err;
  }
  project.provide('s3', SERVER);
  return teardown;
}

async function teardown(): Promise<void> {
  await withLock(async () => {
    await rm(path.join(USERS_DIR, String(process.pid)), { force: true });
    if ((await liveUsers()).length === 0) await runScript(['stop', STATE_DIR], 60 * SECOND);
  });
}

async function startCeph(): Promise<void> {
  // The script stops whatever still runs from STATE_DIR before it starts afresh.
  await runScript(['start', STATE_DIR, String(S3_PORT), String(MON_PORT)], 120 * SECOND);
}

async function runScript(args: string[], timeoutMs: number): Promise<void> {
  try {
    await run('bash', [SCRIPT, ...args], { timeout: timeoutMs, killSignal: 'SIGKILL' });
  } catch (err) {
    const { stderr = '', stdout = '' } = err as { stderr?: string; stdout?: string };
    throw new Error(
      `scripts/ceph-s3.sh ${args.join(' ')} failed (daemon logs in ${STATE_DIR}/log):\n` +
        `${stdout}${stderr}`.trim(),
      { cause: err },
    );
  }
}

async function assertCephInstalled(): Promise<void> {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter((dir) => dir !== '');
  const missing: string[] = [];
  for (const tool of REQUIRED_TOOLS) {
    const found = await Promise.any(
      dirs.map((dir) => access(path.join(dir, tool), fsConstants.X_OK)),
    ).then(
      () => true,
      () => false,
    );
    if (!found) missing.push(tool);
  }
  if (missing.length > 0) {
    // Loud on purpose: skipping would let the S3 adapter go untested without anyone noticing.
    throw new Error(
      `The S3 integration tests need a real Ceph RADOS gateway, but ${missing.join(', ')} ` +
        'cannot be found on PATH. Install the Debian packages: ' +
        'apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd',
    );
  }
}

/** True when the gateway answers an anonymous request. */
async function answers(): Promise<boolean> {
  try {
    const response = await fetch(`http://${SERVER.endPoint}:${SERVER.port}/`, {
      signal: AbortSignal.timeout(2 * SECOND),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/** A signed request, so a gateway that is up but lacks the test user fails here, clearly. */
async function checkCredentials(): Promise<void> {
  const client = new Client({ ...SERVER, useSSL: false, region: 'us-east-1' });
  try {
    await client.listBuckets();
  } catch (err) {
    throw new Error(`Ceph S3 on port ${S3_PORT} rejects the test credentials`, { cause: err });
  }
}

/** Pids of test runs still using the instance; entries of dead processes are removed. */
async function liveUsers(): Promise<number[]> {
  const names = await readdir(USERS_DIR).catch(() => [] as string[]);
  const live: number[] = [];
  for (const name of names) {
    const pid = Number(name);
    if (Number.isInteger(pid) && isAlive(pid)) live.push(pid);
    else await rm(path.join(USERS_DIR, name), { force: true });
  }
  return live;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs `fn` holding a cross-process lock (an atomic mkdir), breaking a dead holder's lock. */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 180 * SECOND;
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(await readFile(path.join(LOCK_DIR, 'pid'), 'utf8').catch(() => ''));
    // No pid long after the mkdir: the holder died in between.
    const lockAgeMs = Date.now() - ((await stat(LOCK_DIR).catch(() => undefined))?.mtimeMs ?? 0);
    const deadHolder = holder > 0 ? !isAlive(holder) : lockAgeMs > 10 * SECOND;
    if (deadHolder) {
      await rm(LOCK_DIR, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK_DIR}`);
    await sleep(100);
  }
  try {
    await writeFile(path.join(LOCK_DIR, 'pid'), String(process.pid));
    return await fn();
  } finally {
    await rm(LOCK_DIR, { recursive: true, force: true });
  }
}
