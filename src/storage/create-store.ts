import type { Logger } from 'pino';
import { FilesystemStore, removeStaleTempFiles } from './fs-store.js';
import type { FilesystemStoreOptions } from './fs-store.js';
import type { ObjectStore } from './object-store.js';
import { StorageError } from './object-store.js';
import { S3Store } from './s3-store.js';
import type { S3StoreOptions } from './s3-store.js';

/** Which object store to use, with that store's options. */
export type StorageConfig =
  ({ kind: 'fs' } & FilesystemStoreOptions) | ({ kind: 's3' } & S3StoreOptions);

/** Where the store keeps what is not an object. */
export interface LocalDirs {
  /**
   * Directory of the spool areas. Default for the filesystem store `<rootDir>/.spool`; an S3
   * store without one cannot open spool areas.
   */
  spoolDir?: string;
}

/**
 * Builds the configured object store, ready for writes. For the filesystem store this first
 * removes temp files that a crash left behind, so call it once at start-up, before anything
 * writes, and not from a second process sharing the same directory. For S3 it creates the
 * bucket when missing.
 */
export async function createObjectStore(
  config: StorageConfig,
  logger: Logger,
  local: LocalDirs = {},
): Promise<ObjectStore> {
  switch (config.kind) {
    case 'fs': {
      const store = new FilesystemStore(
        { rootDir: config.rootDir, spoolDir: local.spoolDir ?? config.spoolDir },
        logger,
      );
      const removed = await removeStaleTempFiles(config.rootDir);
      await store.start().catch(async (error: unknown) => {
        await store.close();
        throw error;
      });
      if (removed > 0) {
        logger.warn({ removed, rootDir: config.rootDir }, 'removed temp files left by a crash');
      }
      return store;
    }
    case 's3':
      return S3Store.create({ ...config, spoolDir: local.spoolDir ?? config.spoolDir }, logger);
    default: {
      const unknown: never = config;
      throw new StorageError(
        `storage kind must be "fs" or "s3", got ${JSON.stringify((unknown as { kind?: unknown }).kind)}`,
      );
    }
  }
}
