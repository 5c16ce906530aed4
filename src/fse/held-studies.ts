import type { StudyIndex } from '../index/study-index.js';
import type { AccessionState, ReportState } from './report-state.js';

/** A study the bridge holds for an accession of a report, and how far it has come. */
export interface HeldStudy {
  studyInstanceUid: string;
  /** Instances held (manifests not counted). */
  held: number;
  /** What the PACS announced for the study when it was last asked; undefined: never asked. */
  expected: number | undefined;
  /** Instances of it arrived within the quiet period: the push may not be over. */
  arriving: boolean;
}

/** What a report still lacks for one of its accessions. */
export interface MissingImages {
  accessionNumber: string;
  /** Its held studies short of complete; empty when the bridge holds none of its studies. */
  studies: HeldStudy[];
}

/** What of the index the held studies are read from. */
export type HeldIndex = Pick<StudyIndex, 'query' | 'getStudy' | 'countStudyInstances'>;

/**
 * Complete as held: no instance has arrived for the quiet period (the push is over) and the
 * study holds at least as many instances as the PACS announced, when it was ever asked.
 */
export function heldComplete(study: HeldStudy): boolean {
  return (
    !study.arriving &&
    study.held > 0 &&
    (study.expected === undefined || study.held >= study.expected)
  );
}

/** Studies the index holds for an accession and the report's patient. */
export function heldStudies(
  index: HeldIndex,
  report: ReportState,
  accession: AccessionState,
  arriving: (studyInstanceUid: string) => boolean,
): HeldStudy[] {
  const matches = index.query('STUDY_ROOT', 'STUDY', {
    AccessionNumber: accession.accessionNumber,
    PatientID: report.patientId,
    IssuerOfAccessionNumber: '',
    StudyInstanceUID: '',
  });
  // The query matches as C-FIND does, where "*" and "?" are wild cards: only the studies
  // whose values are these exactly belong to the report.
  return matches
    .filter(
      (m) => m.AccessionNumber === accession.accessionNumber && m.PatientID === report.patientId,
    )
    .filter(
      (m) =>
        !accession.issuer ||
        !m.IssuerOfAccessionNumber ||
        m.IssuerOfAccessionNumber === accession.issuer,
    )
    .flatMap((m) => {
      const record = index.getStudy(m.StudyInstanceUID!);
      if (!record) return [];
      return [
        {
          studyInstanceUid: record.studyUid,
          held: index.countStudyInstances(record.studyUid),
          expected: record.expectedInstances,
          arriving: arriving(record.studyUid),
        },
      ];
    });
}

/**
 * What the report's accessions that are not complete still lack: their held studies short of
 * complete, or the whole accession when none of its studies is held. An accession whose held
 * studies are all complete lacks nothing.
 */
export function missingImages(
  index: HeldIndex,
  report: ReportState,
  arriving: (studyInstanceUid: string) => boolean,
): MissingImages[] {
  return report.accessions
    .filter((accession) => accession.status !== 'complete')
    .flatMap((accession) => {
      const held = heldStudies(index, report, accession, arriving);
      const short = held.filter((study) => !heldComplete(study));
      if (held.length > 0 && short.length === 0) return [];
      return [{ accessionNumber: accession.accessionNumber, studies: short }];
    });
}
