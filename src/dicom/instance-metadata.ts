/**
 * What the bridge keeps about one received instance: the header values the index needs,
 * already decoded to JavaScript strings (Specific Character Set applied). Absent or empty
 * DICOM values are `undefined`, never the empty string.
 */
export interface InstanceMetadata {
  patient: {
    /** PatientID (0010,0020). */
    id: string | undefined;
    /** IssuerOfPatientID (0010,0021). */
    issuer: string | undefined;
    /** PatientName (0010,0010), e.g. `Müller^Jörg`. Patient data: never log it. */
    name: string | undefined;
    /** PatientBirthDate (0010,0030), `YYYYMMDD`. */
    birthDate: string | undefined;
    /** PatientSex (0010,0040). */
    sex: string | undefined;
  };
  study: {
    /** StudyInstanceUID (0020,000D), validated. */
    uid: string;
    /** AccessionNumber (0008,0050). */
    accessionNumber: string | undefined;
    /** LocalNamespaceEntityID of IssuerOfAccessionNumberSequence (0008,0051). */
    accessionIssuer: string | undefined;
    /** StudyDate (0008,0020), `YYYYMMDD`. */
    date: string | undefined;
    /** StudyTime (0008,0030). */
    time: string | undefined;
    /** StudyDescription (0008,1030). */
    description: string | undefined;
    /** ReferringPhysicianName (0008,0090). */
    referringPhysician: string | undefined;
    /** StudyID (0020,0010). */
    studyId: string | undefined;
  };
  series: {
    /** SeriesInstanceUID (0020,000E), validated. */
    uid: string;
    /** Modality (0008,0060). */
    modality: string | undefined;
    /** SeriesNumber (0020,0011). */
    number: number | undefined;
    /** SeriesDescription (0008,103E). */
    description: string | undefined;
    /** BodyPartExamined (0018,0015). */
    bodyPart: string | undefined;
  };
  instance: {
    /** SOPInstanceUID (0008,0018), validated. */
    uid: string;
    /** SOPClassUID (0008,0016), validated. */
    sopClassUid: string;
    /** InstanceNumber (0020,0013). */
    number: number | undefined;
    /** NumberOfFrames (0028,0008) when it parses as an integer. */
    frames: number | undefined;
  };
}

/** Where and how an instance was received and stored; written to the index with its metadata. */
export interface StoredInstance {
  metadata: InstanceMetadata;
  /** Transfer syntax UID of the stored dataset (as received). */
  transferSyntaxUid: string;
  /** Size in bytes of the stored object (file meta + dataset). */
  sizeBytes: number;
  /** Hex sha256 of the dataset bytes as received (file meta excluded). */
  datasetSha256: string;
  /** Object key in the store, see `storage/keys.ts`. */
  storageKey: string;
  /** ISO 8601 UTC time of receipt. */
  receivedAt: string;
  /** Calling AE title of the association that sent it (or `rebuild` / the SCU AE later). */
  callingAe: string;
}
