import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseFileMeta } from '../../src/dicom/file-meta.js';
import { INTENT_JOURNAL, IntentLog } from '../../src/ingest/intent-log.js';
import {
  StudyIndex,
  type InstanceRecord,
  type SeriesRecord,
  type StudyRecord,
} from '../../src/index/study-index.js';
import type { DaemonProcess } from './daemon-process.js';
import { waitFor } from './tools.js';

/**
 * Spool files that hold instance data. The bridge keeps a few empty spool files prepared ahead
 * of need, and the journal of intent notes (IntentLog) while it runs; neither is what a check
 * for leftovers is about.
 */
export function spoolFilesWithData(dir: string): string[] {
  return filesUnder(dir).filter(
    (name) =>
      name !== INTENT_JOURNAL &&
      (statSync(join(dir, name), { throwIfNoEntry: false })?.size ?? 0) > 0,
  );
}

/**
 * Note `keys` in the spool's intent journal as a daemon killed between the storage write and
 * the index commit leaves them.
 */
export async function noteIntents(spoolDir: string, keys: string[]): Promise<void> {
  mkdirSync(spoolDir, { recursive: true });
  const log = new IntentLog(spoolDir);
  await log.start();
  for (const key of keys) await log.record(key);
  log.close();
}

/** Every regular file under `dir`, as paths relative to it ('/'-separated); empty when absent. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(relative(dir, full).split('\\').join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/** The dataset bytes (after the file meta) of a PS3.10 file. */
export function fileDataset(path: string): Buffer {
  const file = readFileSync(path);
  return file.subarray(parseFileMeta(file).datasetOffset);
}

/** Everything the index holds, read through the public API, study by study. */
export interface IndexSnapshot {
  studies: Array<Omit<StudyRecord, 'createdAt' | 'updatedAt'>>;
  series: SeriesRecord[];
  /** Without `receivedAt`, which a rebuild cannot know. */
  instances: Array<Omit<InstanceRecord, 'receivedAt'>>;
}

/** `value` without the given keys. */
function omit<T extends object, K extends keyof T>(value: T, ...keys: K[]): Omit<T, K> {
  return Object.fromEntries(
    Object.entries(value).filter(([key]) => !keys.includes(key as K)),
  ) as Omit<T, K>;
}

export function snapshotIndex(index: StudyIndex): IndexSnapshot {
  const studies = index
    .listStudies()
    .map((summary) => omit(index.getStudy(summary.studyUid)!, 'createdAt', 'updatedAt'));
  const series = studies.flatMap((study) => index.listSeries(study.studyUid));
  const instances = series.flatMap((s) =>
    index.listInstances(s.seriesUid).map((instance) => omit(instance, 'receivedAt')),
  );
  const byKey =
    <T>(key: (item: T) => string) =>
    (a: T, b: T) =>
      key(a).localeCompare(key(b));
  return {
    studies: studies.sort(byKey((s) => s.studyUid)),
    series: series.sort(byKey((s) => s.seriesUid)),
    instances: instances.sort(byKey((i) => i.sopInstanceUid)),
  };
}

/** Open the index file, read every instance (with all its fields) and close it again. */
export function readIndexFile(path: string): IndexSnapshot {
  const index = StudyIndex.open(path);
  try {
    return snapshotIndex(index);
  } finally {
    index.close();
  }
}

/** Fields of /proc/<pid>/status in kB (VmRSS, VmHWM, ...). */
export function procStatusKb(pid: number): Record<string, number> {
  const values: Record<string, number> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const match = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (match) values[match[1]!] = Number(match[2]);
  }
  return values;
}

/** Size of a file in bytes. */
export function fileSize(path: string): number {
  return statSync(path).size;
}

/**
 * Send `signal` to the daemon and wait (bounded, polling) until it has exited; resolves with
 * its exit code and signal. Throws when it does not exit within `timeoutMs`.
 */
export async function signalAndWait(
  daemon: DaemonProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  timeoutMs = 60_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let result: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void daemon.exit.then((r) => (result = r));
  daemon.child.kill(signal);
  await waitFor(() => result !== undefined, timeoutMs, `the daemon to exit after ${signal}`);
  return result!;
}

/** Kill the daemon if it still runs (test clean-up). */
export async function killDaemon(daemon: DaemonProcess | undefined): Promise<void> {
  if (!daemon || daemon.child.exitCode !== null || daemon.child.signalCode !== null) return;
  daemon.child.kill('SIGKILL');
  await daemon.exit;
}
