import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/index/sqlite.js';
import { StudyIndex } from '../../../src/index/study-index.js';
import { makeInstance, makeTempDir, studyUid } from './fixtures.js';

let dir: string;
let cleanup: () => void;

beforeEach(() => {
  ({ dir, cleanup } = makeTempDir());
});

afterEach(() => cleanup());

describe('durability settings', () => {
  it('opens with WAL, synchronous=FULL, foreign keys and a busy timeout', () => {
    const db = openDatabase(join(dir, 'pragmas.sqlite'), { busyTimeoutMs: 1234 });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(2); // 2 = FULL
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.pragma('busy_timeout', { simple: true })).toBe(1234);
    } finally {
      db.close();
    }
  });

  it('rejects a bad busy timeout, naming the value', () => {
    expect(() => openDatabase(join(dir, 'x.sqlite'), { busyTimeoutMs: -1 })).toThrow(/-1/);
  });

  it('keeps a committed batch when the process is killed without closing', async () => {
    const path = join(dir, 'crash.sqlite');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./crash-child.ts', import.meta.url)), path],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const signal = await new Promise<NodeJS.Signals | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (_code, sig) => resolve(sig));
    });
    expect(stderr).toBe('');
    expect(stdout).toBe('committed\n');
    expect(signal).toBe('SIGKILL');
    // No clean close: the commit lives only in the WAL, which the next open must replay.
    expect(existsSync(`${path}-wal`)).toBe(true);

    const index = StudyIndex.open(path);
    try {
      expect(index.countInstances()).toBe(2);
      expect(index.getStudy(studyUid(1))).toMatchObject({
        patientName: 'Müller^Jörg',
        instanceCount: 2,
      });
    } finally {
      index.close();
    }
  });
});

describe('batched commits', () => {
  it('indexes thousands of instances committed in batches', () => {
    const index = StudyIndex.open(join(dir, 'bench.sqlite'));
    try {
      const total = 5_000;
      const batchSize = 50;
      const items = Array.from({ length: total }, (_, i) =>
        makeInstance({ study: Math.floor(i / 500), series: Math.floor(i / 100) % 5, sop: i }),
      );
      for (let i = 0; i < total; i += batchSize) {
        index.commitInstances(items.slice(i, i + batchSize));
      }
      expect(index.countInstances()).toBe(total);
      expect(index.listStudies()).toHaveLength(10);
    } finally {
      index.close();
    }
  });
});
