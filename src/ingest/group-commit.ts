import type { StoredInstance } from '../dicom/instance-metadata.js';
import type { IngestIndex } from './ports.js';

interface Waiter {
  item: StoredInstance;
  replace: boolean;
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

  /**
   * Resolves once the row is committed; rejects with the index error otherwise. With `replace`
   * the row takes the place of the one indexed for the same SOP Instance UID.
   */
  commit(item: StoredInstance, replace = false): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ item, replace, resolve, reject });
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
      this.#write(batch);
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      // One bad row must not fail the instances of other associations: retry them one by one.
      for (const waiter of batch) {
        try {
          this.#write([waiter]);
        } catch (single) {
          waiter.reject(single);
          continue;
        }
        waiter.resolve();
      }
      return;
    }
    for (const waiter of batch) waiter.resolve();
  }

  #write(batch: Waiter[]): void {
    const replace = new Set(
      batch.filter((w) => w.replace).map((w) => w.item.metadata.instance.uid),
    );
    this.#index.commitInstances(
      batch.map((waiter) => waiter.item),
      replace,
    );
  }
}
