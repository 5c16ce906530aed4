import { randomBytes } from 'node:crypto';
import { Client, S3Error } from 'minio';
import type { BucketItem } from 'minio';
import { inject } from 'vitest';
import type { S3StoreOptions } from '../../src/storage/s3-store.js';

/** The S3 server started once per test run by `global-setup.ts` (Ceph RADOS gateway). */
export interface S3TestServer {
  endPoint: string;
  port: number;
  accessKey: string;
  secretKey: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3TestServer;
  }
}

/** Region the tests sign with; Ceph's default zonegroup accepts it. */
export const TEST_REGION = 'us-east-1';

/**
 * A bucket name no other test (or earlier run) uses: lower-case `prefix`, a time stamp and
 * random hex, within the 3–63 characters S3 allows.
 */
export function uniqueBucket(prefix: string): string {
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 30);
  return `${clean || 'test'}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** The `storage` section of a bridge configuration for the S3 server of this run. */
export function s3StorageConfig(bucket: string): Record<string, unknown> {
  return { kind: 's3', s3: s3StoreOptions(bucket) };
}

/** Options for an `S3Store` on the test server, bucket and extra options as given. */
export function s3StoreOptions(
  bucket: string,
  extra: Partial<S3StoreOptions> = {},
): S3StoreOptions {
  const server = inject('s3');
  return {
    endPoint: server.endPoint,
    port: server.port,
    useSSL: false,
    accessKey: server.accessKey,
    secretKey: server.secretKey,
    bucket,
    region: TEST_REGION,
    ...extra,
  };
}

/** A plain minio client on the test server, to look at buckets behind the store's back. */
export function s3AdminClient(): Client {
  const server = inject('s3');
  return new Client({
    endPoint: server.endPoint,
    port: server.port,
    useSSL: false,
    accessKey: server.accessKey,
    secretKey: server.secretKey,
    region: TEST_REGION,
  });
}

/** The keys of every object in `bucket`, sorted. */
export async function bucketKeys(bucket: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of s3AdminClient().listObjectsV2(
    bucket,
    '',
    true,
  ) as AsyncIterable<BucketItem>)
    if (item.name) keys.push(item.name);
  return keys.sort();
}

/** Removes every object in `bucket` and then the bucket; a missing bucket is fine. */
export async function removeBucket(
  bucket: string,
  client: Client = s3AdminClient(),
): Promise<void> {
  try {
    const names: string[] = [];
    for await (const item of client.listObjectsV2(bucket, '', true) as AsyncIterable<BucketItem>) {
      if (item.name !== undefined) names.push(item.name);
    }
    if (names.length > 0) await client.removeObjects(bucket, names);
    await client.removeBucket(bucket);
  } catch (err) {
    if (err instanceof S3Error && err.code === 'NoSuchBucket') return;
    throw err;
  }
}
