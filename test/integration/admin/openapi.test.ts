import swagger from '@fastify/swagger';
import Fastify from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { episodioRoutes } from '../../../src/http/episodio-routes.js';
import { outboxRoutes } from '../../../src/http/outbox-routes.js';
import { reportRoutes } from '../../../src/http/report-routes.js';
import { inputErrorOf, schemaController } from '../../../src/http/schemas.js';
import { soapRoutes } from '../../../src/http/soap-routes.js';
import { metricsRoutes } from '../../../src/metrics/metrics-routes.js';
import { disposeBridge, type TestBridge } from '../../helpers/bridge.js';
import { adminCall, startAdminBridge } from './admin-fixture.js';

/*
 * The OpenAPI documents made from the routes' schemas. The admin API's, served by a running
 * bridge: OpenAPI 3.0, every operation the API has with its answers (401 included, the log-in
 * aside), every reference resolved. And the routes of the HTTP API listener (reports, outbox,
 * on-demand SOAP endpoints, metrics), whose schemas must make a document too.
 */

type Operation = {
  summary?: string;
  security?: unknown[];
  parameters?: Array<{ name: string; in: string; required?: boolean }>;
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, { description?: string; content?: Record<string, unknown> }>;
};
type Document = {
  openapi: string;
  info: { title: string; version: string };
  security?: unknown[];
  components?: { schemas?: Record<string, unknown>; securitySchemes?: Record<string, unknown> };
  paths: Record<string, Record<string, Operation>>;
};

/** The operations of the admin API (docs/operations.md), as `METHOD path`. */
const ADMIN_OPERATIONS = [
  'POST /admin/api/login',
  'POST /admin/api/logout',
  'GET /admin/api/session',
  'GET /admin/api/openapi.json',
  'GET /admin/api/local-aes',
  'GET /admin/api/nodes',
  'POST /admin/api/nodes',
  'GET /admin/api/nodes/{name}',
  'PUT /admin/api/nodes/{name}',
  'DELETE /admin/api/nodes/{name}',
  'POST /admin/api/nodes/{name}/verify',
  'GET /admin/api/peers',
  'POST /admin/api/peers',
  'GET /admin/api/peers/{id}',
  'PUT /admin/api/peers/{id}',
  'DELETE /admin/api/peers/{id}',
  'GET /admin/api/audit',
  'GET /admin/api/associations',
  'GET /admin/api/outbox',
  'POST /admin/api/outbox/dead/resend',
  'POST /admin/api/outbox/{id}/resend',
  'GET /admin/api/queue',
];

const operationsOf = (doc: Document): Array<[string, Operation]> =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]): [string, Operation] => [
      `${method.toUpperCase()} ${path}`,
      op,
    ]),
  );

/** Every `$ref` in the document, which must all name one of its components. */
function unresolvedRefs(doc: Document): string[] {
  const refs: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object')
      for (const [key, inner] of Object.entries(value))
        if (key === '$ref') refs.push(String(inner));
        else walk(inner);
  };
  walk(doc.paths);
  walk(doc.components?.schemas);
  const names = Object.keys(doc.components?.schemas ?? {});
  return refs.filter((ref) => !names.some((name) => ref === `#/components/schemas/${name}`));
}

/** What every operation of a document must have, whatever its API. */
function expectWellFormed(doc: Document): void {
  expect(doc.openapi).toBe('3.0.3');
  expect(unresolvedRefs(doc)).toEqual([]);
  for (const [operation, op] of operationsOf(doc)) {
    expect(op.summary, operation).toBeTruthy();
    const statuses = Object.keys(op.responses);
    expect(
      statuses.some((status) => /^2\d\d$/.test(status)),
      operation,
    ).toBe(true);
    for (const status of statuses)
      expect(op.responses[status]!.description, `${operation} ${status}`).not.toBe(
        'Default Response',
      );
    const named = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
    const inPath = [...operation.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
    expect(named.sort(), operation).toEqual(inPath.sort());
  }
}

describe('the admin API document', () => {
  let bridge: TestBridge;
  let doc: Document;

  beforeAll(async () => {
    bridge = await startAdminBridge();
    const answer = await adminCall<Document>(
      bridge.app.reporting.httpPort,
      'GET',
      '/admin/api/openapi.json',
    );
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    doc = answer.body;
  });

  afterAll(() => disposeBridge(bridge));

  it('is OpenAPI 3.0 with every reference resolved and every operation described', () => {
    expect(doc.info.title).toMatch(/administration/);
    expectWellFormed(doc);
  });

  it('lists every operation of the admin API, and nothing else', () => {
    expect(operationsOf(doc).map(([operation]) => operation)).toEqual(
      expect.arrayContaining(ADMIN_OPERATIONS),
    );
    expect(operationsOf(doc)).toHaveLength(ADMIN_OPERATIONS.length);
  });

  it('asks for the session cookie or the bearer token everywhere but the log-in', () => {
    expect(Object.keys(doc.components?.securitySchemes ?? {}).sort()).toEqual([
      'bearer',
      'session',
    ]);
    expect(doc.security).toEqual([{ session: [] }, { bearer: [] }]);
    for (const [operation, op] of operationsOf(doc)) {
      if (operation === 'POST /admin/api/login') {
        expect(op.security).toEqual([]);
        expect(Object.keys(op.responses)).toEqual(
          expect.arrayContaining(['200', '400', '401', '429']),
        );
        continue;
      }
      expect(op.security, operation).toBeUndefined();
      expect(op.responses['401']?.content?.['application/json'], operation).toEqual({
        schema: { $ref: '#/components/schemas/Error' },
      });
    }
  });

  it('describes the bodies of the changes, and the answers to unknown entries', () => {
    const body = (operation: string) =>
      operationsOf(doc).find(([name]) => name === operation)![1].requestBody?.content;
    expect(body('POST /admin/api/peers')).toEqual({
      'application/json': { schema: { $ref: '#/components/schemas/PeerInput' } },
    });
    expect(body('POST /admin/api/nodes')).toEqual({
      'application/json': { schema: { $ref: '#/components/schemas/PacsNodeInput' } },
    });
    expect(body('PUT /admin/api/nodes/{name}')).toBeDefined();
    for (const [operation, op] of operationsOf(doc))
      if (/\{(name|id)\}/.test(operation))
        expect(Object.keys(op.responses), operation).toContain('404');
  });
});

describe('the HTTP API listener', () => {
  it('makes a document of every route: reports, outbox, SOAP endpoints, metrics', async () => {
    const app = Fastify({ schemaController, schemaErrorFormatter: inputErrorOf });
    await app.register(swagger, { openapi: { info: { title: 'HTTP API', version: '1' } } });
    // Routes are only registered and described here, never called: their collaborators are
    // placeholders.
    const log = pino({ level: 'silent' });
    const unused = {} as never;
    const auth = { kind: 'basic', username: 'u', password: 'p' } as const;
    const soap = {
      publicUrl: '',
      inlineMaxBytes: 1,
      bodyLimitBytes: 1024,
      auth,
      errorCodes: unused,
    };
    reportRoutes(app, { linker: unused, reports: unused, log });
    outboxRoutes(app, { outbox: unused, worker: unused });
    soapRoutes(
      app,
      { service: unused, reports: unused, audit: unused, log },
      {
        ...soap,
        path: '/ws/recupero-documento',
        repositoryId: '1.2.3',
      },
    );
    episodioRoutes(
      app,
      { service: unused, reports: unused, index: unused, audit: unused, log },
      {
        ...soap,
        path: '/ws/CLEpisodioService',
        pdiFileTypes: new Set(),
        clockSkewMs: 0,
        maxMessageAgeMs: 0,
      },
    );
    metricsRoutes(app, { metrics: unused, checks: [] });
    await app.ready();
    const doc = app.swagger() as unknown as Document;
    await app.close();

    expectWellFormed(doc);
    expect(
      operationsOf(doc)
        .map(([operation]) => operation)
        .sort(),
    ).toEqual(
      [
        'POST /api/reports',
        'GET /api/reports',
        'GET /api/reports/{codCL}/{codDocumento}',
        'DELETE /api/reports/{codCL}/{codDocumento}',
        'POST /api/reports/{codCL}/{codDocumento}/obscuration',
        'GET /api/outbox/counts',
        'GET /api/outbox/dead',
        'POST /api/outbox/dead/resend',
        'POST /api/outbox/{id}/resend',
        'GET /ws/recupero-documento',
        'POST /ws/recupero-documento',
        'GET /ws/CLEpisodioService',
        'POST /ws/CLEpisodioService',
        'GET /metrics',
        'GET /readyz',
      ].sort(),
    );
    const soapPost = doc.paths['/ws/recupero-documento']!.post!;
    expect(Object.keys(soapPost.responses['200']!.content!)).toEqual([
      'text/xml',
      'application/soap+xml',
      'multipart/related',
    ]);
    expect(Object.keys(soapPost.responses)).toEqual(expect.arrayContaining(['401', '413', '415']));
    const contract = doc.paths['/ws/CLEpisodioService']!.get!;
    expect(contract.parameters?.map((p) => `${p.in} ${p.name}`)).toEqual([
      'query wsdl',
      'query xsd',
    ]);
    const report = doc.paths['/api/reports']!.post!;
    expect(report.requestBody?.content['application/json']).toBeDefined();
    expect(Object.keys(report.responses)).toEqual(
      expect.arrayContaining(['202', '400', '401', '413']),
    );
    const readyz = doc.paths['/readyz']!.get!;
    expect(Object.keys(readyz.responses)).toEqual(['200', '503']);
    expect(Object.keys(doc.paths['/metrics']!.get!.responses['200']!.content!)).toEqual([
      'text/plain',
    ]);
  });
});
