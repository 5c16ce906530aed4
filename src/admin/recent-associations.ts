import type { AssociationObserver } from '../dimse/association-observer.js';

/** One association as the admin page lists it. */
export interface AssociationRecord {
  /** When it ended (or was rejected), ISO 8601. */
  at: string;
  callingAe: string;
  calledAe: string;
  /** The peer's address (IPv4 without the `::ffff:` prefix). */
  peerHost: string;
  instancesStored: number;
  instancesFailed: number;
  /** released, aborted-by-us, aborted-by-peer, disconnected, timeout, or rejected. */
  status: string;
  /** Why it was rejected. */
  detail?: string;
}

/**
 * The most recent associations, in memory (a restart forgets them): a ring of fixed capacity,
 * fed by the SCP's observer hooks.
 */
export class RecentAssociations {
  #ring: AssociationRecord[] = [];
  #next = 0;
  #capacity: number;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new Error(`capacity must be a positive integer: value was ${capacity}`);
    this.#capacity = capacity;
  }

  add(record: AssociationRecord): void {
    if (this.#ring.length < this.#capacity) this.#ring.push(record);
    else this.#ring[this.#next] = record;
    this.#next = (this.#next + 1) % this.#capacity;
  }

  /** Newest first. */
  list(): AssociationRecord[] {
    const oldestFirst =
      this.#ring.length < this.#capacity
        ? this.#ring
        : [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)];
    return [...oldestFirst].reverse();
  }

  observer(): AssociationObserver {
    const host = (address: string): string =>
      address.startsWith('::ffff:') ? address.slice(7) : address;
    return {
      rejected: ({ callingAe, calledAe, address, why }) =>
        this.add({
          at: new Date().toISOString(),
          callingAe,
          calledAe,
          peerHost: host(address),
          instancesStored: 0,
          instancesFailed: 0,
          status: 'rejected',
          detail: why,
        }),
      closed: (summary) =>
        this.add({
          at: new Date().toISOString(),
          callingAe: summary.callingAe,
          calledAe: summary.calledAe,
          peerHost: host(summary.address),
          instancesStored: summary.instancesStored,
          instancesFailed: summary.instancesFailed,
          status: summary.reason,
        }),
    };
  }
}
