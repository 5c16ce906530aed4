import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { PacsNodeSetting } from '../config/pacs-nodes.js';
import type { OutboxStore } from '../fse/outbox-store.js';
import { resendDeadLetter } from '../http/outbox-routes.js';
import type { OutboxWorker } from '../fse/outbox-worker.js';
import type { QueueDepth } from '../metrics/metrics.js';
import type { AeConfigStore } from './ae-config-store.js';
import type { RecentAssociations } from './recent-associations.js';
import type { VerifyReport } from './verify-node.js';
import { AdminInputError } from './validation.js';

export interface OperationsRouteDeps {
  store: AeConfigStore;
  verify: (node: PacsNodeSetting) => Promise<VerifyReport>;
  associations: RecentAssociations;
  outbox: OutboxStore;
  outboxWorker: OutboxWorker;
  queueDepth: () => QueueDepth;
  actor: (request: FastifyRequest) => string;
}

/**
 * What operators watch and do: verify a PACS node, the recent associations, the FSE outbox and
 * its dead letters (re-sent here, audited), and the on-demand queue depth.
 */
export function operationsRoutes(app: FastifyInstance, deps: OperationsRouteDeps): void {
  /** One verification per node at a time: a second click gets the same run. */
  const running = new Map<string, Promise<VerifyReport>>();
  app.post<{ Params: { name: string } }>(
    '/admin/api/nodes/:name/verify',
    async (request, reply) => {
      const node = deps.store.getNode(request.params.name);
      if (!node)
        return reply
          .code(404)
          .send({ error: 'not-found', message: `no PACS node named ${request.params.name}` });
      let run = running.get(node.name);
      if (!run) {
        run = deps.verify(node).finally(() => running.delete(node.name));
        running.set(node.name, run);
      }
      return run;
    },
  );

  app.get('/admin/api/associations', async () => deps.associations.list());

  app.get('/admin/api/outbox', async () => ({
    counts: deps.outbox.counts(),
    retrying: deps.outbox.countRetrying(),
    dead: deps.outbox.listDeadLetters(),
  }));
  app.post('/admin/api/outbox/dead/resend', async (request) => {
    const ids = deps.outbox.resendAllDead();
    deps.outboxWorker.wake();
    if (ids.length > 0)
      deps.store.record(deps.actor(request), 'resend', 'outbox', ids.join(','), { resent: ids });
    return { resent: ids };
  });
  app.post<{ Params: { id: string } }>('/admin/api/outbox/:id/resend', async (request, reply) => {
    const id = Number(request.params.id);
    if (!Number.isSafeInteger(id) || id < 1)
      throw new AdminInputError('id', 'must be a positive integer');
    return resendDeadLetter({ outbox: deps.outbox, worker: deps.outboxWorker }, id, reply, (item) =>
      deps.store.record(deps.actor(request), 'resend', 'outbox', String(id), {
        status: item.status,
      }),
    );
  });

  app.get('/admin/api/queue', async () => deps.queueDepth());
}
