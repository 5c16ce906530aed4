import type { FastifyInstance, FastifyReply } from 'fastify';
import type { OutboxItem } from '../fse/outbox-entry.js';
import { OutboxResendError, type OutboxStore } from '../fse/outbox-store.js';
import type { OutboxWorker } from '../fse/outbox-worker.js';

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
  deps: { outbox: OutboxStore; worker: OutboxWorker },
): void {
  app.get('/api/outbox/counts', async () => deps.outbox.counts());
  app.get('/api/outbox/dead', async () => deps.outbox.listDeadLetters());
  app.post('/api/outbox/dead/resend', async () => {
    const ids = deps.outbox.resendAllDead();
    deps.worker.wake();
    return { resent: ids };
  });
  app.post<{ Params: { id: string } }>('/api/outbox/:id/resend', async (request, reply) => {
    const id = Number(request.params.id);
    if (!Number.isSafeInteger(id) || id < 1)
      return reply
        .code(400)
        .send({ error: 'bad-request', message: 'id must be a positive integer' });
    return resendDeadLetter(deps, id, reply);
  });
}

/**
 * Send dead letter `id` again and wake the worker: the answer is `{ id, status }`, or 404 / 409
 * when it cannot be resent. `resent` sees the item that was.
 */
export function resendDeadLetter(
  deps: { outbox: OutboxStore; worker: OutboxWorker },
  id: number,
  reply: FastifyReply,
  resent?: (item: OutboxItem) => void,
): { id: number; status: string } | FastifyReply {
  try {
    const item = deps.outbox.resend(id);
    deps.worker.wake();
    resent?.(item);
    return { id: item.id, status: item.status };
  } catch (error) {
    if (!(error instanceof OutboxResendError)) throw error;
    return reply
      .code(error.reason === 'not-found' ? 404 : 409)
      .send({ error: error.reason, message: error.message });
  }
}
