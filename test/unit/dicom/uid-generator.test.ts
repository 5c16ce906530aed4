import { describe, expect, it } from 'vitest';
import { isValidUid } from '../../../src/dicom/uid.js';
import { newUid, uidFromUuid } from '../../../src/dicom/uid-generator.js';

describe('newUid (PS3.5 B.2)', () => {
  it('derives 2.25 UIDs from UUIDs as one decimal integer', () => {
    // The example of PS3.5 B.2.
    expect(uidFromUuid('f81d4fae-7dec-11d0-a765-00a0c91e6bf6')).toBe(
      '2.25.329800735698586629295641978511506172918',
    );
    expect(uidFromUuid('00000000-0000-0000-0000-000000000001')).toBe('2.25.1');
    expect(() => uidFromUuid('not-a-uuid')).toThrow(/not a UUID/);
  });

  it('makes valid, distinct UIDs', () => {
    const uids = Array.from({ length: 1000 }, () => newUid());
    for (const uid of uids) {
      expect(uid).toMatch(/^2\.25\.[1-9][0-9]*$/);
      expect(isValidUid(uid), uid).toBe(true);
    }
    expect(new Set(uids).size).toBe(uids.length);
  });
});
