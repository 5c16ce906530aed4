import { describe, expect, it } from 'vitest';
import { missingDetail } from '../../../src/ondemand/missing-detail.js';

describe('what a report lacks, as the answer names it', () => {
  it('says nothing when nothing is known to be missing', () => {
    expect(missingDetail([])).toBeUndefined();
  });

  it('names studies held short, with their counts, and accessions of which nothing is held', () => {
    expect(
      missingDetail([
        {
          accessionNumber: 'A1',
          studies: [
            { studyInstanceUid: '1.2.3', held: 1, expected: 4, arriving: false },
            { studyInstanceUid: '1.2.4', held: 2, expected: undefined, arriving: true },
          ],
        },
        { accessionNumber: 'A2', studies: [] },
      ]),
    ).toBe(
      'mancano studio 1.2.3 (1 di 4 istanze ricevute); ' +
        'studio 1.2.4 (2 istanze ricevute, altre in arrivo); ' +
        'accession A2 (nessuno studio ricevuto)',
    );
  });

  it('names ten at most and counts the others', () => {
    const detail = missingDetail(
      Array.from({ length: 12 }, (_, i) => ({ accessionNumber: `A${i}`, studies: [] })),
    );
    expect(detail).toMatch(
      /^mancano accession A0 .*accession A9 \(nessuno studio ricevuto\); e altri 2$/,
    );
    expect(detail).not.toContain('A10');
  });
});
