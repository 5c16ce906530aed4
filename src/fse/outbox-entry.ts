/**
 * What the outbox holds: the entry a caller enqueues (and the checks it must pass), the item
 * it becomes, and how a row of the `outbox` table maps to that item. The table itself is
 * `OutboxStore`'s.
 */
import { randomBytes } from 'node:crypto';

/** What a notification tells the FSE side. */
export type OutboxKind = 'images-available' | 'report-cancelled';
export const OUTBOX_KINDS: readonly OutboxKind[] = ['images-available', 'report-cancelled'];

/**
 * - `pending`: to be sent (again) at `nextAttemptAt`;
 * - `delivered`: the FSE side answered 2xx: taken in charge, which is all a positive answer means;
 * - `dead`: refused for good (a final answer, or too many failed attempts); kept for an operator
 *   to read and re-send.
 */
export type OutboxStatus = 'pending' | 'delivered' | 'dead';

/** A notification to enqueue: made by `fse-messages.ts`, which owns the wire format. */
export interface OutboxEntry {
  kind: OutboxKind;
  /** The report's id: codCL and codDocumentoDipartimentale (see `reportKeyOf`). */
  reportKey: string;
  /** Unique per notification; also the Idempotency-Key header of every attempt. */
  idempotencyKey: string;
  /** The request body, JSON text of an object, sent unchanged at every attempt. */
  payload: string;
}

/** One row of the outbox. */
export interface OutboxItem extends OutboxEntry {
  id: number;
  /**
   * The message control id (MSH-10) of the HL7 message carrying this notification: unique,
   * fixed when it was enqueued, the same at every attempt.
   */
  messageId: string;
  status: OutboxStatus;
  /** Attempts that got an outcome; an attempt cut short by a shutdown is not counted. */
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | undefined;
  lastHttpStatus: number | undefined;
  createdAt: Date;
  updatedAt: Date;
  deliveredAt: Date | undefined;
}

/** A dead letter as an operator lists it: everything but the payload, which holds patient data. */
export type DeadLetter = Omit<OutboxItem, 'payload'>;

/** An entry that cannot be stored: names the field and the value. */
export class OutboxEntryError extends Error {
  override readonly name = 'OutboxEntryError';
}

/** Longest `last_error` kept: a response body excerpt is enough to act on. */
export const MAX_ERROR_CHARS = 2_000;
/** Longest payload accepted: a notification lists ids and counts, never images. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
/** Longest report key and idempotency key (the latter travels in an HTTP header). */
export const MAX_KEY_CHARS = 512;

/** One row of the `outbox` table as SQLite returns it. */
export interface OutboxRow {
  id: number;
  kind: string;
  report_key: string;
  idempotency_key: string;
  payload: string;
  status: string;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  last_http_status: number | null;
  created_at: string;
  updated_at: string;
  delivered_at: string | null;
  message_id: string;
}

/** The columns of `OutboxRow`, for a SELECT. */
export const OUTBOX_COLUMNS = `id, kind, report_key, idempotency_key, payload, status, attempts,
  next_attempt_at, last_error, last_http_status, created_at, updated_at, delivered_at, message_id`;

/** @throws OutboxEntryError when a field is missing or out of bounds, naming it. */
export function checkEntry(entry: OutboxEntry): void {
  if (!OUTBOX_KINDS.includes(entry.kind)) {
    throw new OutboxEntryError(`kind must be one of ${OUTBOX_KINDS.join(', ')}: ${entry.kind}`);
  }
  for (const field of ['reportKey', 'idempotencyKey'] as const) {
    const value = entry[field];
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_KEY_CHARS) {
      throw new OutboxEntryError(
        `${field} must be a string of 1 to ${MAX_KEY_CHARS} characters: ${String(value).slice(0, 80)}`,
      );
    }
  }
  if (Buffer.byteLength(entry.payload) > MAX_PAYLOAD_BYTES) {
    throw new OutboxEntryError(`payload must be at most ${MAX_PAYLOAD_BYTES} bytes`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(entry.payload);
  } catch {
    throw new OutboxEntryError('payload must be JSON text');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new OutboxEntryError('payload must be a JSON object');
  }
}

/**
 * A new message control id: 20 upper-case hexadecimal digits (80 random bits), the length
 * HL7 v2.5 gives MSH-10.
 */
export function newMessageId(): string {
  return randomBytes(10).toString('hex').toUpperCase();
}

/** `text` cut to `MAX_ERROR_CHARS` (for `last_error`). */
export function clip(text: string): string {
  return text.length <= MAX_ERROR_CHARS ? text : `${text.slice(0, MAX_ERROR_CHARS - 1)}…`;
}

/** The item a row stands for. */
export function toItem(row: OutboxRow): OutboxItem {
  return {
    id: row.id,
    messageId: row.message_id,
    kind: row.kind as OutboxKind,
    reportKey: row.report_key,
    idempotencyKey: row.idempotency_key,
    payload: row.payload,
    status: row.status as OutboxStatus,
    attempts: row.attempts,
    nextAttemptAt: new Date(row.next_attempt_at),
    lastError: row.last_error ?? undefined,
    lastHttpStatus: row.last_http_status ?? undefined,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    deliveredAt: row.delivered_at === null ? undefined : new Date(row.delivered_at),
  };
}
