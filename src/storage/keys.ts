import { assertValidUid } from '../dicom/uid.js';

/**
 * Object key of an instance as received:
 * `studies/<StudyUID>/<SeriesUID>/<SOPInstanceUID>.dcm`. The UIDs are validated here too,
 * so nothing from the network can become a path unchecked.
 */
export function instanceKey(studyUid: string, seriesUid: string, sopInstanceUid: string): string {
  assertValidUid('StudyInstanceUID', studyUid);
  assertValidUid('SeriesInstanceUID', seriesUid);
  assertValidUid('SOPInstanceUID', sopInstanceUid);
  return `studies/${studyUid}/${seriesUid}/${sopInstanceUid}.dcm`;
}

/** Prefix under which every received instance lives. */
export const INSTANCES_PREFIX = 'studies/';
