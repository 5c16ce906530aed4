import { readdirSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FilesystemStore } from '../../../src/storage/fs-store.js';
import { StorageError, type SpoolArea } from '../../../src/storage/object-store.js';

/*
 * The spools of the filesystem store, as its users see them through the port: data written
 * in gathered batches, made durable under a key or dropped, never visible half-written; one
 * area per user, emptied of what an earlier run left when that user opens it, and of nothing
 * else.
 */

const logger = pino({ level: 'silent' });

let workDir: string;
let rootDir: string;
let spoolDir: string;
let store: FilesystemStore;
const areas: SpoolArea[] = [];

beforeEach(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'spool-areas-test-'));
  rootDir = path.join(workDir, 'objects');
  spoolDir = path.join(rootDir, '.spool');
  store = new FilesystemStore({ rootDir }, logger);
});

afterEach(async () => {
  for (const area of areas.splice(0)) await area.close();
  await store.close();
  await rm(workDir, { recursive: true, force: true });
});

async function open(name: string, prepared = 0): Promise<SpoolArea> {
  const area = await store.openSpoolArea(name, { prepared });
  areas.push(area);
  return area;
}

const filesIn = (area: string): string[] => readdirSync(path.join(spoolDir, area)).sort();

describe('a spool of the filesystem store', () => {
  it('keeps what it was given, in order, and stores it whole under its key', async () => {
    const area = await open('test');
    const spool = area.createSpool();
    const chunks = Array.from({ length: 300 }, (_, i) => Buffer.alloc(1000 + i, i));
    spool.write(chunks.slice(0, 10));
    for (const chunk of chunks.slice(10)) spool.write(chunk);
    const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    expect(spool.bytes).toBe(total);
    // Nothing is visible under the key before the commit.
    expect(await store.stat('studies/1/1.1/a.dcm')).toBeUndefined();

    await spool.commit('studies/1/1.1/a.dcm');

    expect((await store.readBuffer('studies/1/1.1/a.dcm')).equals(Buffer.concat(chunks))).toBe(
      true,
    );
    expect(filesIn('test')).toEqual([]);
    // Committed: nothing left to discard, and it cannot be committed again.
    await spool.discard();
    expect(await store.stat('studies/1/1.1/a.dcm')).toEqual({
      key: 'studies/1/1.1/a.dcm',
      sizeBytes: total,
    });
    await expect(spool.commit('studies/1/1.1/b.dcm')).rejects.toBeInstanceOf(StorageError);
  });

  it('stores data whose sync was started ahead of the commit', async () => {
    const area = await open('test');
    const spool = area.createSpool();
    spool.write(Buffer.from('synced ahead'));
    spool.end();
    spool.syncAhead();
    await spool.commit('a/b.bin');
    expect((await store.readBuffer('a/b.bin')).toString()).toBe('synced ahead');
  });

  it('drops what it was given when discarded, and takes nothing more', async () => {
    const area = await open('test');
    const spool = area.createSpool();
    spool.write(Buffer.from('dropped'));
    expect(filesIn('test')).toHaveLength(1);
    await Promise.all([spool.discard(), spool.discard()]);
    expect(filesIn('test')).toEqual([]);
    expect(() => spool.write(Buffer.from('late'))).toThrow(StorageError);
    const error = await spool.commit('a/b.bin').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain('a/b.bin');
    expect(await store.stat('a/b.bin')).toBeUndefined();
  });
});

describe('spool areas of the filesystem store', () => {
  it('empties an area of what an earlier run left, counting the spools that held data, and no other area', async () => {
    await mkdir(path.join(spoolDir, 'ingest'), { recursive: true });
    await mkdir(path.join(spoolDir, 'packages'), { recursive: true });
    writeFileSync(path.join(spoolDir, 'ingest', 'in-flight.part'), 'half an instance');
    writeFileSync(path.join(spoolDir, 'ingest', 'prepared.part'), '');
    writeFileSync(path.join(spoolDir, 'packages', 'being-built.part'), 'PK');

    const ingest = await open('ingest', 2);

    expect(ingest.leftovers).toBe(1);
    // Only the spools it prepared ahead are in its area now; the other area is as it was.
    expect(filesIn('ingest')).toHaveLength(2);
    expect(filesIn('packages')).toEqual(['being-built.part']);
    await ingest.close();
    expect(filesIn('ingest')).toEqual([]);
  });

  it('hands out the spools it prepared ahead, then new ones', async () => {
    const area = await open('test', 2);
    const prepared = filesIn('test');
    const spools = [area.createSpool(), area.createSpool(), area.createSpool()];
    spools.forEach((spool, i) => spool.write(Buffer.from(`object ${i}`)));
    await Promise.all(spools.map((spool, i) => spool.commit(`x/${i}.bin`)));
    for (let i = 0; i < 3; i++)
      expect((await store.readBuffer(`x/${i}.bin`)).toString()).toBe(`object ${i}`);
    // The two prepared ahead were used, and the area prepared others meanwhile.
    expect(filesIn('test').filter((name) => prepared.includes(name))).toEqual([]);
  });

  it('opens an area once at a time, under a name that is a plain directory name', async () => {
    const first = await open('ingest');
    await expect(store.openSpoolArea('ingest')).rejects.toThrow(/open already/);
    await first.close();
    await open('ingest');
    for (const name of ['', '..', 'a/b', '.spool', 'Ingest'])
      await expect(store.openSpoolArea(name)).rejects.toThrow(/invalid spool area name/);
  });

  it('takes no spool from an area closed', async () => {
    const area = await open('test');
    await area.close();
    expect(() => area.createSpool()).toThrow(StorageError);
  });
});
