import { describe, expect, it } from 'vitest';
import { storageContexts } from '../../../src/retrieve/pacs-client.js';

const EXPLICIT = '1.2.840.10008.1.2.1';
const IMPLICIT = '1.2.840.10008.1.2';
const classes = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => `1.2.840.10008.5.1.4.1.1.${i + 1}`);

describe('C-GET storage contexts', () => {
  it('proposes one context per transfer syntax for each SOP class', () => {
    const contexts = storageContexts(classes(2));
    expect(contexts.every((pc) => pc.transferSyntaxes.length === 1)).toBe(true);
    const first = contexts.filter((pc) => pc.abstractSyntax === classes(1)[0]);
    expect(first.map((pc) => pc.transferSyntaxes[0])).toContain('1.2.840.10008.1.2.4.90');
    expect(first.map((pc) => pc.transferSyntaxes[0])).toContain(IMPLICIT);
    expect(contexts).toHaveLength(2 * first.length);
  });

  it('stays within 127 storage contexts and keeps the uncompressed syntaxes for every class', () => {
    for (const n of [9, 10, 20, 40, 63]) {
      const contexts = storageContexts(classes(n));
      expect(contexts.length, `${n} classes`).toBeLessThanOrEqual(127);
      for (const sopClass of classes(n)) {
        const syntaxes = contexts
          .filter((pc) => pc.abstractSyntax === sopClass)
          .map((pc) => pc.transferSyntaxes[0]);
        expect(syntaxes, `${n} classes`).toContain(EXPLICIT);
        expect(syntaxes, `${n} classes`).toContain(IMPLICIT);
      }
    }
  });

  it('refuses more SOP classes than contexts allow', () => {
    expect(() => storageContexts(classes(128))).toThrow(/more than 128 presentation contexts/);
  });
});
