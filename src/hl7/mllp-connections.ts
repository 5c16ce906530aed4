/** What admission needs to know of an open connection. */
export interface Admitted {
  /** The peer's address, without its port. */
  readonly address: string;
  /** When it was last active, as an order: lower is longer ago. */
  readonly lastActivity: number;
}

/** Whether a new connection may open and, when the table is full, which one it replaces. */
export type Admission<C> =
  { admitted: true; replaces: C | undefined } | { admitted: false; reason: 'address' | 'full' };

/**
 * The open connections of a listener, counted in all and per address. A new connection from
 * an address at its limit is refused; one beyond the overall limit replaces the connection idle
 * the longest, so that idle connections cannot keep a sender with a message out. It is refused
 * only when every connection is busy.
 */
export class ConnectionTable<C extends Admitted> implements Iterable<C> {
  readonly #all = new Set<C>();
  readonly #perAddress = new Map<string, number>();
  readonly #max: number;
  readonly #maxPerAddress: number;
  readonly #isIdle: (connection: C) => boolean;

  constructor(max: number, maxPerAddress: number, isIdle: (connection: C) => boolean) {
    this.#max = max;
    this.#maxPerAddress = maxPerAddress;
    this.#isIdle = isIdle;
  }

  get size(): number {
    return this.#all.size;
  }

  [Symbol.iterator](): Iterator<C> {
    return this.#all.values();
  }

  /** Connections open from `address`. */
  countFrom(address: string): number {
    return this.#perAddress.get(address) ?? 0;
  }

  /** How a new connection from `address` would be admitted; changes nothing. */
  admit(address: string): Admission<C> {
    if (this.countFrom(address) >= this.#maxPerAddress)
      return { admitted: false, reason: 'address' };
    if (this.#all.size < this.#max) return { admitted: true, replaces: undefined };
    let oldest: C | undefined;
    for (const connection of this.#all)
      if (this.#isIdle(connection) && (!oldest || connection.lastActivity < oldest.lastActivity))
        oldest = connection;
    return oldest ? { admitted: true, replaces: oldest } : { admitted: false, reason: 'full' };
  }

  add(connection: C): void {
    this.#all.add(connection);
    this.#perAddress.set(connection.address, this.countFrom(connection.address) + 1);
  }

  /** Forget a connection; false when it was already forgotten. */
  delete(connection: C): boolean {
    if (!this.#all.delete(connection)) return false;
    const left = this.countFrom(connection.address) - 1;
    if (left > 0) this.#perAddress.set(connection.address, left);
    else this.#perAddress.delete(connection.address);
    return true;
  }
}
