import { describe, expect, it } from 'vitest';
import { AdminAuth } from '../../../src/admin/auth.js';
import { LoginThrottle, MAX_TRACKED } from '../../../src/admin/login-throttle.js';

/*
 * Failed admin log-ins lock the user name and the address out, with a clock the test moves:
 * no test here waits for time to pass.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const THROTTLE = {
  loginMaxFailures: 5,
  loginFailureWindowMs: 15 * MINUTE,
  loginLockoutMs: 1 * MINUTE,
  loginMaxLockoutMs: 8 * MINUTE,
};
const OPTIONS = {
  username: 'admin',
  password: 'the right passphrase',
  token: 'the-admin-token',
  sessionTtlMs: 30 * MINUTE,
  ...THROTTLE,
};
const RIGHT = { username: 'admin', password: 'the right passphrase' };
const WRONG = { username: 'admin', password: 'guess' };
const ATTACKER = '192.0.2.66';
const COLLEAGUE = '192.0.2.10';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let now = 1_000_000;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

describe('AdminAuth with failed log-ins', () => {
  it('refuses the right password once the user name is locked out, until the lockout ends', () => {
    const time = clock();
    const auth = new AdminAuth(OPTIONS, time.now);
    for (let i = 0; i < 4; i++)
      expect(auth.login(WRONG, ATTACKER)).toEqual({
        ok: false,
        reason: 'wrong-password',
        lockouts: [],
      });
    expect(auth.login(WRONG, ATTACKER)).toEqual({
      ok: false,
      reason: 'wrong-password',
      lockouts: [
        { scope: 'user', key: 'admin', lockedForMs: 1 * MINUTE },
        { scope: 'address', key: ATTACKER, lockedForMs: 1 * MINUTE },
      ],
    });
    for (let i = 0; i < 300; i++) auth.login(WRONG, ATTACKER);
    expect(auth.login(RIGHT, ATTACKER)).toEqual({
      ok: false,
      reason: 'locked-out',
      retryAfterMs: 1 * MINUTE,
    });

    time.advance(1 * MINUTE - 1);
    expect(auth.login(RIGHT, ATTACKER)).toMatchObject({ reason: 'locked-out', retryAfterMs: 1 });
    time.advance(1);
    expect(auth.login(RIGHT, ATTACKER)).toMatchObject({ ok: true, user: 'admin' });
  });

  it('locks out others only as the design says: the same user name anywhere, the same address for any user', () => {
    const time = clock();
    const auth = new AdminAuth(OPTIONS, time.now);
    for (let i = 0; i < 5; i++) auth.login(WRONG, ATTACKER);

    // Another user name from another address is checked as usual.
    expect(auth.login({ username: 'radiologia', password: 'x' }, COLLEAGUE)).toMatchObject({
      reason: 'wrong-password',
    });
    // The locked user name is refused from every address, the right password included.
    expect(auth.login(RIGHT, COLLEAGUE)).toMatchObject({ reason: 'locked-out' });
    // The locked address is refused for every user name, and for the token.
    expect(auth.login({ username: 'radiologia', password: 'x' }, ATTACKER)).toMatchObject({
      reason: 'locked-out',
    });
    expect(auth.login({ token: OPTIONS.token }, ATTACKER)).toMatchObject({ reason: 'locked-out' });
    // The token from another address still logs in: the way in while the user name is locked.
    expect(auth.login({ token: OPTIONS.token }, COLLEAGUE)).toMatchObject({
      ok: true,
      user: 'token',
    });
  });

  it('counts token guesses and empty log-ins against the address', () => {
    const auth = new AdminAuth(OPTIONS, clock().now);
    for (let i = 0; i < 3; i++)
      expect(auth.login({ token: 'guess' }, ATTACKER)).toMatchObject({ reason: 'wrong-token' });
    expect(auth.login({}, ATTACKER)).toMatchObject({ reason: 'no-credentials' });
    expect(auth.login({ token: 'guess' }, ATTACKER)).toMatchObject({
      lockouts: [{ scope: 'address', key: ATTACKER, lockedForMs: 1 * MINUTE }],
    });
    expect(auth.login({ token: OPTIONS.token }, ATTACKER)).toMatchObject({
      reason: 'locked-out',
    });
    expect(auth.login(RIGHT, COLLEAGUE)).toMatchObject({ ok: true });
  });
});

describe('LoginThrottle', () => {
  it('doubles each further lockout, up to the longest', () => {
    const time = clock();
    const throttle = new LoginThrottle(THROTTLE, time.now);
    const lengths: number[] = [];
    for (let round = 0; round < 6; round++) {
      let lockouts: ReturnType<LoginThrottle['failed']> = [];
      for (let i = 0; i < 5; i++) lockouts = throttle.failed('admin', ATTACKER);
      lengths.push(lockouts[0]!.lockedForMs);
      expect(throttle.check('admin', ATTACKER)).toEqual({
        allowed: false,
        retryAfterMs: lockouts[0]!.lockedForMs,
      });
      time.advance(lockouts[0]!.lockedForMs);
      expect(throttle.check('admin', ATTACKER)).toEqual({ allowed: true });
    }
    expect(lengths.map((ms) => ms / MINUTE)).toEqual([1, 2, 4, 8, 8, 8]);
  });

  it('counts only the failures within the window, and starts again after a quiet window', () => {
    const time = clock();
    const throttle = new LoginThrottle(THROTTLE, time.now);
    for (let i = 0; i < 20; i++) {
      expect(throttle.failed('admin', ATTACKER)).toEqual([]);
      time.advance(4 * MINUTE);
    }
    expect(throttle.check('admin', ATTACKER)).toEqual({ allowed: true });

    for (let i = 0; i < 5; i++) throttle.failed('admin', ATTACKER);
    time.advance(1 * MINUTE + 15 * MINUTE + 1);
    // A whole window after the lockout ended: the next lockout is the first again.
    let lockouts: ReturnType<LoginThrottle['failed']> = [];
    for (let i = 0; i < 5; i++) lockouts = throttle.failed('admin', ATTACKER);
    expect(lockouts.map((lockout) => lockout.lockedForMs)).toEqual([1 * MINUTE, 1 * MINUTE]);
  });

  it('forgets a user name and an address after a successful log-in', () => {
    const throttle = new LoginThrottle(THROTTLE, clock().now);
    for (let i = 0; i < 4; i++) throttle.failed('admin', COLLEAGUE);
    throttle.succeeded('admin', COLLEAGUE);
    expect(throttle.size).toBe(0);
    expect(throttle.failed('admin', COLLEAGUE)).toEqual([]);
  });

  it('tracks at most its bound, forgetting those not locked out first', () => {
    const time = clock();
    const throttle = new LoginThrottle(THROTTLE, time.now, 100);
    for (let i = 0; i < 5; i++) throttle.failed('admin', ATTACKER);
    for (let i = 0; i < 10_000; i++) {
      throttle.failed(`made-up-${i}`, `198.51.100.${i % 20}`);
      expect(throttle.size).toBeLessThanOrEqual(100);
    }
    expect(throttle.size).toBe(100);
    // A flood of made-up user names does not lift a lockout.
    expect(throttle.check('admin', COLLEAGUE).allowed).toBe(false);
    // Long user names are tracked by their first characters: one track, not one per name.
    const small = new LoginThrottle(THROTTLE, time.now);
    for (let i = 0; i < 5; i++) small.failed(`${'x'.repeat(200)}${i}`, ATTACKER);
    expect(small.size).toBe(2);
    expect(small.check(`${'x'.repeat(200)}other`, COLLEAGUE).allowed).toBe(false);
    expect(MAX_TRACKED).toBe(10_000);
  });
});
