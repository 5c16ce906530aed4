import type { StoredInstance } from '../dicom/instance-metadata.js';
import type { IngestIndex } from './ports.js';

interface Waiter {
  item: StoredInstance;
  replace: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit of index rows, however many associations sent them: while one transaction is
 * being committed (its WAL fsync included), the rows that arrive wait, and the next
 * transaction takes them all. One row alone is committed at once.
 */
export class GroupCommitter {
  #index: IngestIndex;
  #pending: Waiter[] = [];
  #running = false;

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
      if (!this.#running) {
        this.#running = true;
        // Rows that become ready in this same turn of the event loop join the first batch.
        setImmediate(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      await this.#flush(batch);
    }
    this.#running = false;
  }

  async #flush(batch: Waiter[]): Promise<void> {
    try {
      await this.#write(batch);
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      // One bad row must not fail the instances of other associations: retry them one by one.
      for (const waiter of batch) {
        try {
          await this.#write([waiter]);
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

  async #write(batch: Waiter[]): Promise<void> {
    const replace = new Set(
      batch.filter((w) => w.replace).map((w) => w.item.metadata.instance.uid),
    );
    await this.#index.commitInstances(
      batch.map((waiter) => waiter.item),
      replace,
    );
  }
}
