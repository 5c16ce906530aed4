import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { bearerToken } from '../http/authorization.js';
import { InputError } from '../http/schemas.js';
import { AeConfigError } from './ae-config-store.js';
import { registerApiDocument } from './api-document.js';
import { addAdminSchemas, empty, FAILURES } from './api-schemas.js';
import { SESSION_COOKIE, SESSION_COOKIE_SCOPE, type AdminAuth } from './auth.js';
import { configRoutes, type ConfigRouteDeps } from './config-routes.js';
import { loginRoute } from './login-route.js';
import { operationsRoutes, type OperationsRouteDeps } from './operations-routes.js';
import { pageRoutes } from './page-routes.js';

export type AdminDeps = Omit<ConfigRouteDeps, 'actor'> &
  Omit<OperationsRouteDeps, 'actor' | 'store'> & { auth: AdminAuth; log: Logger };

/** Host names that do not resolve make `AePolicy.update` fail with these codes. */
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME']);

async function sendError(
  error: Error & { statusCode?: number; code?: string; hostname?: string },
  reply: FastifyReply,
  log: Logger,
): Promise<void> {
  if (error instanceof InputError)
    return void (await reply.code(400).send({
      error: 'bad-request',
      message: `${error.field}: ${error.problem}`,
      field: error.field,
    }));
  if (error instanceof AeConfigError)
    return void (await reply.code(error.reason === 'not-found' ? 404 : 409).send({
      error: error.reason,
      message: error.message,
      ...(error.field ? { field: error.field } : {}),
    }));
  if (error.code && DNS_CODES.has(error.code))
    return void (await reply.code(400).send({
      error: 'bad-request',
      message: `host: cannot be resolved: ${error.hostname ?? ''}`,
      field: 'host',
    }));
  const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
  if (status >= 500) log.error({ err: error }, 'admin request failed');
  await reply.code(status).send({
    error: status === 413 ? 'body-too-large' : status >= 500 ? 'internal-error' : 'bad-request',
    message: status >= 500 ? 'internal error' : error.message,
    ...(status === 400 ? { field: 'body' } : {}),
  });
}

/**
 * The admin API under /admin/api and the admin page under /admin/. Every /admin/api route but
 * the log-in needs a session cookie or the bearer token (401 otherwise); the page and its
 * script carry no data and load without, to show the log-in form.
 */
export function registerAdmin(app: FastifyInstance, deps: AdminDeps): void {
  const users = new WeakMap<FastifyRequest, string>();
  const actor = (request: FastifyRequest): string => users.get(request) ?? 'unknown';
  if (!deps.auth.enabled)
    deps.log.warn(
      'admin API and page refuse everyone: set admin.password (BRIDGE_ADMIN_PASSWORD) or admin.token (BRIDGE_ADMIN_TOKEN)',
    );

  void app.register(async (scope) => {
    // Before the authentication hook, which reads the session cookie.
    await scope.register(cookie);
    await registerApiDocument(scope);
    addAdminSchemas(scope);
    scope.setErrorHandler(async (error: Error, _request, reply) =>
      sendError(error, reply, deps.log),
    );
    scope.addHook('onRequest', async (request, reply) => {
      // Decided by the route the request matched, never by its raw target: Fastify routes
      // `http://host/admin/api/...` and percent-encoded paths (`/%61dmin/api/...`) to the same
      // handlers, and neither starts with "/admin/api/".
      const route = request.routeOptions.url;
      if (!route?.startsWith('/admin/api/') || route === '/admin/api/login') return;
      const user = deps.auth.authenticate({
        bearer: bearerToken(request.headers.authorization),
        session: request.cookies[SESSION_COOKIE],
      });
      if (user) {
        users.set(request, user);
        return;
      }
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({
          error: 'unauthorized',
          message: deps.auth.enabled
            ? 'log in, or send the admin bearer token'
            : 'admin access is not configured (admin.password or admin.token)',
        });
    });

    loginRoute(scope, deps);
    scope.post(
      '/admin/api/logout',
      {
        schema: { summary: 'End the session', response: { 204: empty('Logged out'), ...FAILURES } },
      },
      async (request, reply) => {
        deps.auth.logout(request.cookies[SESSION_COOKIE]);
        return reply.code(204).clearCookie(SESSION_COOKIE, SESSION_COOKIE_SCOPE).send();
      },
    );
    scope.get(
      '/admin/api/session',
      {
        schema: {
          summary: 'Who is logged in',
          response: {
            200: {
              description: 'The user',
              type: 'object',
              properties: { user: { type: 'string' } },
            },
            ...FAILURES,
          },
        },
      },
      async (request) => ({ user: actor(request) }),
    );

    configRoutes(scope, { ...deps, actor });
    operationsRoutes(scope, { ...deps, actor });
    pageRoutes(scope);
  });
}
