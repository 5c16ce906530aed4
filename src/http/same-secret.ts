import { timingSafeEqual } from 'node:crypto';

/** Compare a secret given by a caller with the configured one, in time independent of content. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
