import type { MissingImages } from '../fse/held-studies.js';

/** Studies and accessions named in one answer; more are counted. */
const MAX_NAMED = 10;

/**
 * What a report lacks, in the words of the answer's `descrizione` (Italian, as the catalogue):
 * each study held short of complete with its count of instances, each accession of which no
 * study is held. Undefined when nothing is known to be missing.
 */
export function missingDetail(missing: readonly MissingImages[]): string | undefined {
  const items = missing.flatMap(({ accessionNumber, studies }) =>
    studies.length === 0
      ? [`accession ${accessionNumber} (nessuno studio ricevuto)`]
      : studies.map(({ studyInstanceUid, held, expected, arriving }) => {
          const count =
            expected !== undefined
              ? `${held} di ${expected} istanze ricevute`
              : `${held} istanze ricevute${arriving ? ', altre in arrivo' : ''}`;
          return `studio ${studyInstanceUid} (${count})`;
        }),
  );
  if (items.length === 0) return undefined;
  const named = items.slice(0, MAX_NAMED).join('; ');
  const more = items.length - MAX_NAMED;
  return `mancano ${named}${more > 0 ? `; e altri ${more}` : ''}`;
}
