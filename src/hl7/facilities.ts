import {
  GATEWAY_SETTING_KEYS,
  gatewayValueProblem,
  type GatewaySettings,
} from '../fse/gateway-settings.js';

/**
 * Where the document id of an MDM message without TXA comes from: `accession` (the first
 * accession number, OBX-5.1 of the first RP OBX), `MSH-10`, `OBR-3` (OBR-3.1), `OBX:<code>`
 * (OBX-5.1 of the first OBX whose OBX-3.1 is the code), or `refuse` (answered AE).
 */
export type DocumentIdWithoutTxa = 'accession' | 'MSH-10' | 'OBR-3' | 'refuse' | `OBX:${string}`;
export const DEFAULT_DOCUMENT_ID_WITHOUT_TXA: DocumentIdWithoutTxa = 'accession';
const DOCUMENT_ID_SOURCES = /^(accession|MSH-10|OBR-3|refuse|OBX:[A-Za-z0-9._-]{1,20})$/;

/**
 * How the bridge reads the reports of one sending facility (MSH-4): which PID-3 repetition is
 * the DICOM PatientID, and the issuers the PACS stores with patient ids and accession numbers.
 */
export interface FacilitySetting {
  /** MSH-4 of its messages: the namespace id, or the universal id when it sends only that. */
  sendingFacility: string;
  /**
   * Assigning authority (PID-3.4, namespace id or universal id) of the PID-3 repetition that
   * is the DICOM PatientID.
   */
  patientIdAuthority: string;
  /** When set, that repetition's identifier type code (PID-3.5) too, e.g. `PI`. */
  patientIdTypeCode?: string;
  /** IssuerOfPatientID (0010,0021) of that id at the PACS; '' when the PACS stores none. */
  patientIdIssuer: string;
  /** Issuer of the accession numbers of OBX-5.1 (which carries none); '' when unknown. */
  accessionIssuer: string;
  /** codCL: the FSE code of the ASR's local component its reports belong to. */
  codCL?: string;
  /** Where the document id of an MDM message without TXA comes from; default `accession`. */
  documentIdWithoutTxa?: DocumentIdWithoutTxa;
  /** Its reports' values in the messages to the regional image gateway, over `fse.gateway`. */
  gateway?: Partial<GatewaySettings>;
}

const REQUIRED = ['sendingFacility', 'patientIdAuthority', 'patientIdIssuer', 'accessionIssuer'];
const OPTIONAL = ['patientIdTypeCode', 'codCL'];
const KEYS = new Set([...REQUIRED, ...OPTIONAL, 'documentIdWithoutTxa', 'gateway']);
/** Keys whose value becomes a DICOM LO (at most 64 characters, no backslash). */
const DICOM_VALUES = new Set(['patientIdIssuer', 'accessionIssuer']);
const MAY_BE_EMPTY = new Set(['patientIdIssuer', 'accessionIssuer']);

function fail(i: number, key: string, problem: string, value: unknown): never {
  const what = key === '' ? `entry ${i}` : `entry ${i} ${key}`;
  throw new Error(`${what} ${problem}: value was ${JSON.stringify(value)}`);
}

function checkString(i: number, key: string, value: unknown): void {
  const max = DICOM_VALUES.has(key) ? 64 : 180;
  const min = MAY_BE_EMPTY.has(key) ? 0 : 1;
  const kind = min === 0 ? 'a string' : 'a non-empty string';
  if (typeof value !== 'string' || value.length < min || value.length > max)
    fail(i, key, `must be ${kind} of at most ${max} characters`, value);
  if (value !== value.trim()) fail(i, key, 'must not start or end with spaces', value);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\\]/.test(value))
    fail(i, key, 'must not hold backslashes or control characters', value);
}

function checkGateway(i: number, value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(i, 'gateway', 'must be an object', value);
  for (const [key, setting] of Object.entries(value)) {
    if (!(GATEWAY_SETTING_KEYS as readonly string[]).includes(key))
      fail(
        i,
        `gateway.${key}`,
        `is not a gateway setting (known: ${GATEWAY_SETTING_KEYS.join(', ')})`,
        setting,
      );
    const problem = gatewayValueProblem(key as keyof GatewaySettings, setting);
    if (problem) fail(i, `gateway.${key}`, problem, setting);
    if ((key === 'structureCode' || key === 'sendingApplication') && setting === '')
      fail(i, `gateway.${key}`, 'must not be empty', setting);
  }
}

/**
 * Validate the list of facilities (the `hl7.facilities` setting): each entry an object with
 * the required keys and no others, strings within their limits, no facility twice. Errors
 * name the entry, the key and the value, as `entry 1 accessionIssuer must be … : value was 3`.
 */
export function assertFacilities(value: unknown): asserts value is FacilitySetting[] {
  if (!Array.isArray(value))
    throw new Error(`must be a list of facilities: value was ${JSON.stringify(value)}`);
  const seen = new Set<string>();
  value.forEach((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      fail(i, '', 'must be an object', entry);
    const record = entry as Record<string, unknown>;
    for (const key of Object.keys(record))
      if (!KEYS.has(key))
        fail(i, key, `is not a facility setting (known: ${[...KEYS].join(', ')})`, record[key]);
    for (const key of REQUIRED) {
      if (record[key] === undefined) fail(i, key, 'is required', undefined);
      checkString(i, key, record[key]);
    }
    for (const key of OPTIONAL) if (record[key] !== undefined) checkString(i, key, record[key]);
    const source = record.documentIdWithoutTxa;
    if (source !== undefined && (typeof source !== 'string' || !DOCUMENT_ID_SOURCES.test(source)))
      fail(
        i,
        'documentIdWithoutTxa',
        'must be accession, MSH-10, OBR-3, OBX:<code> or refuse',
        source,
      );
    if (record.gateway !== undefined) checkGateway(i, record.gateway);
    const name = record.sendingFacility as string;
    if (seen.has(name)) fail(i, 'sendingFacility', 'is listed twice', name);
    seen.add(name);
  });
}

/** The facilities by their sending facility (MSH-4), after validating them. */
export function facilitiesByName(value: unknown): Map<string, FacilitySetting> {
  assertFacilities(value);
  return new Map(value.map((facility) => [facility.sendingFacility, { ...facility }]));
}
