import type { InstanceMetadata } from '../dicom/instance-metadata.js';
import type { IngestIndex } from './ports.js';

/**
 * A UID of an arriving instance that the bridge already holds under another study or patient.
 * Storing the instance would merge two studies (a series indexed under one study holding the
 * other's instances) or put one patient's image in place of another's: it is refused instead.
 */
export interface UidConflict {
  /** Which UID is held elsewhere. */
  uid: 'series' | 'instance';
  /** The study that holds it. */
  heldStudyUid: string;
  /** For the log and the sender's Error Comment (no patient data). */
  reason: string;
}

const SERIES_REASON = 'SeriesInstanceUID already held under another study';

/** The series of an instance is indexed under another study. */
export function seriesConflict(heldStudyUid: string): UidConflict {
  return { uid: 'series', heldStudyUid, reason: SERIES_REASON };
}

/**
 * Whether `metadata` reuses a UID held under another study or patient: its series indexed
 * under another study, or its SOP Instance UID (`held`, with other content) indexed under
 * another study of another patient, or under its own study with another PatientID. Another
 * study of the same patient (same PatientID and issuer) is a correction, left to the
 * duplicate policy, as is any other content under the same study and patient.
 */
export function uidConflict(
  index: Pick<IngestIndex, 'seriesStudy' | 'getStudy'>,
  metadata: InstanceMetadata,
  held: { studyUid: string } | undefined,
): UidConflict | undefined {
  const seriesStudy = index.seriesStudy(metadata.series.uid);
  if (seriesStudy !== undefined && seriesStudy !== metadata.study.uid)
    return seriesConflict(seriesStudy);
  if (!held) return undefined;
  const heldPatient = index.getStudy(held.studyUid);
  const { id, issuer } = metadata.patient;
  const sameIssuer = (heldPatient?.patientIssuer ?? '') === (issuer ?? '');
  if (held.studyUid !== metadata.study.uid) {
    // Only a PatientID on both sides tells that another study is the same patient's.
    const samePatient = id !== undefined && heldPatient?.patientId === id && sameIssuer;
    if (samePatient) return undefined;
    return {
      uid: 'instance',
      heldStudyUid: held.studyUid,
      reason: 'SOP Instance UID already held under another study of another patient',
    };
  }
  const otherPatient =
    id !== undefined &&
    heldPatient?.patientId !== undefined &&
    (heldPatient.patientId !== id || !sameIssuer);
  if (!otherPatient) return undefined;
  return {
    uid: 'instance',
    heldStudyUid: held.studyUid,
    reason: 'SOP Instance UID already held for another patient',
  };
}
