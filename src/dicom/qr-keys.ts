/**
 * The attributes the bridge exchanges in C-FIND / C-MOVE / C-GET identifiers (PS3.4 C.6), with
 * their PS3.6 tags and VRs. Implicit VR identifiers carry no VR on the wire, so this dictionary
 * is what decides how their values are read; tags outside it decode as raw UN bytes.
 */

/** A query/retrieve key: its tag (group in the high 16 bits) and value representation. */
export interface QrKey {
  tag: number;
  vr: string;
}

function key(tag: number, vr: string): QrKey {
  return Object.freeze({ tag, vr });
}

/** Query/retrieve keys by PS3.6 keyword. */
export const QR_KEYS: Readonly<Record<string, QrKey>> = Object.freeze({
  SpecificCharacterSet: key(0x00080005, 'CS'),
  SOPClassUID: key(0x00080016, 'UI'),
  SOPInstanceUID: key(0x00080018, 'UI'),
  StudyDate: key(0x00080020, 'DA'),
  SeriesDate: key(0x00080021, 'DA'),
  StudyTime: key(0x00080030, 'TM'),
  SeriesTime: key(0x00080031, 'TM'),
  AccessionNumber: key(0x00080050, 'SH'),
  IssuerOfAccessionNumberSequence: key(0x00080051, 'SQ'),
  QueryRetrieveLevel: key(0x00080052, 'CS'),
  RetrieveAETitle: key(0x00080054, 'AE'),
  InstanceAvailability: key(0x00080056, 'CS'),
  // In the final C-MOVE / C-GET response when sub-operations failed (PS3.4 C.4.2.1.4.1).
  FailedSOPInstanceUIDList: key(0x00080058, 'UI'),
  Modality: key(0x00080060, 'CS'),
  ModalitiesInStudy: key(0x00080061, 'CS'),
  SOPClassesInStudy: key(0x00080062, 'UI'),
  ReferringPhysicianName: key(0x00080090, 'PN'),
  StudyDescription: key(0x00081030, 'LO'),
  SeriesDescription: key(0x0008103e, 'LO'),
  AvailableTransferSyntaxUID: key(0x00083002, 'UI'),
  PatientName: key(0x00100010, 'PN'),
  PatientID: key(0x00100020, 'LO'),
  IssuerOfPatientID: key(0x00100021, 'LO'),
  PatientBirthDate: key(0x00100030, 'DA'),
  PatientSex: key(0x00100040, 'CS'),
  BodyPartExamined: key(0x00180015, 'CS'),
  StudyInstanceUID: key(0x0020000d, 'UI'),
  SeriesInstanceUID: key(0x0020000e, 'UI'),
  StudyID: key(0x00200010, 'SH'),
  SeriesNumber: key(0x00200011, 'IS'),
  InstanceNumber: key(0x00200013, 'IS'),
  NumberOfPatientRelatedStudies: key(0x00201200, 'IS'),
  NumberOfPatientRelatedSeries: key(0x00201202, 'IS'),
  NumberOfPatientRelatedInstances: key(0x00201204, 'IS'),
  NumberOfStudyRelatedSeries: key(0x00201206, 'IS'),
  NumberOfStudyRelatedInstances: key(0x00201208, 'IS'),
  NumberOfSeriesRelatedInstances: key(0x00201209, 'IS'),
  NumberOfFrames: key(0x00280008, 'IS'),
  LocalNamespaceEntityID: key(0x00400031, 'UT'),
  UniversalEntityID: key(0x00400032, 'UT'),
  UniversalEntityIDType: key(0x00400033, 'CS'),
});

/** The same keys by tag, with their keyword (for implicit VR decoding and error messages). */
export const QR_KEYS_BY_TAG: ReadonlyMap<number, QrKey & { keyword: string }> = new Map(
  Object.entries(QR_KEYS).map(([keyword, { tag, vr }]) => [tag, { tag, vr, keyword }]),
);
