import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { PacsNodeSetting } from '../config/pacs-nodes.js';
import { resendAllDeadLetters, resendDeadLetter } from '../fse/outbox-resend.js';
import type { OutboxStore } from '../fse/outbox-store.js';
import type { OutboxWorker } from '../fse/outbox-worker.js';
import {
  DEAD_LETTER,
  OUTBOX_COUNTS,
  refusedResend,
  RESEND_REFUSED,
  RESENT,
  RESENT_ONE,
} from '../http/outbox-routes.js';
import type { QueueDepth } from '../metrics/metrics.js';
import type { AeConfigStore } from './ae-config-store.js';
import { answer, FAILURES, ID_PARAM, NAME_PARAM, UNKNOWN } from './api-schemas.js';
import { nodeNotFound } from './config-routes.js';
import type { RecentAssociations } from './recent-associations.js';
import type { VerifyReport } from './verify-node.js';

export interface OperationsRouteDeps {
  store: AeConfigStore;
  verify: (node: PacsNodeSetting) => Promise<VerifyReport>;
  associations: RecentAssociations;
  outbox: OutboxStore;
  outboxWorker: OutboxWorker;
  queueDepth: () => QueueDepth;
  actor: (request: FastifyRequest) => string;
}

const ASSOCIATION = {
  type: 'object',
  properties: {
    at: { type: 'string', format: 'date-time' },
    callingAe: { type: 'string' },
    calledAe: { type: 'string' },
    peerHost: { type: 'string' },
    instancesStored: { type: 'integer' },
    instancesFailed: { type: 'integer' },
    status: {
      type: 'string',
      description: 'released, aborted-by-us, aborted-by-peer, disconnected, timeout or rejected',
    },
    detail: { type: 'string', description: 'Why it was rejected' },
  },
};

/**
 * What operators watch and do: verify a PACS node, the recent associations, the FSE outbox and
 * its dead letters (re-sent here, audited), and the on-demand queue depth.
 */
export function operationsRoutes(app: FastifyInstance, deps: OperationsRouteDeps): void {
  const resender = { outbox: deps.outbox, worker: deps.outboxWorker };
  /** One verification per node at a time: a second click gets the same run. */
  const running = new Map<string, Promise<VerifyReport>>();
  app.post<{ Params: { name: string } }>(
    '/admin/api/nodes/:name/verify',
    {
      schema: {
        summary:
          'C-ECHO, C-FIND, then C-MOVE (or C-GET) of one instance to us; names the leg that failed',
        params: NAME_PARAM,
        response: {
          200: answer('The report (ok false when a leg failed)', { $ref: 'VerifyReport#' }),
          ...UNKNOWN,
          ...FAILURES,
        },
      },
    },
    async (request, reply) => {
      const node = deps.store.getNode(request.params.name);
      if (!node) return reply.code(404).send(nodeNotFound(request.params.name));
      let run = running.get(node.name);
      if (!run) {
        run = deps.verify(node).finally(() => running.delete(node.name));
        running.set(node.name, run);
      }
      return run;
    },
  );

  app.get(
    '/admin/api/associations',
    {
      schema: {
        summary: 'Recent associations: calling AE, peer host, instances stored, status, time',
        response: {
          200: answer('Newest first', { type: 'array', items: ASSOCIATION }),
          ...FAILURES,
        },
      },
    },
    async () => deps.associations.list(),
  );

  app.get(
    '/admin/api/outbox',
    {
      schema: {
        summary: 'FSE outbox counts and dead letters',
        response: {
          200: answer('Counts and dead letters', {
            type: 'object',
            properties: {
              counts: OUTBOX_COUNTS,
              retrying: {
                type: 'integer',
                description: 'Pending notifications that failed at least once',
              },
              dead: { type: 'array', items: DEAD_LETTER },
            },
          }),
          ...FAILURES,
        },
      },
    },
    async () => ({
      counts: deps.outbox.counts(),
      retrying: deps.outbox.countRetrying(),
      dead: deps.outbox.listDeadLetters(),
    }),
  );
  app.post(
    '/admin/api/outbox/dead/resend',
    {
      schema: {
        summary: 'Send every dead letter again',
        response: { 200: RESENT, ...FAILURES },
      },
    },
    async (request) => {
      const ids = resendAllDeadLetters(resender);
      if (ids.length > 0)
        deps.store.record(deps.actor(request), 'resend', 'outbox', ids.join(','), { resent: ids });
      return { resent: ids };
    },
  );
  app.post<{ Params: { id: number } }>(
    '/admin/api/outbox/:id/resend',
    {
      schema: {
        summary: 'Send one dead letter again',
        params: ID_PARAM,
        response: { 200: RESENT_ONE, ...RESEND_REFUSED, ...FAILURES },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      try {
        const item = resendDeadLetter(resender, id);
        deps.store.record(deps.actor(request), 'resend', 'outbox', String(id), {
          status: item.status,
        });
        return { id: item.id, status: item.status };
      } catch (error) {
        return refusedResend(error, reply);
      }
    },
  );

  app.get(
    '/admin/api/queue',
    {
      schema: {
        summary: 'On-demand queue depth',
        response: {
          200: answer('Depth', {
            type: 'object',
            properties: { waiting: { type: 'integer' }, running: { type: 'integer' } },
          }),
          ...FAILURES,
        },
      },
    },
    async () => deps.queueDepth(),
  );
}
