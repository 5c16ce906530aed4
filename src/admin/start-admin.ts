import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { BridgeConfig } from '../config/load.js';
import type { IncomingStoreHandler } from '../dimse/client.js';
import type { OutboxStore } from '../fse/outbox-store.js';
import type { OutboxWorker } from '../fse/outbox-worker.js';
import { startHttpServer, type RunningHttp } from '../http/server.js';
import type { QueueDepth } from '../metrics/metrics.js';
import { registerAdmin } from './admin-api.js';
import type { AeSetup } from './ae-setup.js';
import { AdminAuth } from './auth.js';
import type { RecentAssociations } from './recent-associations.js';
import { verifyNode } from './verify-node.js';

export interface AdminParts {
  ae: AeSetup;
  associations: RecentAssociations;
  /** True when the index holds an instance (verification checks the moved one arrived). */
  isStored: (sopInstanceUid: string) => boolean;
  store: IncomingStoreHandler;
  dicomPort: () => number;
  queueDepth: () => QueueDepth;
}

/**
 * The admin API and page: a function that registers them on an HTTP listener, given the
 * outbox (which report linking creates). Where they are served is up to the caller.
 */
export function adminRoutes(
  config: BridgeConfig,
  parts: AdminParts,
  log: Logger,
): (app: FastifyInstance, outbox: { outbox: OutboxStore; outboxWorker: OutboxWorker }) => void {
  const auth = new AdminAuth(config.admin);
  return (app, { outbox, outboxWorker }) =>
    registerAdmin(app, {
      auth,
      directory: parts.ae.directory,
      store: parts.ae.store,
      local: () => ({
        aeTitles: config.dicom.aeTitles,
        host: config.dicom.host,
        port: parts.dicomPort(),
      }),
      verify: (node) =>
        verifyNode(node, {
          isStored: parts.isStored,
          store: parts.store,
          dicomPort: parts.dicomPort,
          log,
        }),
      associations: parts.associations,
      outbox,
      outboxWorker,
      queueDepth: parts.queueDepth,
      log,
    });
}

/**
 * A listener of its own for the admin routes (admin.host, admin.port, admin.maxConnections),
 * with the body limit and timeouts of the HTTP API listener.
 */
export async function startAdminListener(
  config: BridgeConfig,
  routes: (app: FastifyInstance) => void,
  log: Logger,
): Promise<RunningHttp> {
  return startHttpServer(
    {
      ...config.http,
      host: config.admin.host,
      port: config.admin.port,
      apiToken: '',
      maxConnections: config.admin.maxConnections,
    },
    routes,
    log,
  );
}
