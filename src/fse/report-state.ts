import type { ReportAccession } from './report.js';

/** Where one accession of a report stands. */
export type AccessionStatus =
  'waiting' | 'complete' | 'incomplete' | 'not-found' | 'pacs-unreachable' | 'refused';

export type ReportStatus = 'waiting' | 'linked' | 'cancelled';

export interface AccessionState extends ReportAccession {
  id: number;
  status: AccessionStatus;
  /** When the images became available (ISO 8601), once complete. */
  dataNotificaPacs: string | undefined;
  lastError: string | undefined;
  studies: Array<{ studyInstanceUid: string; instances: number }>;
}

export interface ManifestState {
  sopInstanceUid: string;
  studyInstanceUid: string;
  storageKey: string;
  instances: number;
  createdAt: string;
}

/** A report and its links, as the CLI and the HTTP API show them. */
export interface ReportState {
  reportKey: string;
  codCL: string;
  codDocumentoDipartimentale: string;
  idDocumentoIlec: string | undefined;
  patientId: string;
  issuerOfPatientId: string;
  codiceFiscale: string | undefined;
  signedAt: string | undefined;
  /** The sending facility (MSH-4) it came from over HL7; undefined from the HTTP API. */
  facility: string | undefined;
  /** The patient's id at the RIS, when the RIS sent one. */
  risId: string | undefined;
  status: ReportStatus;
  /** 1 for the first registration, +1 at each replacement. */
  version: number;
  /** Obscuration event codes in force (P97, P98, P99), comma-separated; '' when none. */
  obscuration: string;
  source: string;
  accessions: AccessionState[];
  /** The current KOS manifest, once linked. */
  manifest: ManifestState | undefined;
  createdAt: string;
  updatedAt: string;
}
