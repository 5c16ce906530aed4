import { closeSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import path from 'node:path';
import { unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { Client, S3Error } from 'minio';
import type { BucketItem } from 'minio';
import type { Logger } from 'pino';
import {
  ObjectNotFoundError,
  StorageError,
  assertValidKey,
  assertValidPrefix,
} from './object-store.js';
import type { ObjectInfo, ObjectStore, SpoolArea, SpoolAreaOptions } from './object-store.js';
import { LocalSpoolAreas, type SpooledFile } from './local-spool.js';

const SECOND = 1000;

/** Options of {@link S3Store}. */
export interface S3StoreOptions {
  /** Host name or IP address of the S3 server, without scheme or port. */
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  /** Never logged and never part of an error message. */
  secretKey: string;
  bucket: string;
  /** Region used for signing and for creating the bucket, e.g. `us-east-1`. */
  region: string;
  /** Prepended to every key, so several deployments can share a bucket; `/` added if missing. */
  prefix?: string;
  /** A request that sends or receives nothing for this long fails. Default 30 s. */
  requestTimeoutMs?: number;
  /**
   * Local directory of the spool areas (objects are written there before their PUT); without
   * one, no spool area can be opened.
   */
  spoolDir?: string;
}

// Error codes minio-js reports for an absent object: S3 XML error for GET, bare 404 for HEAD.
const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NotFound']);
const BUCKET_NAME_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Object store on any S3-compatible server (MinIO, Ceph RGW, AWS) through the minio client.
 * A PUT is atomic on S3, so an object is either absent or complete; a spool's `commit`
 * resolves only after the server acknowledged it.
 */
export class S3Store implements ObjectStore {
  readonly description: string;
  readonly #client: Client;
  readonly #agent: http.Agent;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #secretKey: string;
  readonly #log: Logger | undefined;
  /** Spools are never synced: the server makes the object durable, not a local sync. */
  readonly #spools: LocalSpoolAreas;

  /** Prefer {@link S3Store.create}, which also makes sure the bucket exists. */
  constructor(options: S3StoreOptions, logger?: Logger) {
    validateOptions(options);
    const timeoutMs = options.requestTimeoutMs ?? 30 * SECOND;
    this.#agent = createIdleTimeoutAgent(options.useSSL, timeoutMs);
    this.#client = new Client({
      endPoint: options.endPoint,
      port: options.port,
      useSSL: options.useSSL,
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      region: options.region,
      transportAgent: this.#agent,
      // minio's own retry writes to console and cannot replay a streamed file body; a failed
      // store is reported to the sender, which retries the whole transfer.
      retryOptions: { disableRetry: true },
    });
    this.#bucket = options.bucket;
    const prefix = options.prefix ?? '';
    this.#prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    if (this.#prefix !== '') assertValidPrefix(this.#prefix);
    this.#secretKey = options.secretKey;
    const scheme = options.useSSL ? 'https' : 'http';
    this.description = `s3:${scheme}://${options.endPoint}:${options.port}/${this.#bucket}/${this.#prefix}`;
    this.#log = logger?.child({ component: 's3-store' });
    this.#spools = new LocalSpoolAreas(
      options.spoolDir === undefined ? undefined : path.resolve(options.spoolDir),
      { syncsData: false, place: (file, key) => this.#putFile(file, key) },
    );
  }

  /**
   * Connects to the server and creates the bucket when it does not exist yet. Rejects with
   * `StorageError` when the server cannot be reached or refuses the credentials.
   */
  static async create(options: S3StoreOptions, logger: Logger): Promise<S3Store> {
    const store = new S3Store(options, logger);
    try {
      await store.#ensureBucket(options.region);
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  openSpoolArea(name: string, options?: SpoolAreaOptions): Promise<SpoolArea> {
    return this.#spools.open(name, options);
  }

  /** Upload a spooled file, which the upload reads by its path. */
  async #putFile(file: SpooledFile, key: string): Promise<void> {
    await file.synced?.catch(() => undefined);
    closeSync(file.fd);
    const name = this.#nameOf(key);
    try {
      await this.#client.fPutObject(this.#bucket, name, file.path, {
        'Content-Type': contentTypeOf(key),
      });
    } catch (err) {
      throw this.#mapError(err, 'PUT', key);
    }
    // The object is durable now; a spool file left behind is garbage, not a failed store.
    await unlink(file.path).catch((err: unknown) => {
      this.#log?.warn({ err, spoolPath: file.path }, 'cannot remove spool file after upload');
    });
  }

  async putBuffer(key: string, data: Buffer): Promise<void> {
    const name = this.#nameOf(key);
    try {
      await this.#client.putObject(this.#bucket, name, data, data.length, {
        'Content-Type': contentTypeOf(key),
      });
    } catch (err) {
      throw this.#mapError(err, 'PUT', key);
    }
  }

  async read(key: string): Promise<Readable> {
    const name = this.#nameOf(key);
    try {
      return await this.#client.getObject(this.#bucket, name);
    } catch (err) {
      throw this.#mapError(err, 'GET', key);
    }
  }

  async readBuffer(key: string): Promise<Buffer> {
    const body = await this.read(key);
    try {
      return Buffer.concat((await body.toArray()) as Buffer[]);
    } catch (err) {
      throw this.#mapError(err, 'GET', key);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const name = this.#nameOf(key);
    try {
      const info = await this.#client.statObject(this.#bucket, name);
      return { key, sizeBytes: info.size };
    } catch (err) {
      const mapped = this.#mapError(err, 'HEAD', key);
      if (mapped instanceof ObjectNotFoundError) return undefined;
      throw mapped;
    }
  }

  async delete(key: string): Promise<void> {
    const name = this.#nameOf(key);
    try {
      await this.#client.removeObject(this.#bucket, name);
    } catch (err) {
      const mapped = this.#mapError(err, 'DELETE', key);
      if (!(mapped instanceof ObjectNotFoundError)) throw mapped;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    try {
      const items = this.#client.listObjectsV2(this.#bucket, this.#prefix + prefix, true);
      for await (const item of items as AsyncIterable<BucketItem>) {
        // Recursive listings have no common prefixes, but the type allows them.
        if (item.name === undefined) continue;
        yield { key: item.name.slice(this.#prefix.length), sizeBytes: item.size };
      }
    } catch (err) {
      throw this.#mapError(err, `LIST ${JSON.stringify(prefix)}`);
    }
  }

  async close(): Promise<void> {
    this.#agent.destroy();
  }

  async #ensureBucket(region: string): Promise<void> {
    try {
      if (await this.#client.bucketExists(this.#bucket)) return;
      await this.#client.makeBucket(this.#bucket, region);
      this.#log?.info({ bucket: this.#bucket }, 'created bucket');
    } catch (err) {
      // Another daemon sharing the bucket may have created it between the two calls.
      if (err instanceof S3Error && err.code === 'BucketAlreadyOwnedByYou') return;
      throw this.#mapError(err, 'bucket check/create');
    }
  }

  #nameOf(key: string): string {
    assertValidKey(key);
    return this.#prefix + key;
  }

  /** Maps a minio or network error; the message never carries the secret key. */
  #mapError(err: unknown, operation: string, key?: string): Error {
    if (err instanceof StorageError || err instanceof ObjectNotFoundError) return err;
    const code = err instanceof S3Error ? err.code : (err as NodeJS.ErrnoException | null)?.code;
    if (key !== undefined && code !== undefined && NOT_FOUND_CODES.has(code)) {
      return new ObjectNotFoundError(key, { cause: err });
    }
    const detail = err instanceof Error ? err.message : String(err);
    const text = [code, detail].filter((part) => part !== undefined && part !== '').join(': ');
    const where = key === undefined ? this.#bucket : `${this.#bucket}, key ${JSON.stringify(key)}`;
    const message = `S3 ${operation} failed (bucket ${where}): ${text}`;
    return new StorageError(this.#redact(message), { cause: err });
  }

  #redact(text: string): string {
    return this.#secretKey === '' ? text : text.split(this.#secretKey).join('[redacted]');
  }
}

function validateOptions(options: S3StoreOptions): void {
  const fail = (option: string, value: unknown, expected: string): never => {
    throw new StorageError(`S3 option ${option} must be ${expected}, got ${JSON.stringify(value)}`);
  };
  if (
    typeof options.endPoint !== 'string' ||
    options.endPoint === '' ||
    /[/:]/.test(options.endPoint)
  ) {
    fail('endPoint', options.endPoint, 'a host name or IP address without scheme or port');
  }
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
    fail('port', options.port, 'an integer from 1 to 65535');
  }
  if (typeof options.accessKey !== 'string' || options.accessKey === '') {
    fail('accessKey', options.accessKey, 'a non-empty string');
  }
  if (typeof options.secretKey !== 'string' || options.secretKey === '') {
    // The value itself is never echoed.
    throw new StorageError('S3 option secretKey must be a non-empty string');
  }
  if (typeof options.bucket !== 'string' || !BUCKET_NAME_PATTERN.test(options.bucket)) {
    fail('bucket', options.bucket, 'a valid S3 bucket name (3-63 of a-z 0-9 . -)');
  }
  if (typeof options.region !== 'string' || options.region === '') {
    fail('region', options.region, 'a non-empty string');
  }
  if (
    options.spoolDir !== undefined &&
    (typeof options.spoolDir !== 'string' || options.spoolDir === '')
  ) {
    fail('spoolDir', options.spoolDir, 'a non-empty path');
  }
  const timeoutMs = options.requestTimeoutMs;
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs <= 0)) {
    fail('requestTimeoutMs', timeoutMs, 'a positive integer');
  }
}

/**
 * minio has no request timeout, and a server that stops answering would hold a C-STORE
 * forever. This agent destroys any socket idle for `timeoutMs`, which fails the request in
 * flight; idle time (not total time) so that large uploads on a slow link still succeed.
 */
function createIdleTimeoutAgent(useSSL: boolean, timeoutMs: number): http.Agent {
  // The agent re-applies `timeout` to sockets it keeps alive, so set it there as well.
  const options = { keepAlive: true, timeout: timeoutMs };
  const agent = useSSL ? new https.Agent(options) : new http.Agent(options);
  const createConnection = agent.createConnection.bind(agent);
  agent.createConnection = (connectOptions, callback) => {
    const socket = createConnection(connectOptions, callback) as Socket | null | undefined;
    socket?.setTimeout(timeoutMs);
    socket?.on('timeout', () => {
      socket.destroy(new Error(`no response from the S3 server for ${timeoutMs} ms`));
    });
    return socket;
  };
  return agent;
}

function contentTypeOf(key: string): string {
  if (key.endsWith('.dcm')) return 'application/dicom';
  if (key.endsWith('.zip')) return 'application/zip';
  return 'application/octet-stream';
}
