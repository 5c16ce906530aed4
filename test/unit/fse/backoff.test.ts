import { describe, expect, it } from 'vitest';
import {
  OutboxWorker,
  OutboxWorkerConfigError,
  backoffDelayMs,
  retryDelayMs,
} from '../../../src/fse/outbox-worker.js';
import { pino } from 'pino';

const options = { retryBaseDelayMs: 1_000, retryMaxDelayMs: 60_000 };
/** Just below 1: the top of each jitter range. */
const top = (): number => 1 - Number.EPSILON;

describe('backoffDelayMs', () => {
  it('doubles the ceiling at each failure, from the base', () => {
    expect([1, 2, 3, 4, 5].map((f) => backoffDelayMs(f, options, top))).toEqual([
      999, 1_999, 3_999, 7_999, 15_999,
    ]);
  });

  it('never exceeds the cap, even after very many failures', () => {
    for (const failures of [7, 8, 20, 1_023, 1_024, 5_000]) {
      const delay = backoffDelayMs(failures, options, top);
      expect(delay).toBeLessThan(60_000);
      expect(delay).toBeGreaterThanOrEqual(59_999);
    }
  });

  it('applies full jitter: anywhere from 0 to the ceiling', () => {
    expect(backoffDelayMs(3, options, () => 0)).toBe(0);
    expect(backoffDelayMs(3, options, () => 0.5)).toBe(2_000);
    let state = 12_345;
    // A fixed pseudo-random sequence: the spread must cover the range, not cluster.
    const random = (): number => {
      state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
      return state / 2 ** 31;
    };
    const delays = Array.from({ length: 2_000 }, () => backoffDelayMs(4, options, random));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(8_000);
    expect(Math.min(...delays)).toBeLessThan(400);
    expect(Math.max(...delays)).toBeGreaterThan(7_600);
    const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
    expect(mean).toBeGreaterThan(3_600);
    expect(mean).toBeLessThan(4_400);
  });

  it('treats 0 failures like 1 (the base)', () => {
    expect(backoffDelayMs(0, options, top)).toBe(999);
  });
});

describe('retryDelayMs', () => {
  it('waits at least what Retry-After asks', () => {
    expect(retryDelayMs(1, 30_000, options, () => 0)).toBe(30_000);
    expect(retryDelayMs(5, 2_000, options, () => 0.5)).toBe(8_000);
  });

  it('bounds Retry-After by the cap', () => {
    expect(retryDelayMs(1, 24 * 3_600_000, options, () => 0)).toBe(60_000);
  });

  it('is the jittered backoff without Retry-After', () => {
    expect(retryDelayMs(2, undefined, options, () => 0.25)).toBe(500);
  });
});

describe('OutboxWorker options', () => {
  const deps = {
    store: {} as never,
    deliver: () => Promise.resolve({ result: 'aborted' as const }),
    log: pino({ enabled: false }),
  };

  it.each([
    [{ maxInFlight: 0 }, /maxInFlight must be an integer from 1 to 1000: 0/],
    [{ pollIntervalMs: 1.5 }, /pollIntervalMs .*: 1\.5/],
    [{ maxAttempts: -1 }, /maxAttempts .*: -1/],
    [{ retryBaseDelayMs: 10, retryMaxDelayMs: 5 }, /retryMaxDelayMs \(5\) must not be less/],
    [{ stopTimeoutMs: Number.NaN }, /stopTimeoutMs .*: NaN/],
  ])('refuses %o naming the option and the value', (options, message) => {
    expect(() => new OutboxWorker(options, deps)).toThrow(OutboxWorkerConfigError);
    expect(() => new OutboxWorker(options, deps)).toThrow(message);
  });

  it('accepts the defaults', () => {
    expect(() => new OutboxWorker({}, deps)).not.toThrow();
  });
});
