import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createObjectStore } from '../../../src/storage/create-store.js';
import type { ObjectInfo } from '../../../src/storage/object-store.js';
import { ObjectNotFoundError, StorageError } from '../../../src/storage/object-store.js';
import { S3Store } from '../../../src/storage/s3-store.js';
import { removeBucket, s3AdminClient, s3StoreOptions, uniqueBucket } from '../../helpers/s3.js';

const logger = pino({ level: 'silent' });

let bucket: string;
let spoolDir: string;
const stores: S3Store[] = [];

beforeEach(async () => {
  bucket = uniqueBucket('s3-store');
  spoolDir = await mkdtemp(path.join(os.tmpdir(), 's3-store-test-'));
});

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  await removeBucket(bucket);
  await rm(spoolDir, { recursive: true, force: true });
});

async function openStore(extra: Parameters<typeof s3StoreOptions>[1] = {}): Promise<S3Store> {
  const store = await S3Store.create(s3StoreOptions(bucket, { spoolDir, ...extra }), logger);
  stores.push(store);
  return store;
}

async function collect(items: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const all: ObjectInfo[] = [];
  for await (const item of items) all.push(item);
  return all.sort((a, b) => a.key.localeCompare(b.key));
}

describe('S3Store against Ceph RGW', () => {
  it('creates the bucket when missing and reuses it when present', async () => {
    const admin = s3AdminClient();
    expect(await admin.bucketExists(bucket)).toBe(false);
    const store = await openStore();
    expect(await admin.bucketExists(bucket)).toBe(true);
    expect(store.description).toBe(`s3:http://127.0.0.1:${inject('s3').port}/${bucket}/`);
    await openStore(); // a second daemon on the same bucket
  });

  it('round-trips put, read, stat, list and delete', async () => {
    const store = await openStore();
    const key = 'studies/1.2.3/1.2.3.4/1.2.3.4.5.dcm';
    const area = await store.openSpoolArea('test');
    const spool = area.createSpool();
    const body = Buffer.alloc(300_000, 7);
    spool.write([body.subarray(0, 1000), body.subarray(1000)]);
    spool.syncAhead();

    await spool.commit(key);

    expect(readdirSync(path.join(spoolDir, 'test'))).toEqual([]);
    await area.close();
    expect((await store.readBuffer(key)).equals(body)).toBe(true);
    const chunks: Buffer[] = [];
    for await (const chunk of await store.read(key)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
    expect(await store.stat(key)).toEqual({ key, sizeBytes: body.length });
    const head = await s3AdminClient().statObject(bucket, key);
    expect(head.metaData['content-type']).toBe('application/dicom');

    await store.putBuffer('manifests/1.2.3/9.9.dcm', Buffer.from('manifest'));
    await store.putBuffer('packages/p1.zip', Buffer.alloc(0));
    expect(await collect(store.list(''))).toEqual([
      { key: 'manifests/1.2.3/9.9.dcm', sizeBytes: 8 },
      { key: 'packages/p1.zip', sizeBytes: 0 },
      { key, sizeBytes: body.length },
    ]);
    expect(await collect(store.list('studies/1.2.3/1.2.3.'))).toEqual([
      { key, sizeBytes: body.length },
    ]);
    expect(await collect(store.list('studies/9'))).toEqual([]);

    await store.delete(key);
    expect(await store.stat(key)).toBeUndefined();
    await store.delete(key); // absent is not an error
    expect(await collect(store.list('studies/'))).toEqual([]);
  });

  it('lists past one page of results', async () => {
    const store = await openStore();
    // listObjectsV2 pages by 1000 keys; make sure the continuation is followed.
    const keys = Array.from({ length: 1005 }, (_, i) => `p/${String(i).padStart(4, '0')}.bin`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((key) => store.putBuffer(key, Buffer.from('x'))));
    }
    const listed = await collect(store.list('p/'));
    expect(listed.map((item) => item.key)).toEqual(keys);
  });

  it('keeps keys under its prefix and strips it in listings', async () => {
    const store = await openStore({ prefix: 'site-a' });
    expect(store.description.endsWith(`/${bucket}/site-a/`)).toBe(true);
    await store.putBuffer('packages/x.zip', Buffer.from('zip'));
    const names = [];
    for await (const item of s3AdminClient().listObjectsV2(bucket, '', true)) names.push(item.name);
    expect(names).toEqual(['site-a/packages/x.zip']);
    expect(await collect(store.list(''))).toEqual([{ key: 'packages/x.zip', sizeBytes: 3 }]);
  });

  it('maps absent objects to ObjectNotFoundError or undefined', async () => {
    const store = await openStore();
    await expect(store.readBuffer('missing.dcm')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(store.read('missing.dcm')).rejects.toMatchObject({
      name: 'ObjectNotFoundError',
      key: 'missing.dcm',
    });
    expect(await store.stat('missing.dcm')).toBeUndefined();
  });

  it('rejects unsafe keys before any request', async () => {
    const store = await openStore();
    for (const key of ['../x', '/abs', 'a//b', 'a\\b', '']) {
      await expect(store.putBuffer(key, Buffer.from('x'))).rejects.toBeInstanceOf(StorageError);
    }
    expect(await collect(store.list(''))).toEqual([]);
  });

  it('fails the commit of a spool whose file is gone with a StorageError, storing nothing', async () => {
    const store = await openStore();
    const area = await store.openSpoolArea('test');
    const spool = area.createSpool();
    spool.write(Buffer.from('never uploaded'));
    await rm(path.join(spoolDir, 'test'), { recursive: true });
    const error = await spool.commit('a/b.dcm').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StorageError);
    expect(await store.stat('a/b.dcm')).toBeUndefined();
    await area.close();
  });

  it('discards a spool without a request, and opens no spool area without a spool directory', async () => {
    const store = await openStore();
    const area = await store.openSpoolArea('test');
    const spool = area.createSpool();
    spool.write(Buffer.from('dropped'));
    await spool.discard();
    expect(readdirSync(path.join(spoolDir, 'test'))).toEqual([]);
    expect(await collect(store.list(''))).toEqual([]);
    await area.close();

    const without = await S3Store.create(s3StoreOptions(bucket), logger);
    stores.push(without);
    await expect(without.openSpoolArea('test')).rejects.toThrow(
      /no local spool directory was given/,
    );
  });

  it('gives a StorageError without the secret for bad credentials', async () => {
    const secretKey = 'WRONG-SECRET-do-not-leak-42';
    const attempt = S3Store.create(s3StoreOptions(bucket, { secretKey }), logger);
    const error = await attempt.catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toMatch(/SignatureDoesNotMatch|AccessDenied|Forbidden/);
    expect((error as Error).message).not.toContain(secretKey);
    expect(inspect(error, { depth: 10 })).not.toContain(secretKey);

    // A PUT gets an XML error body (with the string to sign), unlike the bucket HEAD above.
    await openStore();
    const wrongSecret = new S3Store(s3StoreOptions(bucket, { secretKey }), logger);
    stores.push(wrongSecret);
    const putError = await wrongSecret
      .putBuffer('a.bin', Buffer.from('a'))
      .catch((err: unknown) => err);
    expect(putError).toBeInstanceOf(StorageError);
    expect((putError as Error).message).toContain('SignatureDoesNotMatch');
    expect(inspect(putError, { depth: 10 })).not.toContain(secretKey);

    const badKey = S3Store.create(s3StoreOptions(bucket, { accessKey: 'NOSUCHKEY' }), logger);
    await expect(badKey).rejects.toBeInstanceOf(StorageError);
  });

  it('gives a StorageError when the server is down', async () => {
    const closedPort = await freePort();
    const attempt = S3Store.create(s3StoreOptions(bucket, { port: closedPort }), logger);
    await expect(attempt).rejects.toThrow(/ECONNREFUSED/);
    await expect(attempt).rejects.toBeInstanceOf(StorageError);
  });

  it('times out a server that accepts but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await listen(silent);
    try {
      const port = (silent.address() as AddressInfo).port;
      const started = Date.now();
      const attempt = S3Store.create(
        s3StoreOptions(bucket, { port, requestTimeoutMs: 300 }),
        logger,
      );
      await expect(attempt).rejects.toThrow(/no response from the S3 server for 300 ms/);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('validates options, naming the option but never the secret', () => {
    expect(() => new S3Store(s3StoreOptions(bucket, { port: 0 }))).toThrow(/port/);
    expect(() => new S3Store(s3StoreOptions('Bad_Bucket'))).toThrow(/bucket.*Bad_Bucket/);
    expect(() => new S3Store(s3StoreOptions(bucket, { endPoint: 'http://x' }))).toThrow(/endPoint/);
    expect(() => new S3Store(s3StoreOptions(bucket, { secretKey: '' }))).toThrow(/secretKey/);
  });

  it('is built by createObjectStore for kind s3', async () => {
    const store = await createObjectStore({ kind: 's3', ...s3StoreOptions(bucket) }, logger);
    try {
      await store.putBuffer('a.bin', Buffer.from('a'));
      expect(await store.stat('a.bin')).toEqual({ key: 'a.bin', sizeBytes: 1 });
    } finally {
      await store.close();
    }
  });
});

async function listen(server: Server): Promise<void> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
}

async function freePort(): Promise<number> {
  const server = createServer();
  await listen(server);
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
