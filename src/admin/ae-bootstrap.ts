import type { Logger } from 'pino';
import type { PeerSetting } from '../config/formats.js';
import type { PacsNodeSetting } from '../config/pacs-nodes.js';
import type { AeConfigStore } from './ae-config-store.js';

/**
 * The configuration file seeds the index on first start; afterwards the index is the source of
 * truth. Entries that only the file has (added to it after the first start, or deleted by an
 * administrator since) are named in the log so nobody wonders why they have no effect.
 */
export function seedAeConfig(
  store: AeConfigStore,
  configured: { nodes: readonly PacsNodeSetting[]; peers: readonly PeerSetting[] },
  log: Logger,
): void {
  if (!store.isSeeded()) {
    store.seed(configured.nodes, configured.peers);
    log.info(
      { nodes: configured.nodes.length, peers: configured.peers.length },
      'AE configuration copied from the configuration file into the index',
    );
    return;
  }
  const nodes = new Map(store.listNodes().map((node) => [node.name, node]));
  for (const node of configured.nodes) {
    const held = nodes.get(node.name);
    if (!held)
      log.warn(
        { node: node.name },
        'PACS node only in the configuration file is not used: the index is the source of truth; add it in the admin API',
      );
    else if (JSON.stringify(held) !== JSON.stringify(node))
      log.warn(
        { node: node.name },
        'PACS node differs between the configuration file and the index; the index is used',
      );
  }
  const peers = new Set(store.listPeers().map((peer) => `${peer.aeTitle}@${peer.host ?? ''}`));
  for (const peer of configured.peers)
    if (!peers.has(`${peer.aeTitle}@${peer.host ?? ''}`))
      log.warn(
        { aeTitle: peer.aeTitle, host: peer.host },
        'allowed peer only in the configuration file is not used: the index is the source of truth; add it in the admin API',
      );
}
