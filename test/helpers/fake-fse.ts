/**
 * A fake FSE side for the notification tests: a node:http server on 127.0.0.1 (port 0) that
 * checks every request strictly against docs/fse-notification.md, written independently of
 * the adapter so that a mistake in either shows up, and answers what the test scripts.
 *
 * - Invalid request (method, path, headers, body): 400 with the reason, whatever the script.
 * - Missing or wrong credentials when `auth` is set: 401.
 * - Valid request: the next scripted answer (`answers`), then `defaultAnswer` (200).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeAnswer =
  /** This status, with a regional-style body (esito SUCCESSO or FALLIMENTO). */
  | number
  | { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number }
  /** Never answer: the client times out (or the test closes the server). */
  | 'hang';

export type FakeAuth = { bearer: string } | { basic: { username: string; password: string } };

export interface FakeFseOptions {
  /** Path prefix of the service; default `/fse/v1`. */
  basePath?: string;
  auth?: FakeAuth;
  /** Answers to valid requests, in order. */
  answers?: FakeAnswer[];
  /** The answer once `answers` is used up; default 200. */
  defaultAnswer?: FakeAnswer;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  idempotencyKey: string | undefined;
  raw: string;
  /** The parsed JSON body, when it parsed. */
  body: unknown;
  valid: boolean;
  /** Why the request was refused (400/401). */
  reason: string | undefined;
  /** The status answered; undefined while hanging or when never answered. */
  status: number | undefined;
}

export const KINDS_BY_PATH: Record<string, 'images-available' | 'report-cancelled'> = {
  '/immagini-disponibili': 'images-available',
  '/referti-annullati': 'report-cancelled',
};

const MAX_BODY_BYTES = 64 * 1024;

export class FakeFse {
  readonly requests: ReceivedRequest[] = [];
  readonly #server: Server;
  readonly #options: FakeFseOptions;
  #answers: FakeAnswer[];
  #defaultAnswer: FakeAnswer;
  readonly #hanging = new Set<ServerResponse>();
  #closed: Promise<void> | undefined;

  private constructor(options: FakeFseOptions) {
    this.#options = options;
    this.#answers = [...(options.answers ?? [])];
    this.#defaultAnswer = options.defaultAnswer ?? 200;
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  static async start(options: FakeFseOptions = {}): Promise<FakeFse> {
    const fake = new FakeFse(options);
    await new Promise<void>((resolve, reject) => {
      fake.#server.once('error', reject);
      fake.#server.listen(0, '127.0.0.1', () => resolve());
    });
    return fake;
  }

  /** The base URL to configure in the notifier. */
  get baseUrl(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}${this.#options.basePath ?? '/fse/v1'}`;
  }

  /** Replaces the answers still to come, and optionally the default one. */
  script(answers: FakeAnswer[], defaultAnswer?: FakeAnswer): void {
    this.#answers = [...answers];
    if (defaultAnswer !== undefined) this.#defaultAnswer = defaultAnswer;
  }

  /** Requests received with this Idempotency-Key (valid or not, answered or not). */
  received(key: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.idempotencyKey === key);
  }

  /** Valid requests with this key answered 2xx: "taken in charge" as many times. */
  accepted(key: string): number {
    return this.received(key).filter(
      (r) => r.valid && r.status !== undefined && r.status >= 200 && r.status <= 299,
    ).length;
  }

  /** Keys received more than once, with how many times. */
  duplicates(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { idempotencyKey } of this.requests) {
      if (idempotencyKey !== undefined)
        counts.set(idempotencyKey, (counts.get(idempotencyKey) ?? 0) + 1);
    }
    return new Map([...counts].filter(([, n]) => n > 1));
  }

  /** Requests refused as invalid, with their reasons. */
  invalid(): ReceivedRequest[] {
    return this.requests.filter((r) => !r.valid);
  }

  /** Stops listening and cuts hanging requests and idle connections. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      for (const res of this.#hanging) res.destroy();
      this.#hanging.clear();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closed;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const record: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        idempotencyKey: header(req, 'idempotency-key'),
        raw,
        body: undefined,
        valid: false,
        reason: undefined,
        status: undefined,
      };
      this.requests.push(record);
      const authProblem = this.#checkAuth(req);
      if (authProblem) {
        record.reason = authProblem;
        this.#send(record, res, 401, failure('CL_ER_401', authProblem));
        return;
      }
      const problem = tooLarge ? `body larger than ${MAX_BODY_BYTES} bytes` : this.#check(record);
      if (problem) {
        record.reason = problem;
        this.#send(record, res, 400, failure('CL_ER_400', problem));
        return;
      }
      record.valid = true;
      this.#answer(record, res, this.#answers.shift() ?? this.#defaultAnswer);
    });
  }

  #answer(record: ReceivedRequest, res: ServerResponse, answer: FakeAnswer): void {
    if (answer === 'hang') {
      this.#hanging.add(res);
      res.on('close', () => this.#hanging.delete(res));
      return;
    }
    const { status, body, headers, delayMs } =
      typeof answer === 'number'
        ? { status: answer, body: undefined, headers: {}, delayMs: 0 }
        : answer;
    const payload =
      body ??
      (status < 300 ? { esito: 'SUCCESSO' } : failure(`CL_ER_${status}`, `scripted ${status}`));
    const reply = (): void => this.#send(record, res, status, payload, headers);
    if (delayMs) {
      this.#hanging.add(res);
      const timer = setTimeout(() => {
        this.#hanging.delete(res);
        reply();
      }, delayMs);
      res.on('close', () => clearTimeout(timer));
    } else reply();
  }

  #send(
    record: ReceivedRequest,
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (res.destroyed) return;
    record.status = status;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(text);
  }

  #checkAuth(req: IncomingMessage): string | undefined {
    const auth = this.#options.auth;
    if (!auth) return undefined;
    const expected =
      'bearer' in auth
        ? `Bearer ${auth.bearer}`
        : `Basic ${Buffer.from(`${auth.basic.username}:${auth.basic.password}`).toString('base64')}`;
    const given = header(req, 'authorization');
    if (given === undefined) return 'Authorization header missing';
    return given === expected ? undefined : 'Authorization refused';
  }

  /** The reason a request is invalid, or undefined. */
  #check(record: ReceivedRequest): string | undefined {
    if (record.method !== 'POST') return `method must be POST, was ${record.method}`;
    const base = this.#options.basePath ?? '/fse/v1';
    const path = record.path.startsWith(base) ? record.path.slice(base.length) : undefined;
    const kind = path === undefined ? undefined : KINDS_BY_PATH[path];
    if (kind === undefined) return `unknown path ${record.path}`;
    const contentType = record.headers['content-type'] ?? '';
    if (!/^application\/json(\s*;\s*charset=utf-8)?$/i.test(contentType))
      return `Content-Type must be application/json, was ${contentType}`;
    const key = record.idempotencyKey;
    if (key === undefined || key.length === 0) return 'Idempotency-Key header missing';
    if (key.length > 512 || !/^[\x20-\x7E]+$/.test(key))
      return 'Idempotency-Key must be at most 512 printable ASCII characters';
    if (!key.startsWith(`${kind}:`)) return `Idempotency-Key must start with ${kind}:`;
    try {
      record.body = JSON.parse(record.raw);
    } catch {
      return 'body is not JSON';
    }
    const problem = (kind === 'images-available' ? IMAGES_AVAILABLE : REPORT_CANCELLED)(
      record.body,
      'body',
    );
    if (problem) return problem;
    const body = record.body as Record<string, string>;
    if (body.notificationId !== key) return 'body.notificationId must equal the Idempotency-Key';
    const reportPrefix = `${kind}:${body.codCL}^${body.codDocumentoDipartimentale}:`;
    if (!key.startsWith(reportPrefix)) return `Idempotency-Key must start with ${reportPrefix}`;
    if (kind === 'images-available') {
      const manifest = (record.body as { manifest: { sopInstanceUid: string } }).manifest;
      if (key !== `${reportPrefix}${manifest.sopInstanceUid}`)
        return 'Idempotency-Key must end with the manifest SOP Instance UID';
    }
    return undefined;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function failure(codice: string, descrizione: string): unknown {
  return { esito: 'FALLIMENTO', errori: [{ codice, descrizione }] };
}

// A small schema language: each check returns the reason a value is invalid, or undefined.
type Check = (value: unknown, path: string) => string | undefined;

const UID = /^[0-9]+(\.[0-9]+)*$/;
const ISO_8601_WITH_OFFSET =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

const string =
  (min: number, max: number, pattern?: RegExp): Check =>
  (value, path) => {
    if (typeof value !== 'string') return `${path} must be a string`;
    if (value.length < min || value.length > max)
      return `${path} must have ${min} to ${max} characters`;
    // eslint-disable-next-line no-control-regex -- control characters are what it looks for
    if (/[\x00-\x1F\x7F]/.test(value)) return `${path} must not contain control characters`;
    if (pattern && !pattern.test(value)) return `${path} has an invalid format`;
    return undefined;
  };

const uid: Check = (value, path) =>
  typeof value === 'string' && value.length <= 64 && UID.test(value)
    ? undefined
    : `${path} must be a UID (digits and dots, at most 64 characters)`;

const timestamp: Check = (value, path) =>
  typeof value === 'string' && ISO_8601_WITH_OFFSET.test(value) && !Number.isNaN(Date.parse(value))
    ? undefined
    : `${path} must be an ISO 8601 date-time with offset`;

const positiveInt: Check = (value, path) =>
  typeof value === 'number' && Number.isInteger(value) && value >= 1
    ? undefined
    : `${path} must be a positive integer`;

const literal =
  (expected: unknown): Check =>
  (value, path) =>
    value === expected ? undefined : `${path} must be ${JSON.stringify(expected)}`;

const array =
  (item: Check, max: number, unique = false): Check =>
  (value, path) => {
    if (!Array.isArray(value)) return `${path} must be an array`;
    if (value.length === 0) return `${path} must not be empty`;
    if (value.length > max) return `${path} must have at most ${max} items`;
    for (const [i, element] of value.entries()) {
      const problem = item(element, `${path}[${i}]`);
      if (problem) return problem;
    }
    if (unique && new Set(value.map((v) => JSON.stringify(v))).size !== value.length)
      return `${path} has duplicates`;
    return undefined;
  };

const object =
  (required: Record<string, Check>, optional: Record<string, Check> = {}): Check =>
  (value, path) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return `${path} must be an object`;
    const fields = value as Record<string, unknown>;
    for (const key of Object.keys(fields)) {
      if (!(key in required) && !(key in optional)) return `${path}.${key} is not a known field`;
    }
    for (const [key, check] of Object.entries(required)) {
      if (!(key in fields)) return `${path}.${key} is required`;
      const problem = check(fields[key], `${path}.${key}`);
      if (problem) return problem;
    }
    for (const [key, check] of Object.entries(optional)) {
      if (!(key in fields)) continue;
      const problem = check(fields[key], `${path}.${key}`);
      if (problem) return problem;
    }
    return undefined;
  };

const docId = string(1, 256, /^[\x21-\x7E]([\x20-\x7E]*[\x21-\x7E])?$/);
const common = {
  version: literal(1),
  notificationId: string(1, 512),
  codCL: string(1, 64, /^[^\s^]+$/),
  codDocumentoDipartimentale: docId,
};

const IMAGES_AVAILABLE_SHAPE = object(
  {
    ...common,
    patientId: string(1, 64),
    accessionNumbers: array(
      object(
        { accessionNumber: string(1, 16, /^[^\\]+$/), dataNotificaPacs: timestamp },
        { issuer: string(1, 64) },
      ),
      100,
    ),
    studies: array(
      object({
        studyInstanceUid: uid,
        numberOfSeries: positiveInt,
        numberOfInstances: positiveInt,
      }),
      100,
    ),
    manifest: object(
      { sopInstanceUid: uid, studyInstanceUid: uid, retrieveAeTitle: string(1, 16, /^[^\\]+$/) },
      { retrieveLocationUid: uid },
    ),
  },
  {
    idDocumentoIlec: docId,
    codiceFiscale: string(16, 16, /^[A-Z0-9]{16}$/),
    issuerOfPatientId: string(1, 64),
  },
);

const IMAGES_AVAILABLE: Check = (value, path) => {
  const problem = IMAGES_AVAILABLE_SHAPE(value, path);
  if (problem) return problem;
  const body = value as {
    studies: Array<{ studyInstanceUid: string }>;
    manifest: { studyInstanceUid: string };
  };
  const uids = body.studies.map((s) => s.studyInstanceUid);
  if (new Set(uids).size !== uids.length) return `${path}.studies lists a study twice`;
  if (!uids.includes(body.manifest.studyInstanceUid))
    return `${path}.manifest.studyInstanceUid must be one of the studies`;
  return undefined;
};

const REPORT_CANCELLED = object(
  { ...common, cancelledAt: timestamp },
  {
    idDocumentoIlec: docId,
    accessionNumbers: array(
      object({ accessionNumber: string(1, 16, /^[^\\]+$/) }, { issuer: string(1, 64) }),
      100,
    ),
    studyInstanceUids: array(uid, 100, true),
    manifestSopInstanceUid: uid,
  },
);
