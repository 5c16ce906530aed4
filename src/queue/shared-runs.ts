interface Run<T> {
  promise: Promise<T>;
  controller: AbortController;
  /** Callers with a signal still waiting. */
  waiting: number;
  /** A caller without a signal waits: the run is never given up. */
  kept: boolean;
}

/**
 * Runs of a piece of work keyed by a string (one retrieve of a study, one linking run of a
 * report), shared by the callers that ask for the same key while it runs. A caller may bring an
 * AbortSignal: when it aborts, that caller stops waiting. The run itself is aborted only when
 * no caller is left waiting for it (a caller without a signal keeps it going to its end), and
 * the last caller to give it up is answered only once the run has stopped, so that whoever
 * gives up a piece of work knows when it has ended. A run given up is forgotten at once: the
 * next caller for its key starts a new one.
 */
export class SharedRuns<T> {
  #live = new Map<string, Run<T>>();
  #all = new Set<Promise<T>>();

  /** The run in progress for `key`, if any. */
  current(key: string): Promise<T> | undefined {
    return this.#live.get(key)?.promise;
  }

  /** Join the run in progress for `key`, or start one with `start`. */
  run(key: string, start: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    let run = this.#live.get(key);
    if (!run) {
      const controller = new AbortController();
      const created: Run<T> = {
        promise: start(controller.signal).finally(() => {
          if (this.#live.get(key) === created) this.#live.delete(key);
          this.#all.delete(created.promise);
        }),
        controller,
        waiting: 0,
        kept: false,
      };
      run = created;
      this.#live.set(key, run);
      this.#all.add(run.promise);
    }
    return this.#join(key, run, signal);
  }

  /** Resolves once no run is in progress, those given up included (shutdown). */
  async idle(): Promise<void> {
    while (this.#all.size > 0) await Promise.allSettled([...this.#all]);
  }

  #join(key: string, run: Run<T>, signal: AbortSignal | undefined): Promise<T> {
    if (!signal) {
      run.kept = true;
      return run.promise;
    }
    run.waiting++;
    return new Promise<T>((resolve, reject) => {
      let gaveUp = false;
      const onAbort = (): void => {
        gaveUp = true;
        run.waiting--;
        if (run.kept || run.waiting > 0) {
          reject(signal.reason as Error);
          return;
        }
        if (this.#live.get(key) === run) this.#live.delete(key);
        run.controller.abort(signal.reason);
        const stopped = (): void => reject(signal.reason as Error);
        run.promise.then(stopped, stopped);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      run.promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          if (!gaveUp) resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          if (!gaveUp) reject(error as Error);
        },
      );
    });
  }
}
