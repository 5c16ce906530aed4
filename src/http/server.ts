import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { bearerToken } from './authorization.js';
import { sameSecret } from './same-secret.js';
import { InputError, inputErrorOf, schemaController } from './schemas.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** How long a client may take, and how many may be connected at once. */
export interface HttpLimits {
  /** Time to send a request's headers; then 408 and the connection is closed. */
  headersTimeoutMs: number;
  /** Time to send a whole request, headers and body; then 408 and the connection is closed. */
  requestTimeoutMs: number;
  /** A keep-alive connection waiting for its next request is closed after this long. */
  keepAliveTimeoutMs: number;
  /** A connection on which nothing is sent or received for this long is closed. */
  idleTimeoutMs: number;
  /** Connections open at once; one more is closed as soon as it is accepted. */
  maxConnections: number;
}

export interface HttpOptions extends HttpLimits {
  /** Address to bind; `127.0.0.1` for local only. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Larger request bodies are refused with 413. */
  bodyLimitBytes: number;
  /** When set, every /api request must carry `Authorization: Bearer <token>`. */
  apiToken: string;
}

export interface RunningHttp {
  port: number;
  /** Stop accepting, let requests in progress finish; calling it twice is safe. */
  close(): Promise<void>;
}

/**
 * The HTTP listener: JSON API under /api (bearer token when configured), /healthz. Routes are
 * registered by `routes`; errors become JSON `{ error, message }` with the status they carry, and
 * a request that does not fit its route's schemas a 400 that also names the `field`.
 * A client that sends its request too slowly gets 408 and is disconnected; connections beyond
 * `maxConnections` are closed at once.
 */
export async function startHttpServer(
  options: HttpOptions,
  routes: (app: FastifyInstance) => void,
  log: Logger,
): Promise<RunningHttp> {
  const app = Fastify({
    // Fastify logs every request at info; URLs carry report ids, so only its warnings are kept.
    loggerInstance: log.child({}, { level: 'warn' }) as FastifyBaseLogger,
    bodyLimit: options.bodyLimitBytes,
    // Report document ids in URLs may be 128 characters (MAX_DOCUMENT_ID in src/fse/report.ts);
    // the router's default limit is 100.
    routerOptions: { maxParamLength: 128 },
    schemaController,
    schemaErrorFormatter: inputErrorOf,
    // Fastify hands these to the server it creates (requestTimeout also to the http options
    // below: it sets the server's after creating it).
    requestTimeout: options.requestTimeoutMs,
    keepAliveTimeout: options.keepAliveTimeoutMs,
    connectionTimeout: options.idleTimeoutMs,
    http: {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      // Node checks both timeouts at this interval (30 s unless told): often enough that a
      // slow client is cut off close to its timeout.
      connectionsCheckingInterval: Math.min(SECOND, options.headersTimeoutMs),
    },
  });
  app.server.maxConnections = options.maxConnections;
  logDrops(app.server, options.maxConnections, log);
  app.addHook('onRequest', async (request, reply) => {
    // A request that matches no route is answered before its body is read: only a route's
    // own handler has a reason to parse (and pay for) what a client sends.
    if (request.routeOptions.url === undefined) {
      await reply.code(404).send({ error: 'not-found', message: 'no such resource' });
      return;
    }
    // By the route matched, not the raw target (absolute-form and percent-encoded targets reach
    // the same routes without starting with "/api/").
    if (!options.apiToken || !request.routeOptions.url.startsWith('/api/')) return;
    if (!sameSecret(bearerToken(request.headers.authorization) ?? '', options.apiToken)) {
      log.warn(
        { url: request.routeOptions.url, ip: request.ip },
        'API request without valid token',
      );
      await reply.code(401).header('www-authenticate', 'Bearer').send({
        error: 'unauthorized',
        message: 'a valid bearer token is required',
      });
    }
  });
  app.setErrorHandler(
    async (error: Error & { statusCode?: number; code?: string }, request, reply) => {
      if (error instanceof InputError)
        return reply.code(400).send({
          error: request.routeOptions.config.inputError ?? 'bad-request',
          field: error.field,
          message: error.message,
        });
      const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
      if (status >= 500)
        log.error({ err: error, url: request.routeOptions.url }, 'HTTP request failed');
      await reply.code(status).send({
        error: status === 413 ? 'body-too-large' : status >= 500 ? 'internal-error' : 'bad-request',
        message: status >= 500 ? 'internal error' : error.message,
      });
    },
  );
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'The process is up',
        response: {
          200: {
            description: 'Up',
            type: 'object',
            properties: { status: { type: 'string', enum: ['ok'] } },
          },
        },
      },
    },
    async () => ({ status: 'ok' }),
  );
  routes(app);
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  log.info({ host: options.host, port }, 'HTTP API listening');
  let closing: Promise<void> | undefined;
  return {
    port,
    close: () => (closing ??= app.close()),
  };
}

/** Connections refused at the cap are logged at most once a minute, with their count. */
function logDrops(server: Server, maxConnections: number, log: Logger): void {
  let dropped = 0;
  let loggedAt = -Infinity;
  server.on('drop', () => {
    dropped++;
    const now = Date.now();
    if (now - loggedAt < MINUTE) return;
    log.warn(
      { dropped, maxConnections },
      'HTTP connections refused: the listener has maxConnections open',
    );
    loggedAt = now;
    dropped = 0;
  });
}
