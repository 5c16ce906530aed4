import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AeConfigStore } from './ae-config-store.js';
import { answer, failure } from './api-schemas.js';
import { SESSION_COOKIE, type AdminAuth } from './auth.js';
import { MAX_TRACKED_NAME } from './login-throttle.js';

const SECOND = 1000;
/** Largest log-in body accepted, in bytes. */
const LOGIN_BODY_LIMIT = 4096;

const SCHEMA = {
  summary: 'Log in with user name and password, or the token; sets the session cookie',
  security: [],
  body: {
    type: ['object', 'null'],
    properties: {
      username: { type: 'string' },
      password: { type: 'string' },
      token: { type: 'string' },
    },
  },
  response: {
    200: answer('Logged in', { type: 'object', properties: { user: { type: 'string' } } }),
    400: failure('Not a JSON object of strings'),
    401: failure('Wrong user name, password or token'),
    429: {
      ...failure(
        'Too many failed log-ins as this user name or from this address: locked out for the seconds in Retry-After, whatever the credentials',
      ),
      headers: { 'Retry-After': { type: 'integer' } },
    },
  },
};

export interface LoginRouteDeps {
  auth: AdminAuth;
  /** Where refused log-ins and lockouts are audited. */
  store: AeConfigStore;
  log: Logger;
}

/**
 * POST /admin/api/login: a session cookie for the right user name and password or the token.
 * A refused log-in gets 401 and an audit row (the user name tried, the address, the reason);
 * a user name or address locked out after too many gets 429 with Retry-After, whatever the
 * credentials, and the lockout its own audit row.
 */
export function loginRoute(app: FastifyInstance, deps: LoginRouteDeps): void {
  // Read before any credential is checked: a log-in is a few short strings.
  app.post(
    '/admin/api/login',
    { bodyLimit: LOGIN_BODY_LIMIT, schema: SCHEMA },
    async (request, reply) => {
      const credentials = (request.body ?? {}) as Record<string, unknown>;
      const address = request.ip;
      const result = deps.auth.login(credentials, address);
      if (result.ok) {
        deps.log.info({ ip: address, user: result.user }, 'admin logged in');
        return reply
          .setCookie(SESSION_COOKIE, result.session, deps.auth.cookieOptions)
          .send({ user: result.user });
      }
      // The user name is not a secret (kept to its first characters); the password and token
      // are never logged.
      const user =
        typeof credentials.username === 'string'
          ? credentials.username.slice(0, MAX_TRACKED_NAME)
          : undefined;
      if (result.reason === 'locked-out') {
        const seconds = Math.ceil(result.retryAfterMs / SECOND);
        deps.log.debug({ ip: address, user }, 'admin log-in refused: locked out');
        return reply
          .code(429)
          .header('retry-after', String(seconds))
          .send({
            error: 'too-many-attempts',
            message: `too many failed log-ins: try again in ${seconds} s`,
          });
      }
      const actor = user ?? 'unknown';
      deps.log.warn({ ip: address, user, reason: result.reason }, 'admin log-in refused');
      deps.store.record(actor, 'login-failed', 'admin-login', address, {
        user,
        address,
        reason: result.reason,
      });
      for (const lockout of result.lockouts) {
        const { scope, key, lockedForMs } = lockout;
        deps.log.warn({ ip: address, user, scope, lockedForMs }, 'admin log-in locked out');
        deps.store.record(actor, 'lockout', 'admin-login', address, {
          user,
          address,
          reason: 'too-many-failures',
          scope,
          [scope]: key,
          lockedForMs,
        });
      }
      return reply
        .code(401)
        .send({ error: 'unauthorized', message: 'wrong user name, password or token' });
    },
  );
}
