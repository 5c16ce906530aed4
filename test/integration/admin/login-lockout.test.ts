import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeBridge, type TestBridge } from '../../helpers/bridge.js';
import {
  ADMIN_PASSWORD,
  ADMIN_TOKEN,
  ADMIN_USER,
  adminCall,
  startAdminBridge,
} from './admin-fixture.js';

/*
 * Admin log-in under a password-guessing flood, on the real listener with the default limits:
 * after 5 failures the user name and the address are locked out (429 with Retry-After), the
 * right password included; someone else from another address is not; the failures and the
 * lockout are in the admin audit. (The lockout's end, with a clock the test moves, is in
 * test/unit/admin/login-throttle.test.ts.)
 */

const GUESSER = '127.0.0.1';
const COLLEAGUE = '127.0.0.2';

let bridge: TestBridge;
let port: number;

beforeAll(async () => {
  bridge = await startAdminBridge();
  port = bridge.app.reporting.httpPort;
});

afterAll(async () => {
  await disposeBridge(bridge);
});

interface LoginAnswer {
  status: number;
  retryAfter: string | undefined;
  body: { error?: string; message?: string; user?: string };
}

/** POST /admin/api/login from `localAddress` (a fresh connection each time). */
function loginFrom(localAddress: string, credentials: unknown): Promise<LoginAnswer> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(credentials);
    const call = request(
      {
        host: '127.0.0.1',
        port,
        localAddress,
        method: 'POST',
        path: '/admin/api/login',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            retryAfter: response.headers['retry-after'],
            body: JSON.parse(text) as LoginAnswer['body'],
          }),
        );
      },
    );
    call.on('error', reject);
    call.end(body);
  });
}

interface AuditRow {
  actor: string;
  action: string;
  entity: string;
  entityKey: string;
  after: Record<string, unknown>;
}

describe('admin log-in under a guessing flood', () => {
  it('locks the user name and the address out after 5 failures, the right password included', async () => {
    // 300 guesses, 100 at a time (well under http.maxConnections).
    const answers: LoginAnswer[] = [];
    for (let batch = 0; batch < 3; batch++)
      answers.push(
        ...(await Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            loginFrom(GUESSER, { username: ADMIN_USER, password: `guess-${batch * 100 + i}` }),
          ),
        )),
      );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(5);
    expect(statuses.filter((status) => status === 429)).toHaveLength(295);

    const right = await loginFrom(GUESSER, { username: ADMIN_USER, password: ADMIN_PASSWORD });
    expect(right.status).toBe(429);
    expect(right.body.error).toBe('too-many-attempts');
    expect(Number(right.retryAfter)).toBeGreaterThan(0);
    expect(Number(right.retryAfter)).toBeLessThanOrEqual(60);
    expect(right.body.message).toContain(`${right.retryAfter} s`);
  });

  it('locks out others only as documented', async () => {
    // Another user name from another address is checked as usual.
    const other = await loginFrom(COLLEAGUE, { username: 'radiologia', password: 'wrong' });
    expect(other.status).toBe(401);
    // The locked user name is locked from every address; the token from another one works.
    expect(
      (await loginFrom(COLLEAGUE, { username: ADMIN_USER, password: ADMIN_PASSWORD })).status,
    ).toBe(429);
    const byToken = await loginFrom(COLLEAGUE, { token: ADMIN_TOKEN });
    expect(byToken.status).toBe(200);
    expect(byToken.body.user).toBe('token');
    // The locked address is locked for every log-in; requests with the bearer token still work.
    expect((await loginFrom(GUESSER, { token: ADMIN_TOKEN })).status).toBe(429);
    expect((await adminCall(port, 'GET', '/admin/api/session')).status).toBe(200);
  });

  it('audits each failure and each lockout with the user name, the address and the reason', async () => {
    const audit = await adminCall<AuditRow[]>(port, 'GET', '/admin/api/audit?limit=1000');
    expect(audit.status).toBe(200);
    const logins = audit.body.filter((row) => row.entity === 'admin-login');
    const failures = logins.filter((row) => row.action === 'login-failed');
    const fromGuesser = failures.filter((row) => row.entityKey === GUESSER);
    expect(fromGuesser).toHaveLength(5);
    for (const row of fromGuesser) {
      expect(row.actor).toBe(ADMIN_USER);
      expect(row.after).toEqual({ user: ADMIN_USER, address: GUESSER, reason: 'wrong-password' });
    }
    expect(failures.filter((row) => row.entityKey === COLLEAGUE)).toEqual([
      expect.objectContaining({
        actor: 'radiologia',
        after: { user: 'radiologia', address: COLLEAGUE, reason: 'wrong-password' },
      }),
    ]);
    const lockouts = logins.filter((row) => row.action === 'lockout');
    expect(lockouts.map((row) => row.after)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ scope: 'user', user: ADMIN_USER, lockedForMs: 60_000 }),
        expect.objectContaining({ scope: 'address', address: GUESSER, lockedForMs: 60_000 }),
      ]),
    );
    expect(lockouts).toHaveLength(2);
    // Never a password.
    expect(JSON.stringify(audit.body)).not.toMatch(/guess-|correct-horse/);
    expect(JSON.stringify(bridge.logs)).not.toMatch(/guess-\d|correct-horse/);
  });
});
