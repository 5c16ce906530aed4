import { errorCodes } from '../fse/error-catalogue.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const MIB = 1024 * 1024;

/** Validate the `error-codes` format: known kinds, well-formed codes (the message names them). */
export function assertErrorCodes(value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('must be an object of error kind to code, e.g. {"busy": "FSE_ER_042"}');
  errorCodes(value as Record<string, unknown>);
}

/** An object given as JSON text (an environment variable) is parsed; anything else kept. */
export function coerceJsonObject(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (value.trim() === '') return {};
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** Validate the `role-codes` format: an array of 1–32 character codes. */
export function assertRoleCodes(value: unknown): void {
  if (!Array.isArray(value)) throw new Error('must be an array of role codes');
  for (const code of value)
    if (typeof code !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(code))
      throw new Error(
        `role codes are 1-32 letters, digits, _ or -: value was ${JSON.stringify(code)}`,
      );
}

/**
 * The schema of on-demand retrieval ("recupero documento on demand"): the SOAP endpoint, its
 * caller's authentication, the worker queue, the package cache and the error catalogue
 * (formats `positive-int`, `error-codes` and `role-codes` are registered by schema.ts).
 */
export function onDemandSchema() {
  return {
    onDemand: {
      path: {
        doc: 'Path of the SOAP endpoint on the HTTP listener; the WSDL is at <path>?wsdl, the schema at <path>?xsd.',
        format: String,
        default: '/ws/recupero-documento',
        env: 'BRIDGE_ONDEMAND_PATH',
      },
      publicUrl: {
        doc: 'Address the WSDL gives for the endpoint, as callers reach it (e.g. https://bridge.asl.example.it/ws/recupero-documento behind a TLS proxy); empty builds it from the Host of the request for the WSDL.',
        format: String,
        default: '',
        env: 'BRIDGE_ONDEMAND_PUBLIC_URL',
      },
      authKind: {
        doc: 'How the FSE caller authenticates: none (only on a loopback http.host, behind a proxy that authenticates; on any other address the bridge refuses to start) or basic (HTTP Basic with onDemand.username and onDemand.password).',
        format: ['none', 'basic'],
        default: 'none',
        env: 'BRIDGE_ONDEMAND_AUTH',
      },
      username: {
        doc: 'User name the FSE caller presents (authKind basic).',
        format: String,
        default: '',
        env: 'BRIDGE_ONDEMAND_USERNAME',
      },
      password: {
        doc: 'Password the FSE caller presents (authKind basic).',
        format: String,
        default: '',
        env: 'BRIDGE_ONDEMAND_PASSWORD',
        sensitive: true,
      },
      concurrency: {
        doc: 'Packages built at once.',
        format: 'positive-int',
        default: 4,
        env: 'BRIDGE_ONDEMAND_CONCURRENCY',
      },
      maxQueued: {
        doc: 'Requests waiting for a worker; one more is answered at once as busy, with a retry hint.',
        format: 'non-negative-int',
        default: 10,
        env: 'BRIDGE_ONDEMAND_MAX_QUEUED',
      },
      defaultDeadlineMs: {
        doc: "The caller's deadline when its request names none (tempoMassimoAttesaMs), in milliseconds; a package not ready by then is answered ELAB_IN_CORSO and goes on being built.",
        format: 'positive-int',
        default: 20 * SECOND,
        env: 'BRIDGE_ONDEMAND_DEADLINE_MS',
      },
      maxDeadlineMs: {
        doc: 'Longest deadline a request may ask for, in milliseconds; longer ones are cut to it.',
        format: 'positive-int',
        default: 2 * MINUTE,
        env: 'BRIDGE_ONDEMAND_MAX_DEADLINE_MS',
      },
      jobTimeoutMs: {
        doc: 'A package still not built after this long is given up (deadline exceeded), in milliseconds.',
        format: 'positive-int',
        default: 30 * MINUTE,
        env: 'BRIDGE_ONDEMAND_JOB_TIMEOUT_MS',
      },
      inlineMaxBytes: {
        doc: 'Largest document sent inline as base64; larger ones go as MTOM attachments (as do all documents for callers that send MTOM or accept multipart/related).',
        format: 'positive-int',
        default: 64 * MIB,
        env: 'BRIDGE_ONDEMAND_INLINE_MAX_BYTES',
      },
      bodyLimitBytes: {
        doc: 'Largest SOAP request body accepted, in bytes; larger ones get a SOAP Fault (413).',
        format: 'positive-int',
        default: 64 * 1024,
        env: 'BRIDGE_ONDEMAND_BODY_LIMIT_BYTES',
      },
      cacheTtlMs: {
        doc: 'How long a built package stays in object storage (packages/) and is served again, in milliseconds.',
        format: 'positive-int',
        default: 24 * 60 * MINUTE,
        env: 'BRIDGE_ONDEMAND_CACHE_TTL_MS',
      },
      compressInstances: {
        doc: 'Deflate the DICOM files inside PDI ZIPs: smaller downloads for uncompressed images, much more CPU.',
        format: Boolean,
        default: false,
        env: 'BRIDGE_ONDEMAND_COMPRESS',
      },
      previewMaxSize: {
        doc: 'Longest side of an ANTEPRIMA_JPEG preview, in pixels.',
        format: 'positive-int',
        default: 512,
        env: 'BRIDGE_ONDEMAND_PREVIEW_SIZE',
      },
      previewQuality: {
        doc: 'JPEG quality of previews, 1-100.',
        format: 'positive-int',
        default: 85,
        env: 'BRIDGE_ONDEMAND_PREVIEW_QUALITY',
      },
      errorCodes: {
        doc: 'External codes (codice) of the internal error kinds, e.g. {"busy": "FSE_ER_042"}; kinds left out keep CL_ER_001..008 (document-unknown, document-obscured, study-not-found, pacs-unreachable, busy, deadline-exceeded, invalid-request, internal-error).',
        format: 'error-codes',
        default: {} as Record<string, string>,
        env: 'BRIDGE_ONDEMAND_ERROR_CODES',
      },
      guardianRoles: {
        doc: 'Role codes (ruolo) of parents and guardians acting for the patient, to whom P97 hides a document; any other role but the patient is a professional (P99).',
        format: 'role-codes',
        default: ['GEN', 'TUT'],
        env: 'BRIDGE_ONDEMAND_GUARDIAN_ROLES',
      },
    },
  };
}
