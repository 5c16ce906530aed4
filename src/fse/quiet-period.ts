import type { Logger } from 'pino';

/**
 * Calls `onQuiet(key)` once `quietMs` have passed without a new `touch(key)`: a study pushed
 * instance by instance is looked at once it has stopped arriving, not at every instance.
 */
export class QuietPeriod {
  #quietMs: number;
  #onQuiet: (key: string) => Promise<void>;
  #log: Logger;
  #timers = new Map<string, NodeJS.Timeout>();
  #running = new Set<Promise<void>>();
  #closed = false;

  constructor(quietMs: number, onQuiet: (key: string) => Promise<void>, log: Logger) {
    this.#quietMs = quietMs;
    this.#onQuiet = onQuiet;
    this.#log = log;
  }

  /** True while `key` has been touched and its quiet period is not over yet. */
  pending(key: string): boolean {
    return this.#timers.has(key);
  }

  /** The keys whose quiet period is not over yet. */
  pendingKeys(): string[] {
    return [...this.#timers.keys()];
  }

  touch(key: string): void {
    if (this.#closed) return;
    clearTimeout(this.#timers.get(key));
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      const run = this.#onQuiet(key)
        .catch((error: unknown) =>
          this.#log.error({ err: error, key }, 'handling a quiet study failed'),
        )
        .finally(() => this.#running.delete(run));
      this.#running.add(run);
    }, this.#quietMs);
    timer.unref();
    this.#timers.set(key, timer);
  }

  /** Forget pending keys and wait for the calls in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    await Promise.all([...this.#running]);
  }
}
