import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import { RejectResult, RejectSource, RejectUserReason, type AssociateRj } from './pdu.js';

/** A peer allowed to open associations to the bridge. */
export interface AllowedPeer {
  aeTitle: string;
  /** When set, the peer must connect from this host (IP address or name). */
  host: string | undefined;
}

export type PolicyDecision =
  { allowed: true } | { allowed: false; rejection: AssociateRj; why: string };

/** IPv4 clients on a dual-stack socket appear as `::ffff:a.b.c.d`. */
function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** True for an address of this machine only: 127.0.0.0/8 and ::1 (also IPv4-mapped). */
export function isLoopback(address: string): boolean {
  const normalised = normaliseAddress(address);
  return normalised === '::1' || normalised.startsWith('127.');
}

/** Resolve the allowed peers to the addresses each may connect from (undefined: any). */
async function resolvePeers(
  allowed: readonly AllowedPeer[],
): Promise<Map<string, Set<string> | undefined>> {
  const peers = new Map<string, Set<string> | undefined>();
  for (const peer of allowed) {
    if (peer.host === undefined || peer.host === '') {
      peers.set(peer.aeTitle, undefined);
      continue;
    }
    const addresses = peers.get(peer.aeTitle) ?? new Set<string>();
    if (isIP(peer.host)) addresses.add(normaliseAddress(peer.host));
    else for (const found of await lookup(peer.host, { all: true })) addresses.add(found.address);
    // An entry without a host already allows every address; keep it that way.
    if (!peers.has(peer.aeTitle) || peers.get(peer.aeTitle) !== undefined)
      peers.set(peer.aeTitle, addresses);
  }
  return peers;
}

/**
 * Who may associate: the called AE must be one of ours, the calling AE must be an allowed
 * peer, and must connect from its host when one is configured. Host names are resolved when
 * the peers are set. The peers can be replaced while the SCP runs (administrators edit them):
 * each new association is checked against the peers in force when it asks.
 */
export class AePolicy {
  #ownAeTitles: Set<string>;
  #peers: Map<string, Set<string> | undefined>;

  private constructor(ownAeTitles: string[], peers: Map<string, Set<string> | undefined>) {
    this.#ownAeTitles = new Set(ownAeTitles);
    this.#peers = peers;
  }

  static async create(ownAeTitles: string[], allowed: AllowedPeer[]): Promise<AePolicy> {
    return new AePolicy(ownAeTitles, await resolvePeers(allowed));
  }

  /**
   * Replace the allowed peers. Host names are resolved first: when one cannot be, this throws
   * and the peers in force stay as they were.
   */
  async update(allowed: readonly AllowedPeer[]): Promise<void> {
    this.#peers = await resolvePeers(allowed);
  }

  get ownAeTitles(): string[] {
    return [...this.#ownAeTitles];
  }

  check(calledAe: string, callingAe: string, remoteAddress: string): PolicyDecision {
    // The bridge may always check itself from the same machine (health check, `bridge echo`).
    const self = this.#ownAeTitles.has(callingAe) && isLoopback(remoteAddress);
    if (!self && !this.#peers.has(callingAe)) {
      return {
        allowed: false,
        why: 'calling AE title is not an allowed peer',
        rejection: {
          result: RejectResult.Permanent,
          source: RejectSource.ServiceUser,
          reason: RejectUserReason.CallingAeNotRecognized,
        },
      };
    }
    const hosts = self ? undefined : this.#peers.get(callingAe);
    if (hosts && !hosts.has(normaliseAddress(remoteAddress))) {
      return {
        allowed: false,
        why: 'calling AE title connected from a host it is not configured for',
        rejection: {
          result: RejectResult.Permanent,
          source: RejectSource.ServiceUser,
          reason: RejectUserReason.CallingAeNotRecognized,
        },
      };
    }
    if (!this.#ownAeTitles.has(calledAe)) {
      return {
        allowed: false,
        why: 'called AE title is not one of the bridge',
        rejection: {
          result: RejectResult.Permanent,
          source: RejectSource.ServiceUser,
          reason: RejectUserReason.CalledAeNotRecognized,
        },
      };
    }
    return { allowed: true };
  }
}
