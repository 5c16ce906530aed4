import type { Logger } from 'pino';
import type { PeerSetting } from '../config/formats.js';
import type { MoveDestinationSetting } from '../config/move-destinations.js';
import type { PacsNodeSetting } from '../config/pacs-nodes.js';
import type { AePolicy, AllowedPeer } from '../dimse/ae-policy.js';
import type { StudyRetriever } from '../retrieve/retrieve-study.js';
import type { AeConfigStore, PeerRecord } from './ae-config-store.js';

export interface AeDirectoryDeps {
  store: AeConfigStore;
  policy: AePolicy;
  /** The retrievers by node name, shared with report linking; changed in place. */
  retrievers: Map<string, StudyRetriever>;
  makeRetriever: (node: PacsNodeSetting) => StudyRetriever;
  /** The Q/R SCP's move destinations (the configured ones, then the nodes); changed in place. */
  moveDestinations: MoveDestinationSetting[];
  configuredMoveDestinations: readonly MoveDestinationSetting[];
  log: Logger;
}

/**
 * Who may associate: the allowed peers, and the AEs each PACS node sends from, from its host
 * (C-MOVE sub-operations often come from another AE than the one queried).
 */
export function allowedPeersOf(
  peers: readonly PeerSetting[],
  nodes: readonly PacsNodeSetting[],
): AllowedPeer[] {
  return [
    ...peers.map((peer) => ({ aeTitle: peer.aeTitle, host: peer.host })),
    ...nodes.flatMap((node) =>
      node.sendingAeTitles.map((aeTitle) => ({ aeTitle, host: node.host })),
    ),
  ];
}

/** The move destinations of the Q/R SCP: configured ones first, then the PACS nodes. */
export function moveDestinationsOf(
  configured: readonly MoveDestinationSetting[],
  nodes: readonly PacsNodeSetting[],
): MoveDestinationSetting[] {
  return [...configured, ...nodes.map(({ aeTitle, host, port }) => ({ aeTitle, host, port }))];
}

/**
 * The PACS nodes and allowed peers in force, kept in the index and applied to the running
 * daemon at once: the association policy, the retrievers of the nodes and the Q/R SCP's move
 * destinations. Changes run one at a time; each is checked (host names resolved) before it is
 * written, and written before it is applied, so a failure leaves both as they were.
 */
export class AeDirectory {
  #deps: AeDirectoryDeps;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(deps: AeDirectoryDeps) {
    this.#deps = deps;
  }

  get nodes(): PacsNodeSetting[] {
    return this.#deps.store.listNodes();
  }

  get peers(): PeerRecord[] {
    return this.#deps.store.listPeers();
  }

  /**
   * Run `write` (a change to the store) and apply the result. The association policy is
   * resolved from the new state before the write commits; when the write fails the policy is
   * left alone, and when applying fails after the write the previous state is put back.
   */
  change<T>(
    write: (store: AeConfigStore) => T,
    next: () => { nodes: PacsNodeSetting[]; peers: PeerSetting[] },
  ): Promise<T> {
    const run = this.#queue.then(async () => {
      const { nodes, peers } = next();
      // Resolve host names first: an unknown host must refuse the change, not half-apply it.
      await this.#deps.policy.update(allowedPeersOf(peers, nodes));
      let result: T;
      try {
        result = write(this.#deps.store);
      } catch (error) {
        await this.#deps.policy.update(allowedPeersOf(this.peers, this.nodes));
        throw error;
      }
      this.#applyNodes(this.nodes);
      return result;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Apply what the store holds (at start). */
  async applyStored(): Promise<void> {
    await this.#deps.policy.update(allowedPeersOf(this.peers, this.nodes));
    this.#applyNodes(this.nodes);
  }

  #applyNodes(nodes: readonly PacsNodeSetting[]): void {
    const { retrievers, moveDestinations } = this.#deps;
    const byName = new Map(nodes.map((node) => [node.name, node]));
    for (const name of retrievers.keys()) if (!byName.has(name)) retrievers.delete(name);
    for (const node of nodes) {
      const current = retrievers.get(node.name);
      // A retrieve in progress keeps the client it started with; new ones use the new settings.
      if (!current || JSON.stringify(current.pacs.node) !== JSON.stringify(node))
        retrievers.set(node.name, this.#deps.makeRetriever(node));
    }
    moveDestinations.splice(
      0,
      moveDestinations.length,
      ...moveDestinationsOf(this.#deps.configuredMoveDestinations, nodes),
    );
    this.#deps.log.debug(
      { nodes: nodes.length, peers: this.peers.length },
      'AE configuration applied',
    );
  }
}
