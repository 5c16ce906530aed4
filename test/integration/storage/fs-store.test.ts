import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createObjectStore } from '../../../src/storage/create-store.js';
import { FilesystemStore, removeStaleTempFiles } from '../../../src/storage/fs-store.js';
import type { ObjectInfo, Spool, SpoolArea } from '../../../src/storage/object-store.js';
import { ObjectNotFoundError, StorageError } from '../../../src/storage/object-store.js';

const logger = pino({ level: 'silent' });

let workDir: string;
let rootDir: string;
let spoolDir: string;
let store: FilesystemStore;
let area: SpoolArea;

beforeEach(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'fs-store-test-'));
  rootDir = path.join(workDir, 'objects');
  spoolDir = path.join(workDir, 'spool');
  store = new FilesystemStore({ rootDir, spoolDir }, logger);
  area = await store.openSpoolArea('test');
});

afterEach(async () => {
  await area.close();
  await store.close();
  await rm(workDir, { recursive: true, force: true });
});

/** A spool of `area` holding `content`. */
function spool(content: string | Buffer, from = area): Spool {
  const spooled = from.createSpool();
  spooled.write(Buffer.from(content));
  return spooled;
}

async function collect(items: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const all: ObjectInfo[] = [];
  for await (const item of items) all.push(item);
  return all.sort((a, b) => a.key.localeCompare(b.key));
}

/** Every file under `dir`, relative, so tests can assert that no temp file is left. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

describe('FilesystemStore', () => {
  it('describes itself by its absolute root', () => {
    expect(store.description).toBe(`fs:${rootDir}`);
  });

  it('round-trips put, read, stat, list and delete', async () => {
    const key = 'studies/1.2.3/1.2.3.4/1.2.3.4.5.dcm';

    await spool('DICM bytes').commit(key);

    expect(await filesUnder(spoolDir)).toEqual([]);
    expect((await store.readBuffer(key)).toString()).toBe('DICM bytes');
    const chunks: Buffer[] = [];
    for await (const chunk of await store.read(key)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('DICM bytes');
    expect(await store.stat(key)).toEqual({ key, sizeBytes: 10 });

    await store.putBuffer('manifests/1.2.3/9.9.dcm', Buffer.from('manifest'));
    await store.putBuffer('packages/p1.zip', Buffer.alloc(0));
    expect(await collect(store.list(''))).toEqual([
      { key: 'manifests/1.2.3/9.9.dcm', sizeBytes: 8 },
      { key: 'packages/p1.zip', sizeBytes: 0 },
      { key, sizeBytes: 10 },
    ]);
    expect(await collect(store.list('studies/'))).toEqual([{ key, sizeBytes: 10 }]);
    expect(await collect(store.list('studies/1.2.3/1.2.3.'))).toEqual([{ key, sizeBytes: 10 }]);
    expect(await collect(store.list('studies/1.2.4'))).toEqual([]);
    expect(await collect(store.list('nothing/here/'))).toEqual([]);

    await store.delete(key);
    expect(await store.stat(key)).toBeUndefined();
    await store.delete(key); // absent is not an error
    expect(await collect(store.list('studies/'))).toEqual([]);
  });

  it('replaces an existing object whole', async () => {
    await store.putBuffer('a/b.bin', Buffer.from('first version'));
    await spool('second').commit('a/b.bin');
    expect((await store.readBuffer('a/b.bin')).toString()).toBe('second');
  });

  it('reports absent objects as ObjectNotFoundError or undefined', async () => {
    await store.putBuffer('dir/file.bin', Buffer.from('x'));
    for (const key of ['missing.bin', 'dir/missing.bin', 'dir', 'dir/file.bin/below']) {
      await expect(store.readBuffer(key)).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(store.read(key)).rejects.toBeInstanceOf(ObjectNotFoundError);
      expect(await store.stat(key)).toBeUndefined();
    }
    await expect(store.readBuffer('missing.bin')).rejects.toMatchObject({ key: 'missing.bin' });
  });

  it.each([
    ['/etc/passwd', 'absolute'],
    ['studies/../../etc/passwd', '".." segment'],
    ['..', '".." segment'],
    ['studies/./x.dcm', '"." segment'],
    ['studies\\x.dcm', 'backslash'],
    ['studies/x\0.dcm', 'NUL'],
    ['studies//x.dcm', 'empty segment'],
    ['studies/x.dcm/', 'empty segment'],
    ['', 'empty'],
    ['studies/x.dcm.tmp-0123456789ab', 'temp file'],
  ])('rejects the key %j (%s) with a StorageError naming it', async (key, problem) => {
    const error = await spool('x')
      .commit(key)
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain(JSON.stringify(key).slice(0, 20));
    expect((error as Error).message).toContain(problem);
    await expect(store.putBuffer(key, Buffer.from('x'))).rejects.toBeInstanceOf(StorageError);
    await expect(store.readBuffer(key)).rejects.toBeInstanceOf(StorageError);
    await expect(store.stat(key)).rejects.toBeInstanceOf(StorageError);
    await expect(store.delete(key)).rejects.toBeInstanceOf(StorageError);
    // The spool is gone, and nothing was written anywhere.
    expect(await filesUnder(workDir)).toEqual([]);
  });

  it('rejects listing prefixes that escape the root', async () => {
    await expect(collect(store.list('../'))).rejects.toBeInstanceOf(StorageError);
    await expect(collect(store.list('/etc'))).rejects.toBeInstanceOf(StorageError);
  });

  it('leaves no temp files after many concurrent writes into new directories', async () => {
    const writes = [];
    for (let i = 0; i < 40; i++) {
      const key = `studies/1.2/1.2.${i % 4}/1.2.${i % 4}.${i}.dcm`;
      writes.push(
        i % 2 === 0
          ? store.putBuffer(key, Buffer.from(`object ${i}`))
          : spool(`object ${i}`).commit(key),
      );
    }
    await Promise.all(writes);
    const files = await filesUnder(rootDir);
    expect(files).toHaveLength(40);
    expect(files.filter((file) => file.includes('.tmp-'))).toEqual([]);
    expect(await filesUnder(spoolDir)).toEqual([]);
    expect((await store.readBuffer('studies/1.2/1.2.3/1.2.3.7.dcm')).toString()).toBe('object 7');
  });

  it('fails the commit of a spool whose file was removed, and leaves nothing under the key', async () => {
    const spooled = spool('removed');
    await rm(path.join(spoolDir, 'test'), { recursive: true });
    const error = await spooled.commit('a/b.dcm').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain('a/b.dcm');
    expect(await store.stat('a/b.dcm')).toBeUndefined();
  });

  it('recreates a directory removed behind its back', async () => {
    await store.putBuffer('studies/1/1.1/a.dcm', Buffer.from('a'));
    await rm(path.join(rootDir, 'studies'), { recursive: true });
    await spool('b').commit('studies/1/1.1/b.dcm');
    expect((await store.readBuffer('studies/1/1.1/b.dcm')).toString()).toBe('b');
  });

  const shm = '/dev/shm';
  const crossDevice = safeDev(shm) !== undefined && safeDev(shm) !== safeDev(os.tmpdir());
  it.runIf(crossDevice)('copies a spool file from another filesystem (EXDEV)', async () => {
    const otherSpool = await mkdtemp(path.join(shm, 'fs-store-test-'));
    const other = new FilesystemStore({ rootDir, spoolDir: otherSpool }, logger);
    try {
      const otherArea = await other.openSpoolArea('test');
      await spool('from tmpfs', otherArea).commit('studies/9/9.9/x.dcm');
      await otherArea.close();
      expect((await store.readBuffer('studies/9/9.9/x.dcm')).toString()).toBe('from tmpfs');
      expect(await filesUnder(otherSpool)).toEqual([]);
      expect(await filesUnder(rootDir)).toEqual(['studies/9/9.9/x.dcm']);
    } finally {
      await other.close();
      await rm(otherSpool, { recursive: true, force: true });
    }
  });
});

describe('removeStaleTempFiles', () => {
  it('empties the temp directory, counts what it removed, and leaves objects alone', async () => {
    await store.putBuffer('studies/1/1.1/keep.dcm', Buffer.from('keep'));
    await mkdir(path.join(rootDir, '.tmp'), { recursive: true });
    await writeFile(path.join(rootDir, '.tmp/keep.dcm.tmp-0123456789ab'), 'half');
    await writeFile(path.join(rootDir, '.tmp/other.dcm.tmp-ba9876543210'), 'half');
    await mkdir(path.join(rootDir, '.spool'), { recursive: true });
    await writeFile(path.join(rootDir, '.spool/in-flight.part'), 'spool');

    // Listings never show the store's working directories, even before the clean-up.
    expect((await collect(store.list(''))).map((item) => item.key)).toEqual([
      'studies/1/1.1/keep.dcm',
    ]);

    expect(await removeStaleTempFiles(rootDir)).toBe(2);
    expect(await filesUnder(rootDir)).toEqual(['.spool/in-flight.part', 'studies/1/1.1/keep.dcm']);
    expect(await removeStaleTempFiles(rootDir)).toBe(0);
  });

  it('returns 0 for a root that does not exist yet', async () => {
    expect(await removeStaleTempFiles(path.join(workDir, 'nowhere'))).toBe(0);
  });

  it('runs when the store is created through createObjectStore', async () => {
    await mkdir(path.join(rootDir, '.tmp'), { recursive: true });
    await writeFile(path.join(rootDir, '.tmp/b.dcm.tmp-0123456789ab'), 'half');
    const created = await createObjectStore({ kind: 'fs', rootDir }, logger);
    try {
      expect(created.description).toBe(`fs:${rootDir}`);
      expect(await filesUnder(rootDir)).toEqual([]);
    } finally {
      await created.close();
    }
  });
});

function safeDev(dir: string): number | undefined {
  try {
    return statSync(dir).dev;
  } catch {
    return undefined;
  }
}
