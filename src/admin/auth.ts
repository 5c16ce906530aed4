import { randomBytes } from 'node:crypto';
import { sameSecret } from '../http/same-secret.js';
import { LoginThrottle, type Lockout, type LoginThrottleOptions } from './login-throttle.js';

export interface AdminAuthOptions extends LoginThrottleOptions {
  username: string;
  /** Empty: no password log-in. */
  password: string;
  /** Empty: no bearer token. */
  token: string;
  /** A session ends after this long without a request. */
  sessionTtlMs: number;
}

/** Why a log-in was refused. */
export type LoginFailure = 'wrong-password' | 'wrong-token' | 'no-credentials';

export type LoginResult =
  | { ok: true; session: string; user: string }
  /** Locked out (too many failures of the user name or the address): not checked at all. */
  | { ok: false; reason: 'locked-out'; retryAfterMs: number }
  /** Wrong credentials: counted, and the lockouts this failure started. */
  | { ok: false; reason: LoginFailure; lockouts: Lockout[] };

/** The session cookie; scoped to /admin, HttpOnly, SameSite=Strict. */
export const SESSION_COOKIE = 'bridge_admin_session';
/** Where the session cookie is sent, and that scripts cannot read it (setting and clearing it). */
export const SESSION_COOKIE_SCOPE = {
  path: '/admin',
  httpOnly: true,
  sameSite: 'strict',
} as const;
const SECOND = 1000;
/** Sessions kept at most; the oldest go first (bounds memory against log-in floods). */
const MAX_SESSIONS = 1000;

/**
 * Who may administer: the configured user name and password (a log-in gives a session cookie),
 * or the configured bearer token. With neither configured nobody may. Sessions live in memory.
 * Failed log-ins lock the user name and the address out for a while (LoginThrottle).
 */
export class AdminAuth {
  #options: AdminAuthOptions;
  #sessions = new Map<string, { user: string; expiresAt: number }>();
  #now: () => number;
  #throttle: LoginThrottle;

  constructor(options: AdminAuthOptions, now: () => number = Date.now) {
    this.#options = options;
    this.#now = now;
    this.#throttle = new LoginThrottle(options, now);
  }

  /** False when neither a password nor a token is configured. */
  get enabled(): boolean {
    return this.#options.password !== '' || this.#options.token !== '';
  }

  /**
   * Log in from `address` with a user name and password, or the token: a new session, or why
   * not. While the user name given or the address is locked out, nothing is checked.
   */
  login(
    credentials: { username?: unknown; password?: unknown; token?: unknown },
    address: string,
  ): LoginResult {
    const { username, password, token } = credentials;
    const user = typeof username === 'string' ? username : undefined;
    const gate = this.#throttle.check(user, address);
    if (!gate.allowed) return { ok: false, reason: 'locked-out', retryAfterMs: gate.retryAfterMs };
    const byPassword =
      this.#options.password !== '' &&
      user !== undefined &&
      typeof password === 'string' &&
      sameSecret(user, this.#options.username) &&
      sameSecret(password, this.#options.password);
    const byToken =
      this.#options.token !== '' &&
      typeof token === 'string' &&
      sameSecret(token, this.#options.token);
    if (!byPassword && !byToken) {
      const reason: LoginFailure =
        typeof password === 'string'
          ? 'wrong-password'
          : typeof token === 'string'
            ? 'wrong-token'
            : 'no-credentials';
      return { ok: false, reason, lockouts: this.#throttle.failed(user, address) };
    }
    this.#throttle.succeeded(user, address);
    this.#purge();
    const id = randomBytes(32).toString('base64url');
    const session = {
      user: byPassword ? this.#options.username : 'token',
      expiresAt: this.#now() + this.#options.sessionTtlMs,
    };
    this.#sessions.set(id, session);
    return { ok: true, session: id, user: session.user };
  }

  /** End the session `id` (the value of the session cookie). */
  logout(id: string | undefined): void {
    if (id) this.#sessions.delete(id);
  }

  /**
   * Who makes a request carrying this bearer token and session id (user name, or 'token'), or
   * undefined when nobody known. A bearer token, when one is configured, decides alone.
   */
  authenticate(given: { bearer?: string; session?: string }): string | undefined {
    if (this.#options.token !== '' && given.bearer !== undefined)
      return sameSecret(given.bearer, this.#options.token) ? 'token' : undefined;
    const id = given.session;
    const session = id ? this.#sessions.get(id) : undefined;
    if (!id || !session) return undefined;
    if (session.expiresAt <= this.#now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.expiresAt = this.#now() + this.#options.sessionTtlMs;
    return session.user;
  }

  /** The attributes of the session cookie: scoped to /admin, lasting as long as a session. */
  get cookieOptions(): typeof SESSION_COOKIE_SCOPE & { maxAge: number } {
    return { ...SESSION_COOKIE_SCOPE, maxAge: Math.floor(this.#options.sessionTtlMs / SECOND) };
  }

  #purge(): void {
    const now = this.#now();
    for (const [id, session] of this.#sessions)
      if (session.expiresAt <= now) this.#sessions.delete(id);
    while (this.#sessions.size >= MAX_SESSIONS)
      this.#sessions.delete(this.#sessions.keys().next().value!);
  }
}
