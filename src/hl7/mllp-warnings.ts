import type { Logger } from 'pino';

/** Warnings logged one by one on a connection before the next ones are only counted. */
export const WARNINGS_PER_CONNECTION = 20;

/**
 * The warnings about what one connection sends (refused messages, dropped bytes): the first
 * `limit` are logged, the next ones counted, so that a peer sending thousands of bad frames
 * cannot flood the log. What was counted is logged as one summary when a message is accepted
 * (and the next warnings are logged again) or when the connection closes.
 */
export class WarningBudget {
  readonly #log: Logger;
  readonly #limit: number;
  #left: number;
  readonly #counted = new Map<string, number>();

  constructor(log: Logger, limit = WARNINGS_PER_CONNECTION) {
    this.#log = log;
    this.#limit = limit;
    this.#left = limit;
  }

  warn(fields: object, message: string): void {
    if (this.#left > 0) {
      this.#left--;
      this.#log.warn(fields, message);
      if (this.#left === 0)
        this.#log.warn(
          { limit: this.#limit },
          'HL7 warnings on this connection: the next ones are counted, not logged, until a message is accepted',
        );
      return;
    }
    this.#counted.set(message, (this.#counted.get(message) ?? 0) + 1);
  }

  /** Log what was counted and not logged; with `refill`, log the next warnings again. */
  flush(refill: boolean): void {
    if (this.#counted.size > 0) {
      let total = 0;
      for (const count of this.#counted.values()) total += count;
      this.#log.warn(
        { notLogged: total, byMessage: Object.fromEntries(this.#counted) },
        'HL7 warnings on this connection counted and not logged',
      );
      this.#counted.clear();
    }
    if (refill) this.#left = this.#limit;
  }
}
