/**
 * The JSON schemas of the admin API: what its routes accept (checked before a handler runs) and
 * what they answer. The OpenAPI document at /admin/api/openapi.json is made from them
 * (api-document.ts). The rules are those of `dicom.allowedPeers` and `pacs.nodes` in the
 * configuration (src/config/formats.ts, src/config/pacs-nodes.ts).
 */
import type { FastifyInstance } from 'fastify';
import { PACS_NODE_DEFAULTS as DEFAULTS } from '../config/pacs-nodes.js';
import { ERROR, ID_PARAM } from '../http/api-schemas.js';
import { closedObject } from '../http/schemas.js';

/** An AE title, as DICOM and the configuration allow it. */
const AE_TITLE_SCHEMA = {
  $id: 'AeTitle',
  type: 'string',
  minLength: 1,
  maxLength: 16,
  pattern: '^[\\x21-\\x5b\\x5d-\\x7e]([\\x20-\\x5b\\x5d-\\x7e]{0,14}[\\x21-\\x5b\\x5d-\\x7e])?$',
  description:
    'an AE title: 1 to 16 printable ASCII characters, no backslash, not all spaces, not starting or ending with a space',
} as const;

/** An AE title; with a `description` of its own, which the AE title rules keep theirs beside. */
const aeTitle = (description?: string) =>
  description ? { description, allOf: [{ $ref: 'AeTitle#' }] } : { $ref: 'AeTitle#' };

const HOST = {
  type: 'string',
  minLength: 1,
  anyOf: [{ pattern: '^[A-Za-z0-9.-]{1,253}$' }, { format: 'ipv6' }],
  description: 'an IP address or host name',
} as const;

const integer = (minimum: number, maximum: number, defaultValue?: number) => ({
  type: 'integer',
  minimum,
  maximum,
  ...(defaultValue === undefined ? {} : { default: defaultValue }),
});

const PEER_FIELDS = {
  aeTitle: aeTitle(),
  host: {
    ...HOST,
    type: ['string', 'null'],
    description: `${HOST.description}; absent or null: any host`,
  },
};

const NODE_FIELDS = {
  name: {
    type: 'string',
    pattern: '^[A-Za-z0-9_.-]{1,64}$',
    description: '1 to 64 letters, digits, dots, dashes or underscores',
  },
  aeTitle: aeTitle(),
  host: HOST,
  port: integer(1, 65535),
  retrieveMethod: { type: 'string', enum: ['C-MOVE', 'C-GET'], default: DEFAULTS.retrieveMethod },
  moveDestination: aeTitle("One of the bridge's AE titles (dicom.aeTitles); default: the first"),
  callingAeTitle: aeTitle('Our AE title when calling the node; default: moveDestination'),
  sendingAeTitles: {
    type: 'array',
    items: aeTitle(),
    description: 'AE titles the node stores from; default: its aeTitle',
  },
  queryModel: {
    type: 'string',
    enum: ['STUDY_ROOT', 'PATIENT_ROOT'],
    default: DEFAULTS.queryModel,
  },
  issuerOfPatientId: { type: 'string', maxLength: 64, default: DEFAULTS.issuerOfPatientId },
  issuerOfAccessionNumber: {
    type: 'string',
    maxLength: 64,
    default: DEFAULTS.issuerOfAccessionNumber,
  },
  connectTimeoutMs: integer(1, 3_600_000, DEFAULTS.connectTimeoutMs),
  responseTimeoutMs: integer(1, 86_400_000, DEFAULTS.responseTimeoutMs),
  maxRetries: integer(0, 100, DEFAULTS.maxRetries),
  retryBaseDelayMs: integer(0, 86_400_000, DEFAULTS.retryBaseDelayMs),
  retryMaxDelayMs: integer(0, 86_400_000, DEFAULTS.retryMaxDelayMs),
};

/** A PACS node as a request gives it; `required` differs between creating and replacing. */
export const nodeInput = (required: readonly string[]) =>
  closedObject({
    description: 'The fields of pacs.nodes in the configuration (docs/configuration.md)',
    required,
    properties: NODE_FIELDS,
  });

/** The schemas the admin routes refer to (`{ $ref: 'Peer#' }`), components of the document. */
const SHARED = [
  AE_TITLE_SCHEMA,
  { $id: 'Error', ...ERROR },
  { $id: 'PeerInput', ...closedObject({ required: ['aeTitle'], properties: PEER_FIELDS }) },
  {
    $id: 'Peer',
    type: 'object',
    required: ['id', 'aeTitle'],
    properties: { id: { type: 'integer' }, ...PEER_FIELDS },
  },
  { $id: 'PacsNodeInput', ...nodeInput(['name', 'aeTitle', 'host', 'port']) },
  {
    $id: 'PacsNode',
    type: 'object',
    description: 'A PACS node with its defaults filled',
    required: Object.keys(NODE_FIELDS),
    properties: NODE_FIELDS,
  },
  {
    $id: 'VerifyReport',
    type: 'object',
    properties: {
      node: { type: 'string' },
      ok: { type: 'boolean' },
      failedLeg: { type: 'string', enum: ['C-ECHO', 'C-FIND', 'C-MOVE', 'C-GET'] },
      legs: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            leg: { type: 'string' },
            outcome: { type: 'string', enum: ['passed', 'failed', 'skipped'] },
            detail: { type: 'string' },
            cause: { type: 'string' },
            hint: { type: 'string' },
          },
        },
      },
    },
  },
];

export function addAdminSchemas(app: FastifyInstance): void {
  for (const schema of SHARED) app.addSchema(schema);
}

/** A JSON answer described by `description`. */
export const answer = (description: string, schema: Record<string, unknown> = {}) => ({
  description,
  ...schema,
});

/** An answer without a body. */
export const empty = (description: string) => ({ description, type: 'null' });

/** An error answer, `{ error, message, field? }`. */
export const failure = (description: string) => ({ description, $ref: 'Error#' });

/** The answers every admin route but the log-in may give besides its own. */
export const FAILURES = {
  400: failure('Invalid input; `field` names it'),
  401: failure('No valid session cookie or bearer token'),
};

export const UNKNOWN = { 404: failure('Unknown') };

export const NAME_PARAM = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string' } },
};

export { ID_PARAM };
