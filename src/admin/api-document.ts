import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { SESSION_COOKIE } from './auth.js';
import { answer, FAILURES } from './api-schemas.js';

const INFO = {
  title: 'PACS ↔ FSE bridge: administration',
  version: '1',
  description:
    'AE titles, PACS nodes and allowed peers (changes apply to new associations at once and are audited), node verification, recent associations, the FSE outbox and the on-demand queue.',
};

/**
 * The OpenAPI 3.0 description of the admin API, made from the schemas of the routes registered
 * on `scope` after this (hidden ones aside), served at /admin/api/openapi.json. Every operation
 * but the log-in needs a session cookie (from the log-in) or the bearer token.
 */
export async function registerApiDocument(scope: FastifyInstance): Promise<void> {
  await scope.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: INFO,
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ session: [] }, { bearer: [] }],
    },
    // Shared schemas keep their names: `{ $ref: 'Peer#' }` is #/components/schemas/Peer.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  });
  scope.get(
    '/admin/api/openapi.json',
    {
      schema: {
        summary: 'This document',
        response: { 200: answer('OpenAPI 3.0', { type: 'object' }), ...FAILURES },
      },
    },
    async () => scope.swagger(),
  );
}
