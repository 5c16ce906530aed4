import { randomBytes } from 'node:crypto';
import { sameSecret } from '../http/same-secret.js';

export interface AdminAuthOptions {
  username: string;
  /** Empty: no password log-in. */
  password: string;
  /** Empty: no bearer token. */
  token: string;
  /** A session ends after this long without a request. */
  sessionTtlMs: number;
}

/** The session cookie; scoped to /admin, HttpOnly, SameSite=Strict. */
export const SESSION_COOKIE = 'bridge_admin_session';
/** Sessions kept at most; the oldest go first (bounds memory against log-in floods). */
const MAX_SESSIONS = 1000;

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

/**
 * Who may administer: the configured user name and password (a log-in gives a session cookie),
 * or the configured bearer token. With neither configured nobody may. Sessions live in memory.
 */
export class AdminAuth {
  #options: AdminAuthOptions;
  #sessions = new Map<string, { user: string; expiresAt: number }>();
  #now: () => number;

  constructor(options: AdminAuthOptions, now: () => number = Date.now) {
    this.#options = options;
    this.#now = now;
  }

  /** False when neither a password nor a token is configured. */
  get enabled(): boolean {
    return this.#options.password !== '' || this.#options.token !== '';
  }

  /**
   * Check log-in credentials (user name and password, or the token); on success a new session
   * id, otherwise undefined.
   */
  login(credentials: {
    username?: unknown;
    password?: unknown;
    token?: unknown;
  }): string | undefined {
    const { username, password, token } = credentials;
    const byPassword =
      this.#options.password !== '' &&
      typeof username === 'string' &&
      typeof password === 'string' &&
      sameSecret(username, this.#options.username) &&
      sameSecret(password, this.#options.password);
    const byToken =
      this.#options.token !== '' &&
      typeof token === 'string' &&
      sameSecret(token, this.#options.token);
    if (!byPassword && !byToken) return undefined;
    this.#purge();
    const id = randomBytes(32).toString('base64url');
    this.#sessions.set(id, {
      user: byPassword ? this.#options.username : 'token',
      expiresAt: this.#now() + this.#options.sessionTtlMs,
    });
    return id;
  }

  logout(headers: { cookie?: string }): void {
    const id = cookieValue(headers.cookie, SESSION_COOKIE);
    if (id) this.#sessions.delete(id);
  }

  /** Who makes the request (user name, or 'token'), or undefined when nobody known. */
  authenticate(headers: { authorization?: string; cookie?: string }): string | undefined {
    const header = headers.authorization ?? '';
    if (this.#options.token !== '' && header.startsWith('Bearer '))
      return sameSecret(header.slice(7), this.#options.token) ? 'token' : undefined;
    const id = cookieValue(headers.cookie, SESSION_COOKIE);
    const session = id ? this.#sessions.get(id) : undefined;
    if (!id || !session) return undefined;
    if (session.expiresAt <= this.#now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.expiresAt = this.#now() + this.#options.sessionTtlMs;
    return session.user;
  }

  /** The Set-Cookie value for a new session, or one that clears it. */
  cookie(id: string | undefined): string {
    return id
      ? `${SESSION_COOKIE}=${id}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(this.#options.sessionTtlMs / 1000)}`
      : `${SESSION_COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0`;
  }

  #purge(): void {
    const now = this.#now();
    for (const [id, session] of this.#sessions)
      if (session.expiresAt <= now) this.#sessions.delete(id);
    while (this.#sessions.size >= MAX_SESSIONS)
      this.#sessions.delete(this.#sessions.keys().next().value!);
  }
}
