/**
 * What every SOAP endpoint of on-demand retrieval does the same way: GET serves its contract
 * (WSDL, schemas); POST takes a SOAP 1.1 or 1.2 request, plain or MTOM, within a size limit, in
 * UTF-8 or ISO-8859-1; HTTP Basic credentials are checked before the body is read; and a request
 * refused before it reaches the retrieval service is logged, audited and answered with its fault
 * (soap-refusals.ts). What an endpoint makes of the envelope is its own (`handlers.post`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { OnDemandStore } from '../ondemand/on-demand-store.js';
import { contentTypeParams, mtomRootPart } from '../soap/mtom-request.js';
import { requestText, SoapFaultError } from '../soap/request.js';
import type { SoapVersion } from '../soap/response.js';
import { basicCredentials } from './authorization.js';
import { sameSecret } from './same-secret.js';
import { refuser, sendFault } from './soap-refusals.js';

export type CallerAuth = { kind: 'none' } | { kind: 'basic'; username: string; password: string };

export interface SoapEndpointOptions {
  /** Path of the endpoint, e.g. `/ws/recupero-documento`. */
  path: string;
  /** The endpoint's address in the WSDL; empty: from the request's Host. */
  publicUrl: string;
  /** Larger request bodies get a SOAP Fault (413). */
  bodyLimitBytes: number;
  auth: CallerAuth;
  /**
   * HTTP Basic credentials: `required` of every request (with `auth` basic), or checked only
   * when a request carries them (`when-given`: its envelope may authenticate it instead).
   */
  basic: 'required' | 'when-given';
  /** The realm of the HTTP Basic challenge. */
  realm: string;
}

/** What a handler of a request's envelope knows besides it. */
export interface PostContext {
  version: SoapVersion;
  /** Whether the request carried valid HTTP Basic credentials. */
  httpAuthenticated: boolean;
  /** Say the request reached the retrieval service, which audits it itself. */
  reached(): void;
}

export interface SoapEndpointHandlers {
  /** GET: the WSDL, or a schema `query` asks for; `location` is the endpoint's address. */
  contract(query: Record<string, unknown>, location: string): string | undefined;
  /** POST: answer the request whose envelope is `xml`; a `SoapFaultError` thrown refuses it. */
  post(
    request: FastifyRequest,
    reply: FastifyReply,
    xml: string,
    context: PostContext,
  ): Promise<void>;
}

// Fault texts are Italian, as the callers are (docs/on-demand.md); the log keeps the detail.
const UNSUPPORTED_MEDIA_TYPE =
  'la richiesta deve essere text/xml, application/soap+xml o multipart/related';

/** The content types of SOAP 1.1, SOAP 1.2 and MTOM messages, requests and answers alike. */
const SOAP_TYPES = ['text/xml', 'application/soap+xml', 'multipart/related'];

/** A SOAP message, in any of SOAP_TYPES (its parts are read as the endpoint's handler needs). */
const soapMessage = (description: string) => ({
  description,
  content: Object.fromEntries(SOAP_TYPES.map((type) => [type, { schema: { type: 'string' } }])),
});

const xmlDocument = (description: string) => ({
  description,
  content: { 'text/xml': { schema: { type: 'string' } } },
});

/**
 * What the routes of an endpoint take and answer, for the OpenAPI document. A POST body is read
 * raw (its envelope is parsed by the endpoint): only its content types are described.
 */
const SCHEMAS = {
  get: {
    summary: 'The WSDL (?wsdl), or one of its XML schemas (?xsd or ?xsd=<prefix>)',
    querystring: {
      type: 'object',
      properties: {
        wsdl: { description: 'Present: the WSDL (also without any query)' },
        xsd: { description: 'Present: an XML schema of the contract, by prefix when given' },
      },
    },
    response: {
      200: xmlDocument('The WSDL or the schema'),
      404: {
        description: 'No schema of that prefix',
        type: 'object',
        properties: { error: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
  post: {
    summary: `A SOAP 1.1 or 1.2 request, plain or MTOM (${SOAP_TYPES.join(', ')}); UTF-8 or ISO-8859-1`,
    response: {
      200: soapMessage('The answer: esito, errori, and the document when there is one'),
      ...Object.fromEntries(
        [
          [400, 'A malformed or schema-invalid request, or a mandatory header not processed'],
          [
            401,
            'Without valid credentials (HTTP Basic, or WS-Security where the endpoint takes it)',
          ],
          [413, 'A body over the size limit'],
          [415, 'Not a SOAP content type'],
          [500, 'An internal error'],
        ].map(([status, description]) => [status, soapMessage(`A SOAP Fault: ${description}`)]),
      ),
    },
  },
};

/** The SOAP version a request uses, from its Content-Type (1.2 when it cannot be told). */
export function versionOf(request: FastifyRequest): SoapVersion {
  const { type, params } = contentTypeParams(request.headers['content-type'] ?? '');
  if (type === 'text/xml') return '1.1';
  if (type === 'multipart/related' && /text\/xml/i.test(params.get('start-info') ?? '')) {
    return '1.1';
  }
  return '1.2';
}

/** Whether the answer's document goes as MTOM: the request was MTOM, or accepts multipart. */
export function wantsMtom(request: FastifyRequest): boolean {
  const { type } = contentTypeParams(request.headers['content-type'] ?? '');
  return type === 'multipart/related' || /multipart\/related/i.test(request.headers.accept ?? '');
}

/** Whether the request carries HTTP Basic credentials equal to `auth`'s. */
function basicValid(request: FastifyRequest, auth: CallerAuth & { kind: 'basic' }): boolean {
  const given = basicCredentials(request.headers.authorization);
  // Both compared, whatever the first gives, so timing tells nothing about which was wrong.
  const user = sameSecret(given?.[0] ?? '', auth.username);
  const password = sameSecret(given?.[1] ?? '', auth.password);
  return Boolean(given) && user && password;
}

/** The fault of a request without valid credentials: 401, with the HTTP Basic challenge. */
export function authenticationRequired(reply: FastifyReply, realm: string): SoapFaultError {
  void reply.header('www-authenticate', `Basic realm="${realm}", charset="UTF-8"`);
  return new SoapFaultError('Sender', 'autenticazione richiesta', 401);
}

/** The text of the envelope of a request: its body, or its MTOM root part, decoded. */
function envelopeText(request: FastifyRequest & { body: Buffer }): string {
  const contentType = request.headers['content-type']!;
  const xml =
    contentTypeParams(contentType).type === 'multipart/related'
      ? mtomRootPart(request.body, contentType)
      : { body: request.body, charset: contentTypeParams(contentType).params.get('charset') };
  return requestText(xml.body, xml.charset);
}

export function soapEndpoint(
  app: FastifyInstance,
  deps: {
    /** The audit, for requests refused before they reach the service. */
    audit: Pick<OnDemandStore, 'audit'>;
    log: Logger;
  },
  options: SoapEndpointOptions,
  handlers: SoapEndpointHandlers,
): void {
  const refuse = refuser(deps);
  const { auth } = options;
  /** Requests that reached the service (or an obscuration change): it audits them itself. */
  const reachedService = new WeakSet<FastifyRequest>();
  /** Requests whose HTTP Basic credentials were checked and found valid. */
  const httpAuthenticated = new WeakSet<FastifyRequest>();
  void app.register(async (scope) => {
    scope.addContentTypeParser(
      ['text/xml', 'application/soap+xml', 'multipart/related'],
      { parseAs: 'buffer' },
      (_request, body, done) => done(null, body),
    );
    scope.setErrorHandler(async (error: Error & { statusCode?: number }, request, reply) => {
      const status = error.statusCode ?? 500;
      if (status >= 500) {
        deps.log.error({ err: error }, 'on-demand request failed');
        const fault = new SoapFaultError('Receiver', 'errore interno del servizio', status);
        if (request.method !== 'POST' || reachedService.has(request))
          return sendFault(reply, versionOf(request), fault);
        return refuse(request, reply, versionOf(request), fault);
      }
      const reason =
        status === 413
          ? 'il corpo della richiesta supera la dimensione consentita'
          : status === 415
            ? UNSUPPORTED_MEDIA_TYPE
            : 'richiesta HTTP non valida';
      await refuse(
        request,
        reply,
        versionOf(request),
        new SoapFaultError('Sender', reason, status, error.message),
      );
    });
    scope.addHook('onRequest', async (request, reply) => {
      if (request.method !== 'POST' || auth.kind === 'none') return;
      if (basicValid(request, auth)) {
        httpAuthenticated.add(request);
        return;
      }
      if (options.basic === 'when-given' && request.headers.authorization === undefined) return;
      deps.log.warn({ ip: request.ip }, 'on-demand request without valid credentials');
      await refuse(
        request,
        reply,
        versionOf(request),
        authenticationRequired(reply, options.realm),
      );
    });

    scope.get(options.path, { schema: SCHEMAS.get }, async (request, reply) => {
      const host = request.headers.host ?? `${request.hostname}`;
      const location = options.publicUrl || `${request.protocol}://${host}${options.path}`;
      const contract = handlers.contract(request.query as Record<string, unknown>, location);
      if (contract === undefined)
        return reply.code(404).send({ error: 'not-found', message: 'no such schema' });
      return reply.header('content-type', 'text/xml; charset=utf-8').send(contract);
    });

    scope.post(
      options.path,
      { bodyLimit: options.bodyLimitBytes, schema: SCHEMAS.post },
      async (request, reply) => {
        const version = versionOf(request);
        try {
          if (!Buffer.isBuffer(request.body))
            throw new SoapFaultError('Sender', UNSUPPORTED_MEDIA_TYPE, 415);
          const xml = envelopeText(request as FastifyRequest & { body: Buffer });
          await handlers.post(request, reply, xml, {
            version,
            httpAuthenticated: httpAuthenticated.has(request),
            reached: () => reachedService.add(request),
          });
        } catch (error) {
          if (!(error instanceof SoapFaultError) || reachedService.has(request)) throw error;
          return refuse(request, reply, version, error);
        }
      },
    );
  });
}
