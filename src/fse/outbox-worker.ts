import type { Logger } from 'pino';
import type { DeliveryOutcome } from './fse-notifier.js';
import type { OutboxEntry, OutboxItem } from './outbox-entry.js';
import type { EnqueueResult, OutboxStore } from './outbox-store.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
/** Later than any attempt time (and still a 4-digit year: times compare as text). */
const END_OF_TIME = new Date('9999-12-31T23:59:59.999Z');

/** How the worker paces itself; every value in milliseconds except the counts. */
export interface OutboxWorkerOptions {
  /**
   * Longest sleep between two looks at the table. The worker also wakes when something is
   * enqueued through it and when a retry falls due, so this only bounds how late it notices
   * rows written by another process (a `resend` from the CLI).
   */
  pollIntervalMs: number;
  /** Attempts in flight at once. */
  maxInFlight: number;
  /** Backoff before the first retry (before jitter). */
  retryBaseDelayMs: number;
  /** Longest backoff between two attempts (before jitter), also the bound on Retry-After. */
  retryMaxDelayMs: number;
  /** Attempts with an outcome before a notification that keeps failing becomes dead. */
  maxAttempts: number;
  /** On stop, time attempts in flight get to finish before they are aborted. */
  stopTimeoutMs: number;
}

/**
 * Defaults: with a 10 s base doubling to a 1 h cap, 50 attempts span about 24 hours on
 * average (full jitter halves the expected wait), at most about 2 days: long enough to ride
 * out a weekend incident on the FSE side while it is noticed through the pending count.
 */
export const DEFAULT_OUTBOX_WORKER_OPTIONS: Readonly<OutboxWorkerOptions> = {
  pollIntervalMs: 5 * SECOND,
  maxInFlight: 4,
  retryBaseDelayMs: 10 * SECOND,
  retryMaxDelayMs: 1 * HOUR,
  maxAttempts: 50,
  stopTimeoutMs: 10 * SECOND,
};

/** The outbox as the worker uses it (an `OutboxStore`, or a fake in tests). */
export type OutboxTable = Pick<
  OutboxStore,
  'enqueue' | 'due' | 'markDelivered' | 'markRetry' | 'markDead'
>;

/** One delivery attempt (an `FseNotifier.send`): never throws, honours the signal. */
export type Deliver = (item: OutboxItem, signal: AbortSignal) => Promise<DeliveryOutcome>;

export interface OutboxWorkerDeps {
  store: OutboxTable;
  deliver: Deliver;
  log: Logger;
  /** Clock for due times and next attempts; tests inject one. */
  now?: () => Date;
  /** Uniform in [0, 1), for the jitter; tests inject one. */
  random?: () => number;
}

/** An option of the worker is invalid: names it and the value received. */
export class OutboxWorkerConfigError extends Error {
  override readonly name = 'OutboxWorkerConfigError';
}

/**
 * Capped exponential backoff with full jitter: a uniform wait in
 * [0, min(maxDelayMs, baseDelayMs · 2^(failures − 1))), so that many notifications failing
 * together (the FSE side down) do not come back together.
 *
 * @param failures attempts failed so far, ≥ 1.
 */
export function backoffDelayMs(
  failures: number,
  options: Pick<OutboxWorkerOptions, 'retryBaseDelayMs' | 'retryMaxDelayMs'>,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, failures - 1);
  // 2 ** exponent reaches Infinity past 1023; min() still gives the cap.
  const ceiling = Math.min(options.retryMaxDelayMs, options.retryBaseDelayMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}

/**
 * The wait before the next attempt after a retryable failure: the jittered backoff, but at
 * least what the FSE side asked for with Retry-After, and never more than the cap.
 */
export function retryDelayMs(
  failures: number,
  retryAfterMs: number | undefined,
  options: Pick<OutboxWorkerOptions, 'retryBaseDelayMs' | 'retryMaxDelayMs'>,
  random: () => number = Math.random,
): number {
  const backoff = backoffDelayMs(failures, options, random);
  return Math.min(options.retryMaxDelayMs, Math.max(backoff, retryAfterMs ?? 0));
}

interface InFlight {
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Delivers the outbox: a bounded number of attempts at once, retries with capped, jittered
 * exponential backoff, dead letters for final refusals and for notifications that fail
 * `maxAttempts` times. All state is in the table, so a restart picks up whatever was pending,
 * including attempts a crash cut short (sent again with the same Idempotency-Key).
 *
 * Delivery is at least once: a crash between the FSE side's 2xx and recording it sends the
 * notification again, which the idempotency key makes harmless.
 */
export class OutboxWorker {
  readonly #options: OutboxWorkerOptions;
  readonly #store: OutboxTable;
  readonly #deliver: Deliver;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #random: () => number;
  readonly #inFlight = new Map<number, InFlight>();
  #timer: NodeJS.Timeout | undefined;
  #started = false;
  #stopping: Promise<void> | undefined;
  /** A cycle is queued (setImmediate) or running: wake-ups in between are folded into it. */
  #cycleQueued = false;
  /** After a database failure, the next cycle waits a poll interval instead of spinning. */
  #pauseAfterFailure = false;

  /** @throws OutboxWorkerConfigError naming an invalid option. */
  constructor(options: Partial<OutboxWorkerOptions>, deps: OutboxWorkerDeps) {
    this.#options = checkOptions({ ...DEFAULT_OUTBOX_WORKER_OPTIONS, ...options });
    this.#store = deps.store;
    this.#deliver = deps.deliver;
    this.#log = deps.log;
    this.#now = deps.now ?? (() => new Date());
    this.#random = deps.random ?? Math.random;
  }

  /** Attempts in flight now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Starts delivering: what is pending and due is picked up at once. Idempotent. */
  start(): void {
    if (this.#started || this.#stopping) return;
    this.#started = true;
    this.#log.info(
      { maxInFlight: this.#options.maxInFlight, maxAttempts: this.#options.maxAttempts },
      'FSE outbox worker started',
    );
    this.wake();
  }

  /**
   * Stores a notification (see `OutboxStore.enqueue`: idempotent on its key) and, once the
   * worker runs, wakes it so that it goes out now. After `stop` the row is still stored, and
   * delivered after the next start.
   */
  enqueue(entry: OutboxEntry): EnqueueResult {
    const result = this.#store.enqueue(entry);
    if (result.created) {
      this.#log.info(
        { outboxId: result.item.id, kind: entry.kind, report: entry.reportKey },
        'FSE notification enqueued',
      );
      this.wake();
    }
    return result;
  }

  /** Look at the table now (after an enqueue or a resend in this process). */
  wake(): void {
    if (!this.#started || this.#stopping || this.#cycleQueued) return;
    this.#cycleQueued = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    setImmediate(() => this.#cycle());
  }

  /**
   * Stops polling, gives attempts in flight `timeoutMs` (default `stopTimeoutMs`) to finish,
   * then aborts the rest; an aborted attempt leaves its notification pending, to be sent after
   * the next start. Calling it again returns the same promise.
   */
  stop(timeoutMs: number = this.#options.stopTimeoutMs): Promise<void> {
    this.#stopping ??= (async () => {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      const pending = [...this.#inFlight.values()];
      if (pending.length > 0) {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          Promise.all(pending.map((p) => p.done)).then(() => false),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
        ]);
        clearTimeout(timer);
        if (timedOut) {
          this.#log.warn(
            { inFlight: this.#inFlight.size },
            'FSE notifications still in flight at shutdown: aborted, they stay pending',
          );
          for (const { controller } of this.#inFlight.values()) controller.abort();
          await Promise.all([...this.#inFlight.values()].map((p) => p.done));
        }
      }
      if (this.#started) this.#log.info('FSE outbox worker stopped');
    })();
    return this.#stopping;
  }

  #cycle(): void {
    this.#cycleQueued = false;
    if (this.#stopping) return;
    if (this.#pauseAfterFailure) {
      this.#pauseAfterFailure = false;
      this.#schedule(this.#options.pollIntervalMs);
      return;
    }
    const free = this.#options.maxInFlight - this.#inFlight.size;
    // A full worker is woken by its attempts finishing; polling would find nothing to do.
    if (free <= 0) return;
    try {
      const now = this.#now();
      // The first pending item of each report, earliest first, whenever due. Items in flight
      // are among them (still pending): with this limit, the rows hold every slot's work plus
      // the next item to wait for.
      const heads = this.#store.due(END_OF_TIME, free + this.#inFlight.size + 1);
      let nextAt: Date | undefined;
      for (const item of heads) {
        if (this.#inFlight.has(item.id)) continue;
        if (item.nextAttemptAt > now || this.#inFlight.size >= this.#options.maxInFlight) {
          nextAt = item.nextAttemptAt;
          break;
        }
        this.#launch(item);
      }
      if (this.#inFlight.size >= this.#options.maxInFlight) return;
      const untilNext =
        nextAt === undefined ? Infinity : Math.max(0, nextAt.getTime() - now.getTime());
      this.#schedule(Math.min(this.#options.pollIntervalMs, untilNext));
    } catch (err) {
      this.#log.error({ err }, 'FSE outbox could not be read; trying again later');
      this.#schedule(this.#options.pollIntervalMs);
    }
  }

  #schedule(delayMs: number): void {
    if (this.#stopping) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.wake(), delayMs);
  }

  #launch(item: OutboxItem): void {
    const controller = new AbortController();
    const done = this.#attempt(item, controller.signal).finally(() => {
      this.#inFlight.delete(item.id);
      // A slot is free: look for more work (unless stopping).
      this.wake();
    });
    this.#inFlight.set(item.id, { controller, done });
  }

  async #attempt(item: OutboxItem, signal: AbortSignal): Promise<void> {
    const attempt = item.attempts + 1;
    const context = { outboxId: item.id, kind: item.kind, report: item.reportKey, attempt };
    let outcome: DeliveryOutcome;
    try {
      outcome = await this.#deliver(item, signal);
    } catch (err) {
      // `deliver` is not supposed to throw; if it does, treat it as a transient failure.
      outcome = { result: 'retry', reason: `delivery failed: ${describe(err)}` };
    }
    if (signal.aborted || outcome.result === 'aborted') {
      this.#log.info(context, 'FSE notification attempt aborted by shutdown; it stays pending');
      return;
    }
    try {
      this.#record(item, attempt, outcome, context);
    } catch (err) {
      // The item stays pending and due: it is sent again (same Idempotency-Key) after a pause.
      this.#pauseAfterFailure = true;
      this.#log.error({ ...context, err }, 'FSE notification outcome could not be recorded');
    }
  }

  #record(
    item: OutboxItem,
    attempt: number,
    outcome: Exclude<DeliveryOutcome, { result: 'aborted' }>,
    context: Record<string, unknown>,
  ): void {
    // `detail` (the FSE side's words) goes to the table only: it may echo patient data.
    switch (outcome.result) {
      case 'delivered':
        this.#store.markDelivered(item.id, outcome.httpStatus);
        this.#log.info(
          { ...context, httpStatus: outcome.httpStatus },
          'FSE notification delivered',
        );
        return;
      case 'final':
        this.#store.markDead(item.id, errorText(outcome), outcome.httpStatus);
        this.#log.error(
          { ...context, httpStatus: outcome.httpStatus, reason: outcome.reason },
          'FSE notification refused: dead letter',
        );
        return;
      case 'retry': {
        if (attempt >= this.#options.maxAttempts) {
          this.#store.markDead(
            item.id,
            `gave up after ${attempt} attempts: ${errorText(outcome)}`,
            outcome.httpStatus,
          );
          this.#log.error(
            { ...context, httpStatus: outcome.httpStatus, reason: outcome.reason },
            'FSE notification failed too many times: dead letter',
          );
          return;
        }
        const delayMs = retryDelayMs(attempt, outcome.retryAfterMs, this.#options, this.#random);
        const nextAttemptAt = new Date(this.#now().getTime() + delayMs);
        this.#store.markRetry(item.id, errorText(outcome), outcome.httpStatus, nextAttemptAt);
        this.#log.warn(
          { ...context, httpStatus: outcome.httpStatus, reason: outcome.reason, delayMs },
          'FSE notification not delivered; will retry',
        );
        return;
      }
    }
  }
}

function errorText(outcome: { reason: string; detail?: string }): string {
  return outcome.detail === undefined ? outcome.reason : `${outcome.reason}: ${outcome.detail}`;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function checkOptions(options: OutboxWorkerOptions): OutboxWorkerOptions {
  const limits: Record<keyof OutboxWorkerOptions, [number, number]> = {
    pollIntervalMs: [1, 24 * HOUR],
    maxInFlight: [1, 1000],
    retryBaseDelayMs: [0, 24 * HOUR],
    retryMaxDelayMs: [0, 7 * 24 * HOUR],
    maxAttempts: [1, 10_000],
    stopTimeoutMs: [0, HOUR],
  };
  for (const [name, [min, max]] of Object.entries(limits) as Array<
    [keyof OutboxWorkerOptions, [number, number]]
  >) {
    const value = options[name];
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new OutboxWorkerConfigError(
        `${name} must be an integer from ${min} to ${max}: ${String(value)}`,
      );
    }
  }
  if (options.retryMaxDelayMs < options.retryBaseDelayMs) {
    throw new OutboxWorkerConfigError(
      `retryMaxDelayMs (${options.retryMaxDelayMs}) must not be less than retryBaseDelayMs (${options.retryBaseDelayMs})`,
    );
  }
  return options;
}
