import type { CheckedVr } from '../dicom/dataset-writer.js';
import { vrProblem } from '../dicom/dataset-writer.js';
import { MAX_ACCESSION_NUMBERS } from './fse-messages.js';
import {
  FseMessageError,
  checkAccession,
  checkCodCL,
  checkCodiceFiscale,
  checkDocumentId,
  checkText,
} from './fse-validation.js';

/** An accession number a report covers, with its issuer when known. */
export interface ReportAccession {
  accessionNumber: string;
  /** Issuer of the accession number; '' when unknown. */
  issuer: string;
}

/** A signed radiology report to link to its images (from HL7 or the HTTP API). */
export interface ReportRegistration {
  /** Code of the ASR's local component. */
  codCL: string;
  /** The document id inside the ASR. */
  codDocumentoDipartimentale: string;
  /** The regional index id, when known. */
  idDocumentoIlec: string | undefined;
  accessions: ReportAccession[];
  patientId: string;
  /** Issuer of the patient id; '' when unknown. */
  issuerOfPatientId: string;
  codiceFiscale: string | undefined;
  /** When the report was signed, ISO 8601. */
  signedAt: string | undefined;
  source: 'hl7' | 'http';
  /** The sending facility (MSH-4) of the HL7 message it came in; none from the HTTP API. */
  facility?: string | undefined;
  /** The patient's id at the RIS (the PID-3 repetition assigned by RIS), when sent. */
  risId?: string | undefined;
}

/** A registration that cannot be accepted; the message names the field. */
export class ReportValidationError extends Error {
  override readonly name = 'ReportValidationError';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field} ${problem}`);
  }
}

/** Joins codCL and the document id in a report key; never part of a valid codCL. */
const KEY_SEPARATOR = '^';

/**
 * The key a report is known by: its local component and its document id, joined by `^` (as in
 * the outbox, `reportKeyOf`). The key is unambiguous because a codCL never holds `^`.
 *
 * @throws ReportValidationError when codCL holds `^`: such a key would name another report
 * (codCL `A^B` with document `C` is codCL `A` with document `B^C`).
 */
export function reportKey(
  report: Pick<ReportRegistration, 'codCL' | 'codDocumentoDipartimentale'>,
): string {
  if (report.codCL.includes(KEY_SEPARATOR))
    throw new ReportValidationError('codCL', `must not contain "${KEY_SEPARATOR}"`);
  return `${report.codCL}${KEY_SEPARATOR}${report.codDocumentoDipartimentale}`;
}

/** The longest codDocumentoDipartimentale the FSE messages carry (an Idempotency-Key part). */
export const MAX_DOCUMENT_ID = 128;
/** The longest idDocumentoIlec the FSE messages carry. */
const MAX_ID_DOCUMENTO_ILEC = 256;
/** DICOM LO (patient id and issuers). */
const MAX_LO = 64;

/** The JSON type of a value, never the value: error messages must not echo what was sent. */
export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Runs one of the FSE message checks and, for DICOM values, the VR check of the KOS manifest
 * (no backslash), so that a report accepted here can always be notified and get a manifest.
 */
function checked<T>(run: () => T, field: string, vr?: CheckedVr): T {
  let value: T;
  try {
    value = run();
  } catch (error) {
    if (error instanceof FseMessageError)
      throw new ReportValidationError(field, error.message.slice(error.field.length + 1));
    throw error;
  }
  const problem = vr && typeof value === 'string' ? vrProblem(vr, value) : undefined;
  if (problem !== undefined) throw new ReportValidationError(field, problem);
  return value;
}

/**
 * Check a registration's values with the checks its FSE notifications (`fse-messages.ts`) and
 * its KOS manifest will apply: a report accepted is a report that can be notified. Used for
 * registrations from HL7 as well as from the HTTP API.
 *
 * @throws ReportValidationError naming the first field refused (patient data is never quoted).
 */
export function checkRegistration(registration: ReportRegistration): ReportRegistration {
  const r = registration;
  checked(() => checkCodCL('codCL', r.codCL), 'codCL');
  checked(
    () =>
      checkDocumentId('codDocumentoDipartimentale', r.codDocumentoDipartimentale, MAX_DOCUMENT_ID),
    'codDocumentoDipartimentale',
  );
  if (r.idDocumentoIlec !== undefined && r.idDocumentoIlec !== '')
    checked(
      () => checkDocumentId('idDocumentoIlec', r.idDocumentoIlec, MAX_ID_DOCUMENTO_ILEC),
      'idDocumentoIlec',
    );
  checked(() => checkText('patientId', r.patientId, MAX_LO), 'patientId', 'LO');
  if (r.issuerOfPatientId !== '')
    checked(
      () => checkText('issuerOfPatientId', r.issuerOfPatientId, MAX_LO),
      'issuerOfPatientId',
      'LO',
    );
  if (r.codiceFiscale !== undefined && r.codiceFiscale !== '')
    checked(() => checkCodiceFiscale('codiceFiscale', r.codiceFiscale), 'codiceFiscale');
  if (r.risId !== undefined && r.risId !== '')
    checked(() => checkText('risId', r.risId, MAX_LO), 'risId');
  if (r.accessions.length === 0 || r.accessions.length > MAX_ACCESSION_NUMBERS)
    throw new ReportValidationError(
      'accessionNumbers',
      `must list 1 to ${MAX_ACCESSION_NUMBERS} accession numbers`,
    );
  r.accessions.forEach((a, i) => {
    const field = `accessionNumbers[${i}]`;
    checked(
      () => checkAccession(`${field}.accessionNumber`, a.accessionNumber),
      `${field}.accessionNumber`,
      'SH',
    );
    if (a.issuer !== '')
      checked(() => checkText(`${field}.issuer`, a.issuer, MAX_LO), `${field}.issuer`, 'LO');
  });
  return registration;
}

/** A field of a JSON body that must be a string when given; '' and null count as not given. */
function text(
  body: Record<string, unknown>,
  key: string,
  required: boolean,
  field = key,
): string | undefined {
  const value = body[key];
  if (value === undefined || value === null || value === '') {
    if (required) throw new ReportValidationError(field, 'is required');
    return undefined;
  }
  if (typeof value !== 'string')
    throw new ReportValidationError(field, `must be a string, not ${jsonType(value)}`);
  return value;
}

const FIELDS = new Set([
  'codCL',
  'codDocumentoDipartimentale',
  'idDocumentoIlec',
  'accessionNumbers',
  'patientId',
  'issuerOfPatientId',
  'codiceFiscale',
  'signedAt',
]);

/**
 * Validate a registration received as JSON (the HTTP API): every field checked, unknown fields
 * refused, so a typo never silently drops information; then the values are checked as
 * `checkRegistration` does. Errors name the field and, for a value of the wrong type, its JSON
 * type only (a body may be deeply nested or large: it is never serialised back).
 *
 * @throws ReportValidationError naming the first field refused.
 */
export function parseReportRegistration(body: unknown): ReportRegistration {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ReportValidationError('body', 'must be a JSON object');
  const record = body as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !FIELDS.has(key));
  if (unknown.length > 0)
    throw new ReportValidationError(unknown[0]!.slice(0, 80), 'is not a known field');
  const accessions = record.accessionNumbers;
  if (!Array.isArray(accessions) || accessions.length === 0)
    throw new ReportValidationError(
      'accessionNumbers',
      'must be a non-empty list of {accessionNumber, issuer}',
    );
  if (accessions.length > MAX_ACCESSION_NUMBERS)
    throw new ReportValidationError(
      'accessionNumbers',
      `must hold at most ${MAX_ACCESSION_NUMBERS} entries`,
    );
  const parsed = accessions.map((entry: unknown, i): ReportAccession => {
    const field = `accessionNumbers[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw new ReportValidationError(field, 'must be an object {accessionNumber, issuer}');
    const item = entry as Record<string, unknown>;
    const extra = Object.keys(item).filter((key) => key !== 'accessionNumber' && key !== 'issuer');
    if (extra.length > 0)
      throw new ReportValidationError(`${field}.${extra[0]!.slice(0, 80)}`, 'is not a known field');
    return {
      accessionNumber: text(item, 'accessionNumber', true, `${field}.accessionNumber`)!,
      issuer: text(item, 'issuer', false, `${field}.issuer`) ?? '',
    };
  });
  const signedAt = text(record, 'signedAt', false);
  if (
    signedAt !== undefined &&
    (signedAt.length > 40 ||
      !/^\d{4}-\d{2}-\d{2}T/.test(signedAt) ||
      Number.isNaN(Date.parse(signedAt)))
  )
    throw new ReportValidationError(
      'signedAt',
      `must be an ISO 8601 date-time: value was ${JSON.stringify(signedAt.slice(0, 40))}`,
    );
  return checkRegistration({
    codCL: text(record, 'codCL', true)!,
    codDocumentoDipartimentale: text(record, 'codDocumentoDipartimentale', true)!,
    idDocumentoIlec: text(record, 'idDocumentoIlec', false),
    accessions: parsed,
    patientId: text(record, 'patientId', true)!,
    issuerOfPatientId: text(record, 'issuerOfPatientId', false) ?? '',
    codiceFiscale: text(record, 'codiceFiscale', false),
    signedAt,
    source: 'http',
  });
}
