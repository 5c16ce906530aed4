import { existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileOpenAt } from '../../helpers/fds.js';
import { FileMover, MoveError } from '../../../src/storage/file-mover.js';

let workDir: string;
let mover: FileMover;

beforeEach(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'file-mover-test-'));
  await mkdir(path.join(workDir, 'dest'));
  mover = new FileMover(2);
});

afterEach(async () => {
  await mover.close();
  await rm(workDir, { recursive: true, force: true });
});

/** A spool file with `content`, open for writing as the receiver leaves it. */
function spooled(name: string, content: string): { fd: number; path: string } {
  const file = path.join(workDir, name);
  writeFileSync(file, content);
  return { fd: openSync(file, 'r+'), path: file };
}

describe('FileMover', () => {
  it('moves a file under its final name and closes its descriptor', async () => {
    const spool = spooled('a.part', 'instance bytes');
    const dest = path.join(workDir, 'dest', 'a.dcm');
    await mover.move(spool.fd, spool.path, dest, path.dirname(dest));
    expect(readFileSync(dest, 'utf8')).toBe('instance bytes');
    expect(existsSync(spool.path)).toBe(false);
    expect(fileOpenAt(spool.fd)).toBeUndefined();
  });

  it('moves many files at once on its threads', async () => {
    await mover.start();
    const moves = Array.from({ length: 40 }, (_, i) => {
      const spool = spooled(`${i}.part`, `object ${i}`);
      return mover.move(
        spool.fd,
        spool.path,
        path.join(workDir, 'dest', `${i}.dcm`),
        path.join(workDir, 'dest'),
      );
    });
    await Promise.all(moves);
    for (let i = 0; i < 40; i++)
      expect(readFileSync(path.join(workDir, 'dest', `${i}.dcm`), 'utf8')).toBe(`object ${i}`);
  });

  it('says the rename failed, leaving the synced file where it was', async () => {
    const spool = spooled('b.part', 'kept');
    const dest = path.join(workDir, 'missing', 'b.dcm');
    const error = await mover
      .move(spool.fd, spool.path, dest, path.dirname(dest))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MoveError);
    expect(error).toMatchObject({ stage: 'rename', code: 'ENOENT' });
    expect(readFileSync(spool.path, 'utf8')).toBe('kept');
    expect(fileOpenAt(spool.fd)).toBeUndefined();
  });

  it('says the sync failed for a descriptor that is not open', async () => {
    const dest = path.join(workDir, 'dest', 'c.dcm');
    const error = await mover
      .move(100_000, path.join(workDir, 'c.part'), dest, path.dirname(dest))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'MoveError', stage: 'sync', code: 'EBADF' });
    expect(existsSync(dest)).toBe(false);
  });

  it('finishes the moves in progress when closed, then refuses new ones', async () => {
    const spool = spooled('d.part', 'last');
    const dest = path.join(workDir, 'dest', 'd.dcm');
    const moved = mover.move(spool.fd, spool.path, dest, path.dirname(dest));
    await mover.close();
    await moved;
    expect(readFileSync(dest, 'utf8')).toBe('last');
    const late = spooled('e.part', 'late');
    await expect(
      mover.move(
        late.fd,
        late.path,
        path.join(workDir, 'dest', 'e.dcm'),
        path.join(workDir, 'dest'),
      ),
    ).rejects.toThrow(/closed/);
    expect(fileOpenAt(late.fd)).toBeUndefined();
  });
});
