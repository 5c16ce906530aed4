import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { errorCodes } from '../fse/error-catalogue.js';
import { DEFAULT_PDI_SETTINGS, UNPRINTABLE } from '../fse/pdi-manifest.js';

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

/** A validator of arrays of 1–32 character codes, its message naming what they are. */
function assertCodes(what: string): (value: unknown) => void {
  return (value) => {
    if (!Array.isArray(value)) throw new Error(`must be an array of ${what}`);
    for (const code of value)
      if (typeof code !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(code))
        throw new Error(
          `${what} are 1-32 letters, digits, _ or -: value was ${JSON.stringify(code)}`,
        );
  };
}

/** Validate the `role-codes` format: an array of 1–32 character codes. */
export const assertRoleCodes = assertCodes('role codes');

const MAX_PDI_TEXT = 200;

/** Text printed in PDI packages: at most 200 characters, none of them a control character. */
export function assertPdiText(value: unknown): void {
  if (typeof value !== 'string' || value.length > MAX_PDI_TEXT || UNPRINTABLE.test(value))
    throw new Error(
      `must be text of at most ${MAX_PDI_TEXT} characters, without control characters or line breaks: value was ${JSON.stringify(value)}`,
    );
}

/** A telephone number as people write it (digits, spaces, + ( ) . / -), or empty. */
export function assertPhone(value: unknown): void {
  if (typeof value !== 'string' || (value !== '' && !/^\+?[0-9 ()./-]{3,32}$/.test(value)))
    throw new Error(
      `must be a telephone number (digits, spaces, + ( ) . / -), or empty: value was ${JSON.stringify(value)}`,
    );
}

/** An e-mail address, or empty. */
export function assertEmail(value: unknown): void {
  if (
    typeof value !== 'string' ||
    (value !== '' &&
      (value.length > 254 || !/^[^\s@<>"()]+@[^\s@<>"()]+\.[^\s@<>"()]+$/.test(value)))
  )
    throw new Error(`must be an e-mail address, or empty: value was ${JSON.stringify(value)}`);
}

/** An existing directory (relative to the working directory), or empty. */
export function assertDirectory(value: unknown): void {
  if (typeof value !== 'string')
    throw new Error(`must be a directory path: value was ${JSON.stringify(value)}`);
  if (value === '') return;
  let isDirectory = false;
  try {
    isDirectory = statSync(resolve(value)).isDirectory();
  } catch {
    // Reported below, as for a path that is not a directory.
  }
  if (!isDirectory)
    throw new Error(`must be an existing directory, or empty: value was ${JSON.stringify(value)}`);
}

/** An IANA time zone name the runtime knows, such as Europe/Rome. */
export function assertTimeZone(value: unknown): void {
  let known = false;
  try {
    known =
      typeof value === 'string' &&
      value !== '' &&
      Boolean(new Intl.DateTimeFormat('en', { timeZone: value }));
  } catch {
    // RangeError: not a time zone.
  }
  if (!known)
    throw new Error(
      `must be an IANA time zone such as Europe/Rome: value was ${JSON.stringify(value)}`,
    );
}

/** The formats of the `onDemand.pdi` keys, for convict. */
export const PDI_FORMATS = [
  { name: 'pdi-text', validate: assertPdiText },
  { name: 'phone-or-empty', validate: assertPhone },
  { name: 'email-or-empty', validate: assertEmail },
  { name: 'directory-or-empty', validate: assertDirectory },
  { name: 'time-zone', validate: assertTimeZone },
];

/** Codes given as a comma-separated list (an environment variable) are split. */
export function coerceCodes(value: unknown): unknown {
  return typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
}

/** A URL path: starts with /, no query, fragment or white space. */
function assertUrlPath(value: unknown): void {
  if (typeof value !== 'string' || !value.startsWith('/') || /[?#\s]/.test(value))
    throw new Error(`must be a URL path starting with /: value was ${JSON.stringify(value)}`);
}

/** An http or https URL, or empty. */
function assertHttpUrlOrEmpty(value: unknown): void {
  let valid = value === '';
  try {
    const url = new URL(String(value));
    valid ||= url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    // Not a URL: reported below.
  }
  if (typeof value !== 'string' || !valid)
    throw new Error(`must be an http or https URL, or empty: value was ${JSON.stringify(value)}`);
}

/** The formats of the `onDemand.getDocumento` keys, for convict. */
export const GET_DOCUMENTO_FORMATS = [
  { name: 'file-type-codes', validate: assertCodes('file type codes'), coerce: coerceCodes },
  { name: 'url-path', validate: assertUrlPath },
  { name: 'http-url-or-empty', validate: assertHttpUrlOrEmpty },
];

/** GetDocumento of CLEpisodioService: where it is served, and how its WS-Security is judged. */
export interface GetDocumentoSettings {
  path: string;
  publicUrl: string;
  pdiFileTypes: string[];
  clockSkewMs: number;
  maxMessageAgeMs: number;
}

/** The region's own on-demand operation: GetDocumento of CLEpisodioService. */
function getDocumentoSchema() {
  return {
    path: {
      doc: "Path of the region's CLEpisodioService endpoint (operation GetDocumento) on the HTTP listener; the WSDL is at <path>?wsdl, the schemas at <path>?xsd=es, dma and lbl. It must differ from onDemand.path.",
      format: 'url-path',
      default: '/ws/CLEpisodioService',
      env: 'BRIDGE_GETDOCUMENTO_PATH',
    },
    publicUrl: {
      doc: 'Address the CLEpisodioService WSDL gives for its endpoint, as callers reach it (behind a TLS proxy); empty builds it from the Host of the request for the WSDL.',
      format: 'http-url-or-empty',
      default: '',
      env: 'BRIDGE_GETDOCUMENTO_PUBLIC_URL',
    },
    pdiFileTypes: {
      doc: "Codes of metadatiDocumento/tipoFileDocumento (any case) for which GetDocumento answers with the PDI ZIP of the report's images; any other code, or none, gets the KOS manifest.",
      format: 'file-type-codes',
      default: ['PDI_ZIP', 'PDI', 'ZIP'],
      env: 'BRIDGE_GETDOCUMENTO_PDI_FILE_TYPES',
    },
    clockSkewMs: {
      doc: "How far a caller's clock may be from the bridge's when its WS-Security Timestamp and UsernameToken Created are judged, in milliseconds.",
      format: 'non-negative-int',
      default: 1 * MINUTE,
      env: 'BRIDGE_WSS_CLOCK_SKEW_MS',
    },
    maxMessageAgeMs: {
      doc: 'Oldest WS-Security Created accepted (Timestamp and UsernameToken), beyond the clock skew, in milliseconds; a UsernameToken nonce is remembered as long, and a second request with it refused.',
      format: 'positive-int',
      default: 5 * MINUTE,
      env: 'BRIDGE_WSS_MAX_AGE_MS',
    },
  };
}

/**
 * Who made PDI packages and whom to contact, their time zone, the viewer they ship and the
 * transfer syntax of their files.
 */
function pdiSchema() {
  const defaults = DEFAULT_PDI_SETTINGS;
  return {
    institutionName: {
      doc: 'Name of the health institution that makes the PDI packages, written in their README.TXT and INDEX.HTM (up to 200 characters, no line breaks); empty writes that the institution is not configured.',
      format: 'pdi-text',
      default: defaults.institutionName,
      env: 'BRIDGE_PDI_INSTITUTION',
    },
    department: {
      doc: 'Department to contact about the images of a PDI package (e.g. Radiologia); empty leaves it out. With department, phone, email and address all empty, packages say no contact is configured.',
      format: 'pdi-text',
      default: defaults.department,
      env: 'BRIDGE_PDI_DEPARTMENT',
    },
    phone: {
      doc: 'Telephone number to contact, written in PDI packages; empty leaves it out.',
      format: 'phone-or-empty',
      default: defaults.phone,
      env: 'BRIDGE_PDI_PHONE',
    },
    email: {
      doc: 'E-mail address to contact, written in PDI packages; empty leaves it out.',
      format: 'email-or-empty',
      default: defaults.email,
      env: 'BRIDGE_PDI_EMAIL',
    },
    address: {
      doc: 'Postal address of the institution, written in PDI packages; empty leaves it out.',
      format: 'pdi-text',
      default: defaults.address,
      env: 'BRIDGE_PDI_ADDRESS',
    },
    viewerDir: {
      doc: "Directory whose files every PDI package ships under VIEWER/, names kept (a DICOM viewer for the patient's computer); it must exist at start (relative to the working directory). Empty ships no viewer, and README.TXT says none is included.",
      format: 'directory-or-empty',
      default: defaults.viewerDir,
      env: 'BRIDGE_PDI_VIEWER_DIR',
    },
    timeZone: {
      doc: 'Time zone the creation date of PDI packages is written in (IANA name).',
      format: 'time-zone',
      default: defaults.timeZone,
      env: 'BRIDGE_PDI_TIME_ZONE',
    },
    transferSyntax: {
      doc: 'Transfer syntax of the DICOM files in PDI packages: as-stored (each file as received) or explicit-little-endian (converted into Explicit VR Little Endian when nothing is lost, for viewers that read only uncompressed files, as the General Purpose CD-R profile of PS3.11 has it; the DICOMDIR names the syntax of each file, and one that cannot be converted is written as stored).',
      format: ['as-stored', 'explicit-little-endian'],
      default: defaults.transferSyntax,
      env: 'BRIDGE_PDI_TRANSFER_SYNTAX',
    },
    decompressLossy: {
      doc: 'With transferSyntax explicit-little-endian, decompress images stored lossy-compressed too (they keep Lossy Image Compression 01 and name the method); otherwise they are written as stored.',
      format: Boolean,
      default: defaults.decompressLossy,
      env: 'BRIDGE_PDI_DECOMPRESS_LOSSY',
    },
  };
}

/**
 * The schema of on-demand retrieval ("recupero documento on demand"): the SOAP endpoint, its
 * caller's authentication, the worker queue, the package cache, the error catalogue and what PDI
 * packages say of their maker (formats `positive-int`, `error-codes`, `role-codes` and
 * `PDI_FORMATS` are registered by schema.ts).
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
        doc: 'How the FSE caller authenticates: none (only on a loopback http.host, behind a proxy that authenticates; on any other address the bridge refuses to start) or basic (onDemand.username and onDemand.password, given with HTTP Basic, or to GetDocumento also as a WS-Security UsernameToken).',
        format: ['none', 'basic'],
        default: 'none',
        env: 'BRIDGE_ONDEMAND_AUTH',
      },
      username: {
        doc: 'User name the FSE caller presents (authKind basic): HTTP Basic, or a WS-Security UsernameToken.',
        format: String,
        default: '',
        env: 'BRIDGE_ONDEMAND_USERNAME',
      },
      password: {
        doc: 'Password the FSE caller presents (authKind basic): HTTP Basic, or a WS-Security UsernameToken (text or digest).',
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
      pdi: pdiSchema(),
      getDocumento: getDocumentoSchema(),
    },
  };
}
