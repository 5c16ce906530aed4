import type { Logger } from 'pino';
import type { BridgeConfig } from '../config/load.js';
import type { MoveDestinationSetting } from '../config/move-destinations.js';
import type { PacsNodeSetting } from '../config/pacs-nodes.js';
import { AePolicy } from '../dimse/ae-policy.js';
import type { StudyRetriever } from '../retrieve/retrieve-study.js';
import { seedAeConfig } from './ae-bootstrap.js';
import { AeConfigStore } from './ae-config-store.js';
import { AeDirectory, allowedPeersOf, moveDestinationsOf } from './ae-directory.js';

type Release = () => Promise<void> | void;

export interface AeSetup {
  store: AeConfigStore;
  policy: AePolicy;
  /** Retrievers by node name, changed in place when nodes are edited. */
  retrievers: Map<string, StudyRetriever>;
  /** The Q/R SCP's move destinations, changed in place when nodes are edited. */
  moveDestinations: MoveDestinationSetting[];
  directory: AeDirectory;
}

/**
 * The AE configuration at start: the index seeded from the configuration file on first start
 * (the index wins afterwards), the association policy, the retrievers and the Q/R SCP's move
 * destinations built from what the index holds, and the directory that keeps them current.
 */
export async function setUpAeConfig(
  config: BridgeConfig,
  makeRetriever: (node: PacsNodeSetting) => StudyRetriever,
  releases: Release[],
  log: Logger,
): Promise<AeSetup> {
  const store = AeConfigStore.open(config.index.path, { logger: log });
  releases.push(() => store.close());
  seedAeConfig(store, { nodes: config.pacs.nodes, peers: config.dicom.allowedPeers }, log);
  const nodes = store.listNodes();
  const peers = store.listPeers();
  const allowed = allowedPeersOf(peers, nodes);
  const policy = await AePolicy.create(config.dicom.aeTitles, allowed);
  if (allowed.length === 0)
    log.warn(
      'no peers are allowed to send: set dicom.allowedPeers (BRIDGE_ALLOWED_PEERS) before the first start, or add peers in the admin API',
    );
  const retrievers = new Map(nodes.map((node) => [node.name, makeRetriever(node)]));
  const moveDestinations = moveDestinationsOf(config.queryRetrieve.moveDestinations, nodes);
  const directory = new AeDirectory({
    store,
    policy,
    retrievers,
    makeRetriever,
    moveDestinations,
    configuredMoveDestinations: config.queryRetrieve.moveDestinations,
    log,
  });
  return { store, policy, retrievers, moveDestinations, directory };
}
