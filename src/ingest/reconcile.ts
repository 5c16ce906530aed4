import type { Logger } from 'pino';
import type { ObjectStore } from '../storage/object-store.js';
import type { IngestIndex } from './ports.js';
import { readStoredInstance } from './rebuild.js';

/** What settling a key needs. */
export interface ReconcileDeps {
  store: ObjectStore;
  index: IngestIndex;
  maxHeaderBytes: number;
  log: Logger;
}

/**
 * Make the index agree with what storage holds under `key` (storage is the truth): a complete
 * object the index does not know is indexed; a row whose object is absent is removed.
 * Returns true when it changed the index. Throws when it cannot decide (the note stays).
 */
export async function reconcileKey(
  { store, index, maxHeaderBytes, log }: ReconcileDeps,
  key: string,
  sopInstanceUid: string,
): Promise<boolean> {
  const indexed = index.findInstance(sopInstanceUid);
  if (!(await store.stat(key))) {
    if (indexed?.storageKey !== key) return false;
    await index.removeInstance(sopInstanceUid);
    log.warn({ key }, 'index row without its object removed');
    return true;
  }
  if (indexed && indexed.storageKey !== key && (await store.stat(indexed.storageKey))) {
    // Two objects for one SOP Instance UID (a replacement under new study or series UIDs):
    // the one the index points to stands, this one is superseded.
    await store.delete(key);
    log.warn({ key, indexedKey: indexed.storageKey }, 'superseded object removed');
    return true;
  }
  const stored = await readStoredInstance(store, key, maxHeaderBytes, log);
  if (indexed?.storageKey === key && indexed.datasetSha256 === stored.datasetSha256) return false;
  await index.commitInstances([stored], new Set([sopInstanceUid]));
  log.warn({ key }, 'stored object indexed after an interruption');
  return true;
}
