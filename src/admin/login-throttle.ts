/** How failed admin log-ins lock a user name or an address out. */
export interface LoginThrottleOptions {
  /** Failed log-ins within `loginFailureWindowMs` that lock a user name or an address. */
  loginMaxFailures: number;
  loginFailureWindowMs: number;
  /** The first lockout; each further one of the same user name or address is twice as long. */
  loginLockoutMs: number;
  /** The longest lockout. */
  loginMaxLockoutMs: number;
}

/** Who a lockout is for: every log-in as this user name, or every log-in from this address. */
export interface Lockout {
  scope: 'user' | 'address';
  /** The user name or the address. */
  key: string;
  lockedForMs: number;
}

export type LoginGate = { allowed: true } | { allowed: false; retryAfterMs: number };

/** User names and addresses tracked at most (bounds memory against floods of made-up names). */
export const MAX_TRACKED = 10_000;
/** Longer user names are tracked by their first this many characters. */
export const MAX_TRACKED_NAME = 128;

interface Track {
  /** Times of the failures since the last lockout, within the window. */
  failures: number[];
  lockedUntil: number;
  /** Lockouts so far: the next one lasts loginLockoutMs * 2^lockouts. */
  lockouts: number;
  lastFailureAt: number;
}

/**
 * Failed admin log-ins, counted per user name and per address: `loginMaxFailures` of either
 * within `loginFailureWindowMs` lock it out for `loginLockoutMs`, doubled at each further
 * lockout up to `loginMaxLockoutMs`. While either is locked out, every log-in as that user or
 * from that address is refused before its credentials are checked, the right ones included.
 * A track is forgotten a window after its last failure and lockout; at most `maxTracked` are
 * kept: when full, the least recently failed that is not locked out is forgotten first.
 */
export class LoginThrottle {
  #options: LoginThrottleOptions;
  #now: () => number;
  #maxTracked: number;
  /** By `user:<name>` or `address:<address>`, least recently failed first. */
  #tracks = new Map<string, Track>();

  constructor(options: LoginThrottleOptions, now: () => number, maxTracked = MAX_TRACKED) {
    this.#options = options;
    this.#now = now;
    this.#maxTracked = maxTracked;
  }

  /** User names and addresses tracked now. */
  get size(): number {
    return this.#tracks.size;
  }

  /** Whether a log-in as `user` (undefined: none given) from `address` may be checked now. */
  check(user: string | undefined, address: string): LoginGate {
    const now = this.#now();
    let until = 0;
    for (const key of keysOf(user, address)) {
      const track = this.#tracks.get(key);
      if (track && track.lockedUntil > now) until = Math.max(until, track.lockedUntil);
    }
    return until > now ? { allowed: false, retryAfterMs: until - now } : { allowed: true };
  }

  /** Count a failed log-in; the lockouts it starts. */
  failed(user: string | undefined, address: string): Lockout[] {
    const now = this.#now();
    const { loginMaxFailures, loginFailureWindowMs, loginLockoutMs, loginMaxLockoutMs } =
      this.#options;
    const lockouts: Lockout[] = [];
    for (const key of keysOf(user, address)) {
      const track = this.#take(key, now);
      track.failures = track.failures.filter((at) => at > now - loginFailureWindowMs);
      track.failures.push(now);
      track.lastFailureAt = now;
      if (track.failures.length < loginMaxFailures) continue;
      const lockedForMs = Math.min(loginMaxLockoutMs, loginLockoutMs * 2 ** track.lockouts);
      track.lockouts++;
      track.lockedUntil = now + lockedForMs;
      track.failures = [];
      const scope = key.startsWith('user:') ? 'user' : 'address';
      lockouts.push({ scope, key: key.slice(key.indexOf(':') + 1), lockedForMs });
    }
    return lockouts;
  }

  /** A log-in succeeded: the user name and the address start again from nothing. */
  succeeded(user: string | undefined, address: string): void {
    for (const key of keysOf(user, address)) this.#tracks.delete(key);
  }

  /** The track of `key`, moved to the most recently failed end; room made when full. */
  #take(key: string, now: number): Track {
    const track = this.#tracks.get(key) ?? {
      failures: [],
      lockedUntil: 0,
      lockouts: 0,
      lastFailureAt: now,
    };
    this.#tracks.delete(key);
    if (this.#expired(track, now)) Object.assign(track, { failures: [], lockouts: 0 });
    if (this.#tracks.size >= this.#maxTracked) this.#makeRoom(now);
    this.#tracks.set(key, track);
    return track;
  }

  #expired(track: Track, now: number): boolean {
    return (
      now > Math.max(track.lockedUntil, track.lastFailureAt) + this.#options.loginFailureWindowMs
    );
  }

  /** Forget the expired tracks, then the least recently failed not locked out, then any. */
  #makeRoom(now: number): void {
    for (const [key, track] of this.#tracks)
      if (this.#expired(track, now)) this.#tracks.delete(key);
    for (const [key, track] of this.#tracks) {
      if (this.#tracks.size < this.#maxTracked) return;
      if (track.lockedUntil <= now) this.#tracks.delete(key);
    }
    while (this.#tracks.size >= this.#maxTracked)
      this.#tracks.delete(this.#tracks.keys().next().value!);
  }
}

function keysOf(user: string | undefined, address: string): string[] {
  return [
    ...(user === undefined ? [] : [`user:${user.slice(0, MAX_TRACKED_NAME)}`]),
    `address:${address}`,
  ];
}
