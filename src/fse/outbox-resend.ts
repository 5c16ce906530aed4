/**
 * Sending dead letters again, as operators ask it (the /api outbox routes and the admin API):
 * each is made pending again and the worker woken to send it at once.
 */
import type { OutboxItem } from './outbox-entry.js';
import type { OutboxStore } from './outbox-store.js';
import type { OutboxWorker } from './outbox-worker.js';

export interface ResendDeps {
  outbox: Pick<OutboxStore, 'resend' | 'resendAllDead'>;
  worker: Pick<OutboxWorker, 'wake'>;
}

/**
 * Dead letter `id`, pending again.
 *
 * @throws OutboxResendError when there is no such item, it is not dead, or a newer
 * notification of its report supersedes it.
 */
export function resendDeadLetter(deps: ResendDeps, id: number): OutboxItem {
  const item = deps.outbox.resend(id);
  deps.worker.wake();
  return item;
}

/** Every dead letter pending again: their ids. */
export function resendAllDeadLetters(deps: ResendDeps): number[] {
  const ids = deps.outbox.resendAllDead();
  deps.worker.wake();
  return ids;
}
