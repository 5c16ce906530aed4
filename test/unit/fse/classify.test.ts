import { describe, expect, it } from 'vitest';
import { classifyStatus, parseRetryAfter } from '../../../src/fse/fse-notifier.js';

describe('classifyStatus', () => {
  it.each([200, 201, 202, 204, 299])('%i: delivered (taken in charge)', (status) => {
    expect(classifyStatus(status)).toBe('delivered');
  });

  it.each([408, 409, 425, 429, 500, 502, 503, 504, 599])('%i: retried', (status) => {
    expect(classifyStatus(status)).toBe('retry');
  });

  it.each([400, 401, 403, 404, 405, 410, 413, 415, 422, 300, 301, 302, 307, 308, 100])(
    '%i: final (dead letter)',
    (status) => {
      expect(classifyStatus(status)).toBe('final');
    },
  );
});

describe('parseRetryAfter', () => {
  const now = new Date('2024-03-01T10:00:00Z');

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
  });

  it('reads an HTTP-date, never negative', () => {
    expect(parseRetryAfter('Fri, 01 Mar 2024 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Fri, 01 Mar 2024 09:00:00 GMT', now)).toBe(0);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});
