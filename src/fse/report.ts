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
}

/** A registration that cannot be accepted; the message names the field and the value. */
export class ReportValidationError extends Error {
  override readonly name = 'ReportValidationError';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field} ${problem}`);
  }
}

/** The key a report is known by: its local component and its document id. */
export function reportKey(
  report: Pick<ReportRegistration, 'codCL' | 'codDocumentoDipartimentale'>,
): string {
  return `${report.codCL}^${report.codDocumentoDipartimentale}`;
}

const CODICE_FISCALE = /^[A-Z0-9]{16}$/;
/** DICOM SH (accession number) and LO (patient id) limits. */
const MAX_ACCESSION = 16;
const MAX_LO = 64;

function text(
  body: Record<string, unknown>,
  key: string,
  max: number,
  required: boolean,
  field = key,
): string | undefined {
  const value = body[key];
  if (value === undefined || value === null || value === '') {
    if (required) throw new ReportValidationError(field, 'is required');
    return undefined;
  }
  if (typeof value !== 'string')
    throw new ReportValidationError(field, `must be a string: value was ${JSON.stringify(value)}`);
  if (value.length > max || value.includes('\\') || [...value].some((c) => c < ' '))
    throw new ReportValidationError(
      field,
      `must be at most ${max} characters without backslashes or control characters: value was ${JSON.stringify(value.slice(0, 80))}`,
    );
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
 * refused, so a typo never silently drops information.
 */
export function parseReportRegistration(body: unknown): ReportRegistration {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ReportValidationError('body', 'must be a JSON object');
  const record = body as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !FIELDS.has(key));
  if (unknown.length > 0) throw new ReportValidationError(unknown[0]!, 'is not a known field');
  const accessions = record.accessionNumbers;
  if (!Array.isArray(accessions) || accessions.length === 0)
    throw new ReportValidationError(
      'accessionNumbers',
      'must be a non-empty list of {accessionNumber, issuer}',
    );
  if (accessions.length > 100)
    throw new ReportValidationError('accessionNumbers', 'must hold at most 100 entries');
  const parsed = accessions.map((entry: unknown, i): ReportAccession => {
    const field = `accessionNumbers[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw new ReportValidationError(field, 'must be an object {accessionNumber, issuer}');
    const item = entry as Record<string, unknown>;
    const extra = Object.keys(item).filter((key) => key !== 'accessionNumber' && key !== 'issuer');
    if (extra.length > 0)
      throw new ReportValidationError(`${field}.${extra[0]}`, 'is not a known field');
    return {
      accessionNumber:
        text(item, 'accessionNumber', MAX_ACCESSION, true, `${field}.accessionNumber`) ?? '',
      issuer: text(item, 'issuer', MAX_LO, false, `${field}.issuer`) ?? '',
    };
  });
  const codiceFiscale = text(record, 'codiceFiscale', 16, false);
  if (codiceFiscale !== undefined && !CODICE_FISCALE.test(codiceFiscale))
    throw new ReportValidationError('codiceFiscale', 'must be 16 upper-case letters and digits');
  const signedAt = text(record, 'signedAt', 40, false);
  if (
    signedAt !== undefined &&
    (!/^\d{4}-\d{2}-\d{2}T/.test(signedAt) || Number.isNaN(Date.parse(signedAt)))
  )
    throw new ReportValidationError(
      'signedAt',
      `must be an ISO 8601 date-time: value was ${JSON.stringify(signedAt)}`,
    );
  const idDocumentoIlec = text(record, 'idDocumentoIlec', 256, false);
  return {
    codCL: text(record, 'codCL', MAX_LO, true)!,
    codDocumentoDipartimentale: text(record, 'codDocumentoDipartimentale', 256, true)!,
    idDocumentoIlec,
    accessions: parsed,
    patientId: text(record, 'patientId', MAX_LO, true)!,
    issuerOfPatientId: text(record, 'issuerOfPatientId', MAX_LO, false) ?? '',
    codiceFiscale,
    signedAt,
    source: 'http',
  };
}
