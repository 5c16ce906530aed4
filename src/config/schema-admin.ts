const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;

/**
 * The schema of the admin side: who may log in to the admin API and page, and where they
 * listen (format `port-or-off` and `positive-int` are registered by schema.ts).
 */
export function adminSchema() {
  return {
    admin: {
      username: {
        doc: 'User name for the admin page and API (with admin.password).',
        format: String,
        default: 'admin',
        env: 'BRIDGE_ADMIN_USERNAME',
      },
      password: {
        doc: 'Password for the admin page and API; empty disables password log-in. With neither password nor token every admin request is refused (401).',
        format: String,
        default: '',
        env: 'BRIDGE_ADMIN_PASSWORD',
        sensitive: true,
      },
      token: {
        doc: 'Bearer token for the admin API (Authorization: Bearer <token>), also accepted at log-in; empty disables it.',
        format: String,
        default: '',
        env: 'BRIDGE_ADMIN_TOKEN',
        sensitive: true,
      },
      host: {
        doc: 'Address the separate admin listener binds to (with admin.port).',
        format: String,
        default: '127.0.0.1',
        env: 'BRIDGE_ADMIN_HOST',
      },
      port: {
        doc: 'Port of a separate admin listener (0 picks a free port); -1 serves the admin page and API on the HTTP API listener (http.host, http.port).',
        format: 'port-or-off',
        default: -1,
        env: 'BRIDGE_ADMIN_PORT',
      },
      maxConnections: {
        doc: 'Connections the separate admin listener keeps open at once (with admin.port); one more is closed as soon as it is accepted. Its timeouts are those of http.*.',
        format: 'positive-int',
        default: 32,
        env: 'BRIDGE_ADMIN_MAX_CONNECTIONS',
      },
      sessionTtlMs: {
        doc: 'An admin log-in session ends after this long without a request, in milliseconds.',
        format: 'positive-int',
        default: 30 * MINUTE,
        env: 'BRIDGE_ADMIN_SESSION_TTL_MS',
      },
      loginMaxFailures: {
        doc: 'Failed log-ins, as one user name or from one address, within admin.loginFailureWindowMs that lock it out (429 with Retry-After, even for the right password).',
        format: 'positive-int',
        default: 5,
        env: 'BRIDGE_ADMIN_LOGIN_MAX_FAILURES',
      },
      loginFailureWindowMs: {
        doc: 'Window in which failed log-ins are counted, in milliseconds; a user name or address with no failure or lockout for this long starts again from nothing.',
        format: 'positive-int',
        default: 15 * MINUTE,
        env: 'BRIDGE_ADMIN_LOGIN_FAILURE_WINDOW_MS',
      },
      loginLockoutMs: {
        doc: 'The first lockout, in milliseconds; each further one of the same user name or address lasts twice as long. At most admin.loginMaxLockoutMs.',
        format: 'positive-int',
        default: 1 * MINUTE,
        env: 'BRIDGE_ADMIN_LOGIN_LOCKOUT_MS',
      },
      loginMaxLockoutMs: {
        doc: 'The longest lockout, in milliseconds.',
        format: 'positive-int',
        default: 1 * HOUR,
        env: 'BRIDGE_ADMIN_LOGIN_MAX_LOCKOUT_MS',
      },
      recentAssociations: {
        doc: 'Associations kept in memory for the admin page (the most recent ones).',
        format: 'positive-int',
        default: 200,
        env: 'BRIDGE_ADMIN_RECENT_ASSOCIATIONS',
      },
    },
  };
}
