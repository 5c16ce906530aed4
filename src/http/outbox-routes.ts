import type { FastifyInstance, FastifyReply } from 'fastify';
import { resendAllDeadLetters, resendDeadLetter, type ResendDeps } from '../fse/outbox-resend.js';
import { OutboxResendError, type OutboxStore } from '../fse/outbox-store.js';
import type { OutboxWorker } from '../fse/outbox-worker.js';
import { API_FAILURES, ERROR, ID_PARAM } from './api-schemas.js';

/** A notification without its payload (which holds patient data). */
export const DEAD_LETTER = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    kind: { type: 'string', enum: ['images-available', 'report-cancelled'] },
    reportKey: { type: 'string' },
    idempotencyKey: { type: 'string' },
    messageId: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'delivered', 'dead'] },
    attempts: { type: 'integer' },
    nextAttemptAt: { type: 'string', format: 'date-time' },
    lastError: { type: 'string' },
    lastHttpStatus: { type: 'integer' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    deliveredAt: { type: 'string', format: 'date-time' },
  },
} as const;

export const OUTBOX_COUNTS = {
  type: 'object',
  description: 'Notifications by status',
  properties: {
    pending: { type: 'integer' },
    delivered: { type: 'integer' },
    dead: { type: 'integer' },
  },
} as const;

export const RESENT = {
  description: 'The ids of the dead letters pending again',
  type: 'object',
  properties: { resent: { type: 'array', items: { type: 'integer' } } },
} as const;

export const RESENT_ONE = {
  description: 'Pending again',
  type: 'object',
  properties: { id: { type: 'integer' }, status: { type: 'string' } },
} as const;

/** The answers of a re-send that cannot be done. */
export const RESEND_REFUSED = {
  404: { ...ERROR, description: 'Unknown' },
  409: { ...ERROR, description: 'Not dead, or superseded by a newer notification of its report' },
} as const;

/** A re-send that cannot be done, answered 404 or 409; any other error is thrown again. */
export function refusedResend(error: unknown, reply: FastifyReply): FastifyReply {
  if (!(error instanceof OutboxResendError)) throw error;
  return reply
    .code(error.reason === 'not-found' ? 404 : 409)
    .send({ error: error.reason, message: error.message });
}

/**
 * The FSE outbox for operators:
 * - `GET /api/outbox/counts`: notifications by status.
 * - `GET /api/outbox/dead`: dead letters (without their patient data).
 * - `POST /api/outbox/:id/resend`: send a dead letter again (404 unknown, 409 not dead or
 *   superseded by a newer notification of its report).
 * - `POST /api/outbox/dead/resend`: send every dead letter again.
 */
export function outboxRoutes(
  app: FastifyInstance,
  deps: ResendDeps & {
    outbox: Pick<OutboxStore, 'counts' | 'listDeadLetters'>;
    worker: OutboxWorker;
  },
): void {
  app.get(
    '/api/outbox/counts',
    {
      schema: {
        summary: 'Notifications by status',
        response: { 200: OUTBOX_COUNTS, ...API_FAILURES },
      },
    },
    async () => deps.outbox.counts(),
  );
  app.get(
    '/api/outbox/dead',
    {
      schema: {
        summary: 'Dead letters, without their payload',
        response: {
          200: { description: 'Dead letters', type: 'array', items: DEAD_LETTER },
          ...API_FAILURES,
        },
      },
    },
    async () => deps.outbox.listDeadLetters(),
  );
  app.post(
    '/api/outbox/dead/resend',
    {
      schema: {
        summary: 'Send every dead letter again',
        response: { 200: RESENT, ...API_FAILURES },
      },
    },
    async () => ({ resent: resendAllDeadLetters(deps) }),
  );
  app.post<{ Params: { id: number } }>(
    '/api/outbox/:id/resend',
    {
      schema: {
        summary: 'Send one dead letter again',
        params: ID_PARAM,
        response: { 200: RESENT_ONE, ...RESEND_REFUSED, ...API_FAILURES },
      },
    },
    async (request, reply) => {
      try {
        const item = resendDeadLetter(deps, request.params.id);
        return { id: item.id, status: item.status };
      } catch (error) {
        return refusedResend(error, reply);
      }
    },
  );
}
