/** A JSON body of `schema`. */
const body = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const ok = (description: string, schema?: unknown) => ({
  description,
  ...(schema ? body(schema) : {}),
});
const errors = {
  '400': { description: 'Invalid input; `field` names it', ...body(ref('Error')) },
  '401': { description: 'No valid session cookie or bearer token', ...body(ref('Error')) },
};
const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'integer' } };

const aeTitle = {
  type: 'string',
  minLength: 1,
  maxLength: 16,
  description: 'No backslash or control characters, not all spaces',
};

/**
 * The OpenAPI 3.0 description of the admin API (served at /admin/api/openapi.json). Every path
 * but POST /admin/api/login needs a session cookie (from the log-in) or the bearer token.
 */
export function adminOpenApi(): Record<string, unknown> {
  return {
    openapi: '3.0.3',
    info: {
      title: 'PACS ↔ FSE bridge: administration',
      version: '1',
      description:
        'AE titles, PACS nodes and allowed peers (changes apply to new associations at once and are audited), node verification, recent associations, the FSE outbox and the on-demand queue.',
    },
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'bridge_admin_session' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error', 'message'],
          properties: {
            error: { type: 'string' },
            message: { type: 'string' },
            field: { type: 'string' },
          },
        },
        Peer: {
          type: 'object',
          required: ['aeTitle'],
          properties: {
            id: { type: 'integer', readOnly: true },
            aeTitle,
            host: { type: 'string', description: 'IP address or host name; absent: any host' },
          },
        },
        PacsNode: {
          type: 'object',
          required: ['name', 'aeTitle', 'host', 'port'],
          description: 'The fields of pacs.nodes in the configuration (see the README)',
          properties: {
            name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
            aeTitle,
            host: { type: 'string', minLength: 1 },
            port: { type: 'integer', minimum: 1, maximum: 65535 },
            retrieveMethod: { type: 'string', enum: ['C-MOVE', 'C-GET'] },
            moveDestination: aeTitle,
            callingAeTitle: aeTitle,
            sendingAeTitles: { type: 'array', items: aeTitle },
            queryModel: { type: 'string', enum: ['STUDY_ROOT', 'PATIENT_ROOT'] },
            issuerOfPatientId: { type: 'string', maxLength: 64 },
            issuerOfAccessionNumber: { type: 'string', maxLength: 64 },
            connectTimeoutMs: { type: 'integer' },
            responseTimeoutMs: { type: 'integer' },
            maxRetries: { type: 'integer' },
            retryBaseDelayMs: { type: 'integer' },
            retryMaxDelayMs: { type: 'integer' },
          },
        },
        VerifyReport: {
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
      },
    },
    security: [{ session: [] }, { bearer: [] }],
    paths: {
      '/admin/api/login': {
        post: {
          summary: 'Log in with user name and password, or the token; sets the session cookie',
          security: [],
          requestBody: body({
            type: 'object',
            properties: {
              username: { type: 'string' },
              password: { type: 'string' },
              token: { type: 'string' },
            },
          }),
          responses: {
            '200': ok('Logged in'),
            '401': { description: 'Wrong user name, password or token', ...body(ref('Error')) },
            '429': {
              description:
                'Too many failed log-ins as this user name or from this address: locked out for the seconds in Retry-After, whatever the credentials',
              headers: { 'Retry-After': { schema: { type: 'integer' } } },
              ...body(ref('Error')),
            },
          },
        },
      },
      '/admin/api/logout': {
        post: { summary: 'End the session', responses: { '204': ok('Logged out'), ...errors } },
      },
      '/admin/api/session': {
        get: { summary: 'Who is logged in', responses: { '200': ok('The user'), ...errors } },
      },
      '/admin/api/openapi.json': {
        get: { summary: 'This document', responses: { '200': ok('OpenAPI 3.0'), ...errors } },
      },
      '/admin/api/local-aes': {
        get: {
          summary: "The bridge's own AE titles (dicom.aeTitles), DICOM host and port",
          responses: { '200': ok('Local AEs'), ...errors },
        },
      },
      '/admin/api/nodes': {
        get: {
          summary: 'PACS nodes',
          responses: { '200': ok('Nodes', { type: 'array', items: ref('PacsNode') }), ...errors },
        },
        post: {
          summary: 'Add a PACS node',
          requestBody: body(ref('PacsNode')),
          responses: { '201': ok('Added', ref('PacsNode')), '409': ok('Name taken'), ...errors },
        },
      },
      '/admin/api/nodes/{name}': {
        parameters: [nameParam],
        get: {
          summary: 'One PACS node',
          responses: { '200': ok('Node', ref('PacsNode')), '404': ok('Unknown'), ...errors },
        },
        put: {
          summary: 'Replace a PACS node (same name)',
          requestBody: body(ref('PacsNode')),
          responses: { '200': ok('Changed', ref('PacsNode')), '404': ok('Unknown'), ...errors },
        },
        delete: {
          summary: 'Delete a PACS node',
          responses: { '204': ok('Deleted'), '404': ok('Unknown'), ...errors },
        },
      },
      '/admin/api/nodes/{name}/verify': {
        parameters: [nameParam],
        post: {
          summary:
            'C-ECHO, C-FIND, then C-MOVE (or C-GET) of one instance to us; names the leg that failed',
          responses: {
            '200': ok('The report (ok false when a leg failed)', ref('VerifyReport')),
            '404': ok('Unknown'),
            ...errors,
          },
        },
      },
      '/admin/api/peers': {
        get: {
          summary: 'Peers allowed to associate (C-STORE, query, retrieve)',
          responses: { '200': ok('Peers', { type: 'array', items: ref('Peer') }), ...errors },
        },
        post: {
          summary: 'Allow a peer',
          requestBody: body(ref('Peer')),
          responses: { '201': ok('Added', ref('Peer')), '409': ok('Exists'), ...errors },
        },
      },
      '/admin/api/peers/{id}': {
        parameters: [idParam],
        get: { summary: 'One peer', responses: { '200': ok('Peer', ref('Peer')), ...errors } },
        put: {
          summary: 'Change a peer',
          requestBody: body(ref('Peer')),
          responses: { '200': ok('Changed', ref('Peer')), '404': ok('Unknown'), ...errors },
        },
        delete: {
          summary: 'Remove a peer',
          responses: { '204': ok('Removed'), '404': ok('Unknown'), ...errors },
        },
      },
      '/admin/api/audit': {
        get: {
          summary: 'Changes, newest first: who, what, before and after',
          parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer' } }],
          responses: { '200': ok('Audit entries'), ...errors },
        },
      },
      '/admin/api/associations': {
        get: {
          summary: 'Recent associations: calling AE, peer host, instances stored, status, time',
          responses: { '200': ok('Newest first'), ...errors },
        },
      },
      '/admin/api/outbox': {
        get: {
          summary: 'FSE outbox counts and dead letters',
          responses: { '200': ok('Counts and dead letters'), ...errors },
        },
      },
      '/admin/api/outbox/dead/resend': {
        post: {
          summary: 'Send every dead letter again',
          responses: { '200': ok('Ids'), ...errors },
        },
      },
      '/admin/api/outbox/{id}/resend': {
        parameters: [idParam],
        post: {
          summary: 'Send one dead letter again',
          responses: {
            '200': ok('Pending again'),
            '404': ok('Unknown'),
            '409': ok('Not dead'),
            ...errors,
          },
        },
      },
      '/admin/api/queue': {
        get: {
          summary: 'On-demand queue depth',
          responses: {
            '200': ok('Depth', {
              type: 'object',
              properties: { waiting: { type: 'integer' }, running: { type: 'integer' } },
            }),
            ...errors,
          },
        },
      },
    },
  };
}
