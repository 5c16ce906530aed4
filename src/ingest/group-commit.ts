import type { StoredInstance } from '../dicom/instance-metadata.js';
import type { IngestIndex } from './ports.js';

interface Waiter {
  item: StoredInstance;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit of index rows: instances whose storage became durable in the same turn of the
 * event loop are written in one transaction (one WAL fsync), however many associations sent them.
 */
export class GroupCommitter {
  #index: IngestIndex;
  #pending: Waiter[] = [];
  #scheduled = false;

  constructor(index: IngestIndex) {
    this.#index = index;
  }

  /** Resolves once the row is committed; rejects with the index error otherwise. */
  commit(item: StoredInstance): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    try {
      this.#index.commitInstances(batch.map((waiter) => waiter.item));
    } catch (error) {
      for (const waiter of batch) waiter.reject(error);
      return;
    }
    for (const waiter of batch) waiter.resolve();
  }
}
