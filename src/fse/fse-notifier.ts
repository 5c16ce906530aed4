/**
 * Sends FSE notifications (designed here: no public specification exists; see
 * docs/fse-notification.md): `FseNotifier.send` POSTs a stored outbox entry and judges the
 * answer. Paths, headers and how an answer is classified live here; the message bodies are
 * built in `fse-messages.ts`. When the regional document arrives, these modules change, nothing
 * else.
 */
import { httpBody } from './fse-messages.js';
import { CONTROL } from './fse-validation.js';
import type { OutboxEntry, OutboxKind } from './outbox-entry.js';

/** Path of each kind under the configured base URL. */
export const NOTIFICATION_PATHS: Readonly<Record<OutboxKind, string>> = {
  'images-available': '/immagini-disponibili',
  'report-cancelled': '/referti-annullati',
};

/** Credentials for the FSE side; never logged. */
export type FseAuth =
  | { kind: 'none' }
  | { kind: 'bearer'; token: string }
  | { kind: 'basic'; username: string; password: string };

export interface FseNotifierOptions {
  /** e.g. `https://fse.example.it/bridge/v1`; each kind's path is appended. */
  baseUrl: string;
  /** Longest wait for an answer, body included, per attempt. */
  timeoutMs: number;
  auth?: FseAuth;
  /** Sent as User-Agent. */
  userAgent?: string;
  /** Replaces the global fetch (tests). */
  fetch?: typeof fetch;
}

/**
 * What an attempt came to (over HTTP here, over HL7 in `gateway-notifier.ts`):
 * - `delivered`: 2xx (or an HL7 AA), the FSE side took the notification in charge;
 * - `retry`: a transient failure (timeout, connection error, 408/409/425/429/5xx);
 * - `final`: a refusal sending again will not change (other 4xx, 3xx, 2xx with esito FALLIMENTO);
 * - `aborted`: cut short by the caller's signal (shutdown): no outcome, the item stays as it was.
 *
 * `reason` is ours and safe to log; `detail` is what the FSE side said (its body may echo
 * patient data: store it, do not log it).
 */
export type DeliveryOutcome =
  | { result: 'delivered'; httpStatus?: number }
  | {
      result: 'retry';
      httpStatus?: number;
      reason: string;
      detail?: string;
      /** From Retry-After, when the FSE side sent one. */
      retryAfterMs?: number;
    }
  | { result: 'final'; httpStatus?: number; reason: string; detail?: string }
  | { result: 'aborted' };

/** An option of `FseNotifier` is invalid: names it (never the secret's value). */
export class FseNotifierConfigError extends Error {
  override readonly name = 'FseNotifierConfigError';
}

/** The bytes of an answer body kept for `detail`; the rest is not read. */
export const MAX_RESPONSE_BYTES = 4 * 1024;
const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/**
 * How an HTTP status is judged (see docs/fse-notification.md for the reasons):
 * 2xx delivered; 408, 409, 425, 429 and 5xx retried; every other status final.
 */
export function classifyStatus(status: number): 'delivered' | 'retry' | 'final' {
  if (status >= 200 && status <= 299) return 'delivered';
  // 408 timeout, 425 too early, 429 throttled: the server asks to come back later. 409: under
  // Idempotency-Key semantics, a request with the same key is still being processed.
  if (status === 408 || status === 409 || status === 425 || status === 429) return 'retry';
  if (status >= 500 && status <= 599) return 'retry';
  return 'final';
}

/** Retry-After (delta-seconds or HTTP-date) in milliseconds from `now`; undefined if absent or invalid. */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // IMF-fixdate only: Date.parse alone would read almost anything ("-5") as some date.
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text))
    return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}

/**
 * Sends stored notifications to the FSE side: one JSON POST per attempt, with the outbox
 * idempotency key as `Idempotency-Key`, redirects not followed (a POST carrying patient data
 * and credentials goes to the configured host only).
 */
export class FseNotifier {
  readonly #baseUrl: string;
  readonly #timeoutMs: number;
  readonly #authorization: string | undefined;
  readonly #authKind: FseAuth['kind'];
  readonly #userAgent: string;
  readonly #fetch: typeof fetch;

  /** @throws FseNotifierConfigError naming the invalid option. */
  constructor(options: FseNotifierOptions) {
    this.#baseUrl = checkBaseUrl(options.baseUrl);
    if (
      !Number.isSafeInteger(options.timeoutMs) ||
      options.timeoutMs < 1 ||
      options.timeoutMs > MAX_TIMEOUT_MS
    ) {
      throw new FseNotifierConfigError(
        `timeoutMs must be an integer from 1 to ${MAX_TIMEOUT_MS}: ${String(options.timeoutMs)}`,
      );
    }
    this.#timeoutMs = options.timeoutMs;
    const auth = options.auth ?? { kind: 'none' };
    this.#authKind = auth.kind;
    this.#authorization = authorizationOf(auth);
    this.#userAgent = options.userAgent ?? 'pacs-fse-bridge';
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  /** Where and how it sends, for logs: never the credentials. */
  get description(): { baseUrl: string; auth: FseAuth['kind']; timeoutMs: number } {
    return { baseUrl: this.#baseUrl, auth: this.#authKind, timeoutMs: this.#timeoutMs };
  }

  /** The URL a notification of `kind` is POSTed to. */
  urlOf(kind: OutboxKind): string {
    return `${this.#baseUrl}${NOTIFICATION_PATHS[kind]}`;
  }

  /**
   * One attempt. Never throws: every failure is an outcome. `signal` aborts it (outcome
   * `aborted`); the configured timeout covers the whole exchange, body included.
   */
  async send(
    item: Pick<OutboxEntry, 'kind' | 'idempotencyKey' | 'payload'>,
    signal?: AbortSignal,
  ): Promise<DeliveryOutcome> {
    if (signal?.aborted) return { result: 'aborted' };
    // Not a header value (the builders never make such keys): no retry would change that.
    if (!/^[\x21-\x7E]([\x20-\x7E]*[\x21-\x7E])?$/.test(item.idempotencyKey))
      return { result: 'final', reason: 'idempotency key is not printable ASCII' };
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const headers: Record<string, string> = {
      'Content-Type': 'application/json; charset=utf-8',
      Accept: 'application/json',
      'Idempotency-Key': item.idempotencyKey,
      'User-Agent': this.#userAgent,
    };
    if (this.#authorization !== undefined) headers.Authorization = this.#authorization;

    let response: Response;
    try {
      response = await this.#fetch(this.urlOf(item.kind), {
        method: 'POST',
        headers,
        body: httpBody(item.payload),
        signal: combined,
        redirect: 'manual',
      });
    } catch (err) {
      if (signal?.aborted) return { result: 'aborted' };
      if (timeout.aborted)
        return { result: 'retry', reason: `no answer within ${this.#timeoutMs} ms` };
      return { result: 'retry', reason: `request failed: ${transportError(err)}` };
    }

    const status = response.status;
    let text: string | undefined;
    try {
      text = await readLimited(response, MAX_RESPONSE_BYTES);
    } catch {
      // The status is what the FSE side decided; a body cut short adds no detail.
      if (signal?.aborted && classifyStatus(status) !== 'delivered') return { result: 'aborted' };
    }
    const detail = text === undefined ? undefined : describeBody(text);
    switch (classifyStatus(status)) {
      case 'delivered': {
        // A regional service may answer 200 with esito FALLIMENTO: that is a refusal.
        const failure = text === undefined ? undefined : fallimento(text);
        if (failure !== undefined)
          return {
            result: 'final',
            httpStatus: status,
            reason: `HTTP ${status} with esito FALLIMENTO`,
            detail: failure,
          };
        return { result: 'delivered', httpStatus: status };
      }
      case 'retry': {
        const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), new Date());
        return {
          result: 'retry',
          httpStatus: status,
          reason: `HTTP ${status}`,
          ...(detail === undefined ? {} : { detail }),
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        };
      }
      case 'final':
        return {
          result: 'final',
          httpStatus: status,
          reason: status >= 300 && status <= 399 ? `HTTP ${status} (redirect)` : `HTTP ${status}`,
          ...(detail === undefined ? {} : { detail }),
        };
    }
  }
}

function checkBaseUrl(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new FseNotifierConfigError('baseUrl must be an http or https URL');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new FseNotifierConfigError(`baseUrl is not a URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new FseNotifierConfigError(`baseUrl must be http or https: ${url.protocol}`);
  // Credentials in the URL would end up in logs; they belong in `auth`.
  if (url.username !== '' || url.password !== '')
    throw new FseNotifierConfigError('baseUrl must not contain credentials: use auth');
  if (url.search !== '' || url.hash !== '')
    throw new FseNotifierConfigError('baseUrl must not have a query or fragment');
  return url.href.replace(/\/+$/, '');
}

function authorizationOf(auth: FseAuth): string | undefined {
  const headerSafe = (field: string, value: unknown, extra?: RegExp): string => {
    if (
      typeof value !== 'string' ||
      value.length === 0 ||
      CONTROL.test(value) ||
      extra?.test(value)
    )
      throw new FseNotifierConfigError(
        `auth.${field} must be a non-empty string without control characters${extra ? ' or ":"' : ''}`,
      );
    return value;
  };
  switch (auth.kind) {
    case 'none':
      return undefined;
    case 'bearer':
      return `Bearer ${headerSafe('token', auth.token)}`;
    case 'basic': {
      const user = headerSafe('username', auth.username, /:/);
      const password = headerSafe('password', auth.password);
      return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
    }
    default:
      throw new FseNotifierConfigError(
        `auth.kind must be none, bearer or basic: ${String((auth as { kind: unknown }).kind)}`,
      );
  }
}

async function readLimited(response: Response, maxBytes: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    // Stop reading a long body: the rest is not needed, and the connection must be released.
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}

/** `errori` of a regional-style JSON answer, else the body's text, trimmed. */
function describeBody(text: string): string | undefined {
  const errors = erroriOf(text);
  if (errors !== undefined) return errors;
  const trimmed = text.replace(/\s+/g, ' ').trim();
  return trimmed === '' ? undefined : trimmed.slice(0, 500);
}

function fallimento(text: string): string | undefined {
  const body = parseObject(text);
  if (body?.esito !== 'FALLIMENTO') return undefined;
  return erroriOf(text) ?? 'esito FALLIMENTO';
}

function erroriOf(text: string): string | undefined {
  const errori = parseObject(text)?.errori;
  if (!Array.isArray(errori) || errori.length === 0) return undefined;
  return errori
    .slice(0, 10)
    .map((e: unknown) => {
      const { codice, descrizione } = (e ?? {}) as { codice?: unknown; descrizione?: unknown };
      return `${String(codice ?? '?')}: ${String(descrizione ?? '')}`.slice(0, 300);
    })
    .join('; ');
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** A connection failure in words: undici puts the system error in `cause`. */
function transportError(err: unknown): string {
  const cause = err instanceof Error ? err.cause : undefined;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} ${cause.message}` : cause.message;
  }
  return err instanceof Error ? err.message : String(err);
}
