/**
 * The one adapter for the FSE notification wire format (designed here: no public specification
 * exists; see docs/fse-notification.md). Everything that knows paths, headers, field names or
 * how an answer is judged lives in this module, so that the regional document, when it arrives,
 * changes this file only.
 *
 * Two halves:
 * - building: `imagesAvailableEntry` / `reportCancelledEntry` validate what the bridge knows and
 *   turn it into an outbox entry (kind, report key, idempotency key, JSON body), so that a bad
 *   message is refused to its caller at once instead of being dead-lettered later;
 * - sending: `FseNotifier.send` POSTs a stored entry and judges the answer.
 */
import { isValidUid } from '../dicom/uid.js';
import type { OutboxEntry, OutboxKind } from './outbox-store.js';

/** Version of the message bodies below; bumped when a field changes meaning or is removed. */
export const MESSAGE_VERSION = 1;

/** Path of each kind under the configured base URL. */
export const NOTIFICATION_PATHS: Readonly<Record<OutboxKind, string>> = {
  'images-available': '/immagini-disponibili',
  'report-cancelled': '/referti-annullati',
};

/** Upper bounds of the arrays of a message: a report covers a handful of studies. */
export const MAX_ACCESSION_NUMBERS = 100;
export const MAX_STUDIES = 100;

// ---------------------------------------------------------------------------------------------
// Messages

/** One accession number of the report and when the PACS notified its images. */
export interface AccessionInput {
  accessionNumber: string;
  /** Issuer of the accession number; omitted (or '') when unknown. */
  issuer?: string;
  /** When the images of this accession were notified as available (ISO 8601 with offset). */
  dataNotificaPacs: Date | string;
}

export interface StudyCounts {
  studyInstanceUid: string;
  numberOfSeries: number;
  numberOfInstances: number;
}

/** The KOS manifest (IHE XDS-I.b) that links the images to the report. */
export interface ManifestReference {
  sopInstanceUid: string;
  /** The study the manifest belongs to: one of the message's studies. */
  studyInstanceUid: string;
  /** AE title the images (and the manifest) are retrieved from: the bridge's. */
  retrieveAeTitle: string;
  retrieveLocationUid?: string;
}

/**
 * "Images are available for this report." Optional text fields may also be '' for "unknown".
 * List only the accessions whose images are available (each has its dataNotificaPacs).
 */
export interface ImagesAvailableInput {
  codCL: string;
  codDocumentoDipartimentale: string;
  idDocumentoIlec?: string;
  /** The patient's codice fiscale, when known. */
  codiceFiscale?: string;
  patientId: string;
  /** Issuer of the patient id; omitted when unknown (e.g. a PACS without IssuerOfPatientID). */
  issuerOfPatientId?: string;
  accessionNumbers: AccessionInput[];
  studies: StudyCounts[];
  manifest: ManifestReference;
}

/** "This report was cancelled (MDM^T11): its images are no longer linked to it." */
export interface ReportCancelledInput {
  codCL: string;
  codDocumentoDipartimentale: string;
  idDocumentoIlec?: string;
  /** When the report was cancelled (ISO 8601 with offset). */
  cancelledAt: Date | string;
  /**
   * Identifies the cancellation: the version of the report cancelled, or the HL7 message
   * control id (MSH-10). The same event enqueued twice is one notification. 1-199 printable
   * ASCII characters without `:`.
   */
  eventId: string;
  accessionNumbers?: Array<{ accessionNumber: string; issuer?: string }>;
  /** The studies that were linked to the report and no longer are. */
  studyInstanceUids?: string[];
  /** The manifest withdrawn with the link. */
  manifestSopInstanceUid?: string;
}

/** A message cannot be built: names the field (never the patient data it held). */
export class FseMessageError extends Error {
  override readonly name = 'FseMessageError';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field} ${problem}`);
  }
}

/**
 * The report's id in the outbox: codCL and codDocumentoDipartimentale joined by `^` (the
 * separator of regional document ids; codCL cannot contain it).
 */
export function reportKeyOf(codCL: string, codDocumentoDipartimentale: string): string {
  checkCodCL('codCL', codCL);
  checkDocumentId('codDocumentoDipartimentale', codDocumentoDipartimentale, 128);
  return `${codCL}^${codDocumentoDipartimentale}`;
}

const IMAGES_AVAILABLE_FIELDS = [
  'codCL',
  'codDocumentoDipartimentale',
  'idDocumentoIlec',
  'codiceFiscale',
  'patientId',
  'issuerOfPatientId',
  'accessionNumbers',
  'studies',
  'manifest',
];

/**
 * The outbox entry telling the FSE side that images are available for a report. Its
 * idempotency key is `images-available:<report key>:<manifest SOP Instance UID>`: a manifest
 * re-issued (new UID) after more images arrived is a new notification; the same one enqueued
 * again is not.
 *
 * @throws FseMessageError naming the first field that is missing, unknown or invalid.
 */
export function imagesAvailableEntry(input: ImagesAvailableInput): OutboxEntry {
  const source = record('message', input, IMAGES_AVAILABLE_FIELDS);
  const reportKey = reportKeyOf(
    source.codCL as string,
    source.codDocumentoDipartimentale as string,
  );
  const manifest = record('manifest', source.manifest, [
    'sopInstanceUid',
    'studyInstanceUid',
    'retrieveAeTitle',
    'retrieveLocationUid',
  ]);
  const manifestUid = checkUid('manifest.sopInstanceUid', manifest.sopInstanceUid);
  const idempotencyKey = `images-available:${reportKey}:${manifestUid}`;
  const body = {
    version: MESSAGE_VERSION,
    notificationId: idempotencyKey,
    codCL: source.codCL,
    codDocumentoDipartimentale: source.codDocumentoDipartimentale,
    ...optional('idDocumentoIlec', source.idDocumentoIlec, (f, v) => checkDocumentId(f, v, 256)),
    ...optional('codiceFiscale', source.codiceFiscale, checkCodiceFiscale),
    patientId: checkText('patientId', source.patientId, 64),
    ...optional('issuerOfPatientId', source.issuerOfPatientId, (f, v) => checkText(f, v, 64)),
    accessionNumbers: list('accessionNumbers', source.accessionNumbers, MAX_ACCESSION_NUMBERS).map(
      (value, i) => {
        const field = `accessionNumbers[${i}]`;
        const a = record(field, value, ['accessionNumber', 'issuer', 'dataNotificaPacs']);
        return {
          accessionNumber: checkAccession(`${field}.accessionNumber`, a.accessionNumber),
          ...optional('issuer', a.issuer, (f, v) => checkText(f, v, 64), `${field}.issuer`),
          dataNotificaPacs: timestamp(`${field}.dataNotificaPacs`, a.dataNotificaPacs),
        };
      },
    ),
    studies: list('studies', source.studies, MAX_STUDIES).map((value, i) => {
      const field = `studies[${i}]`;
      const s = record(field, value, ['studyInstanceUid', 'numberOfSeries', 'numberOfInstances']);
      return {
        studyInstanceUid: checkUid(`${field}.studyInstanceUid`, s.studyInstanceUid),
        numberOfSeries: count(`${field}.numberOfSeries`, s.numberOfSeries),
        numberOfInstances: count(`${field}.numberOfInstances`, s.numberOfInstances),
      };
    }),
    manifest: {
      sopInstanceUid: manifestUid,
      studyInstanceUid: checkUid('manifest.studyInstanceUid', manifest.studyInstanceUid),
      retrieveAeTitle: checkAeTitle('manifest.retrieveAeTitle', manifest.retrieveAeTitle),
      ...optional(
        'retrieveLocationUid',
        manifest.retrieveLocationUid,
        checkUid,
        'manifest.retrieveLocationUid',
      ),
    },
  };
  unique(
    'studies',
    body.studies.map((s) => s.studyInstanceUid),
  );
  if (!body.studies.some((s) => s.studyInstanceUid === body.manifest.studyInstanceUid)) {
    throw new FseMessageError('manifest.studyInstanceUid', 'must be one of the studies');
  }
  return { kind: 'images-available', reportKey, idempotencyKey, payload: JSON.stringify(body) };
}

const REPORT_CANCELLED_FIELDS = [
  'codCL',
  'codDocumentoDipartimentale',
  'idDocumentoIlec',
  'cancelledAt',
  'eventId',
  'accessionNumbers',
  'studyInstanceUids',
  'manifestSopInstanceUid',
];

/**
 * The outbox entry telling the FSE side that a report was cancelled and its images unlinked.
 * Idempotency key: `report-cancelled:<report key>:<eventId>`.
 *
 * @throws FseMessageError naming the first field that is missing, unknown or invalid.
 */
export function reportCancelledEntry(input: ReportCancelledInput): OutboxEntry {
  const source = record('message', input, REPORT_CANCELLED_FIELDS);
  const reportKey = reportKeyOf(
    source.codCL as string,
    source.codDocumentoDipartimentale as string,
  );
  const eventId = source.eventId;
  if (typeof eventId !== 'string' || !/^[\x21-\x39\x3B-\x7E]{1,199}$/.test(eventId)) {
    throw new FseMessageError('eventId', 'must be 1-199 printable ASCII characters without ":"');
  }
  const idempotencyKey = `report-cancelled:${reportKey}:${eventId}`;
  const body = {
    version: MESSAGE_VERSION,
    notificationId: idempotencyKey,
    codCL: source.codCL,
    codDocumentoDipartimentale: source.codDocumentoDipartimentale,
    ...optional('idDocumentoIlec', source.idDocumentoIlec, (f, v) => checkDocumentId(f, v, 256)),
    cancelledAt: timestamp('cancelledAt', source.cancelledAt),
    ...(source.accessionNumbers === undefined
      ? {}
      : {
          accessionNumbers: list(
            'accessionNumbers',
            source.accessionNumbers,
            MAX_ACCESSION_NUMBERS,
          ).map((value, i) => {
            const field = `accessionNumbers[${i}]`;
            const a = record(field, value, ['accessionNumber', 'issuer']);
            return {
              accessionNumber: checkAccession(`${field}.accessionNumber`, a.accessionNumber),
              ...optional('issuer', a.issuer, (f, v) => checkText(f, v, 64), `${field}.issuer`),
            };
          }),
        }),
    ...(source.studyInstanceUids === undefined
      ? {}
      : {
          studyInstanceUids: unique(
            'studyInstanceUids',
            list('studyInstanceUids', source.studyInstanceUids, MAX_STUDIES).map((uid, i) =>
              checkUid(`studyInstanceUids[${i}]`, uid),
            ),
          ),
        }),
    ...optional('manifestSopInstanceUid', source.manifestSopInstanceUid, checkUid),
  };
  return { kind: 'report-cancelled', reportKey, idempotencyKey, payload: JSON.stringify(body) };
}

/** A notification as the report linker hands it over: kind, keys and the message's fields. */
export interface Notification {
  kind: OutboxKind;
  reportKey: string;
  idempotencyKey: string;
  payload: Record<string, unknown>;
}

/**
 * Builds the outbox entry of a notification whose fields come from elsewhere (the report
 * linker): the payload goes through the builder of its kind, and the keys given must be the
 * ones the builder derives (for a cancellation, the part after `report-cancelled:<report key>:`
 * is the event id).
 *
 * @throws FseMessageError naming the first field that is missing, unknown or invalid, or
 * `idempotencyKey` / `reportKey` when they do not match the message.
 */
export function toOutboxEntry(notification: Notification): OutboxEntry {
  let entry: OutboxEntry;
  if (notification.kind === 'images-available') {
    entry = imagesAvailableEntry(notification.payload as unknown as ImagesAvailableInput);
  } else if (notification.kind === 'report-cancelled') {
    const prefix = `report-cancelled:${notification.reportKey}:`;
    if (!notification.idempotencyKey.startsWith(prefix))
      throw new FseMessageError('idempotencyKey', `must start with ${JSON.stringify(prefix)}`);
    entry = reportCancelledEntry({
      ...(notification.payload as unknown as Omit<ReportCancelledInput, 'eventId'>),
      eventId: notification.idempotencyKey.slice(prefix.length),
    });
  } else {
    throw new FseMessageError('kind', `is unknown: ${JSON.stringify(String(notification.kind))}`);
  }
  if (entry.reportKey !== notification.reportKey)
    throw new FseMessageError('reportKey', `must be ${JSON.stringify(entry.reportKey)}`);
  if (entry.idempotencyKey !== notification.idempotencyKey)
    throw new FseMessageError('idempotencyKey', `must be ${JSON.stringify(entry.idempotencyKey)}`);
  return entry;
}

// Field checks: each returns the value it accepted, or throws naming the field. Values that
// may be patient data are never quoted in the error.

// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL = /[\x00-\x1F\x7F]/;
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function record(field: string, value: unknown, allowed: string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new FseMessageError(field, 'must be an object');
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      throw new FseMessageError(`${field}.${key}`, 'is not a known field');
  }
  return value as Record<string, unknown>;
}

/**
 * `{ [key]: value }` when `value` is given (checked under the name `field`), else `{}`;
 * '' counts as not given.
 */
function optional<K extends string>(
  key: K,
  value: unknown,
  check: (field: string, value: unknown) => string,
  field: string = key,
): Partial<Record<K, string>> {
  if (value === undefined || value === '') return {};
  return { [key]: check(field, value) } as Record<K, string>;
}

function checkText(field: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > max)
    throw new FseMessageError(field, `must be a non-blank string of at most ${max} characters`);
  if (CONTROL.test(value)) throw new FseMessageError(field, 'must not contain control characters');
  return value;
}

function checkCodCL(field: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[\x21-\x5D\x5F-\x7E]{1,64}$/.test(value))
    throw new FseMessageError(field, `must be 1-64 printable ASCII characters without "^"`);
  return value;
}

/** Document ids travel in the Idempotency-Key header: printable ASCII, no edge spaces. */
function checkDocumentId(field: string, value: unknown, max: number): string {
  if (
    typeof value !== 'string' ||
    value.length > max ||
    !/^[\x21-\x7E]([\x20-\x7E]*[\x21-\x7E])?$/.test(value)
  )
    throw new FseMessageError(
      field,
      `must be 1-${max} printable ASCII characters, not starting or ending with a space: ${JSON.stringify(String(value).slice(0, 80))}`,
    );
  return value;
}

function checkCodiceFiscale(field: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Z0-9]{16}$/.test(value))
    throw new FseMessageError(field, 'must be 16 upper-case letters or digits');
  return value;
}

function checkAccession(field: string, value: unknown): string {
  const text = checkText(field, value, 16);
  if (text.includes('\\')) throw new FseMessageError(field, 'must not contain "\\"');
  return text;
}

function checkAeTitle(field: string, value: unknown): string {
  const text = checkText(field, value, 16);
  if (text.includes('\\')) throw new FseMessageError(field, 'must not contain "\\"');
  return text;
}

function checkUid(field: string, value: unknown): string {
  if (typeof value !== 'string' || !isValidUid(value))
    throw new FseMessageError(
      field,
      `must be a DICOM UID (digits and dots, at most 64 characters): ${JSON.stringify(String(value).slice(0, 80))}`,
    );
  return value;
}

function timestamp(field: string, value: unknown): string {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new FseMessageError(field, 'is an invalid date');
    return value.toISOString();
  }
  if (
    typeof value !== 'string' ||
    !ISO_WITH_OFFSET.test(value) ||
    Number.isNaN(Date.parse(value))
  ) {
    throw new FseMessageError(
      field,
      `must be an ISO 8601 date-time with offset (e.g. 2024-03-01T10:15:00+01:00): ${JSON.stringify(String(value).slice(0, 40))}`,
    );
  }
  return value;
}

function count(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw new FseMessageError(field, `must be a positive integer: ${String(value)}`);
  return value;
}

function list(field: string, value: unknown, max: number): readonly unknown[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > max)
    throw new FseMessageError(field, `must list 1 to ${max} items`);
  return value as readonly unknown[];
}

function unique(field: string, values: string[]): string[] {
  const seen = new Set<string>();
  for (const value of values) {
    if (seen.has(value)) throw new FseMessageError(field, `lists ${value} twice`);
    seen.add(value);
  }
  return values;
}

// ---------------------------------------------------------------------------------------------
// Sending

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
 * What an attempt came to:
 * - `delivered`: 2xx, the FSE side took the notification in charge;
 * - `retry`: a transient failure (timeout, connection error, 408/409/425/429/5xx);
 * - `final`: a refusal sending again will not change (other 4xx, 3xx, 2xx with esito FALLIMENTO);
 * - `aborted`: cut short by the caller's signal (shutdown): no outcome, the item stays as it was.
 *
 * `reason` is ours and safe to log; `detail` is what the FSE side said (its body may echo
 * patient data: store it, do not log it).
 */
export type DeliveryOutcome =
  | { result: 'delivered'; httpStatus: number }
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
        body: item.payload,
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
