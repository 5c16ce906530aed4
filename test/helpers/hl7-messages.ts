/**
 * Realistic but invented HL7 v2 radiology messages of a Piemonte ASR: a RIS sends MDM^T02
 * when a report is signed. Every name, id and codice fiscale here is fake.
 */

/** One segment from its fields by number (missing numbers are empty). */
export function segment(name: string, fields: Record<number, string>): string {
  const last = Math.max(0, ...Object.keys(fields).map(Number));
  const parts = [name];
  for (let i = 1; i <= last; i++) parts.push(fields[i] ?? '');
  return parts.join('|');
}

/** Components from their numbers, e.g. `components({ 1: 'DOC1', 15: '2025…' })`. */
export function components(values: Record<number, string>): string {
  const last = Math.max(0, ...Object.keys(values).map(Number));
  const parts: string[] = [];
  for (let i = 1; i <= last; i++) parts.push(values[i] ?? '');
  return parts.join('^');
}

export interface MshOptions {
  sendingApplication?: string;
  sendingFacility?: string;
  type?: string;
  controlId?: string;
  version?: string;
  charset?: string;
  dateTime?: string;
}

export function msh(options: MshOptions = {}): string {
  const fields: Record<number, string> = {
    3: options.sendingApplication ?? 'RIS_ELCO',
    4: options.sendingFacility ?? 'ASLTO3',
    5: 'FSEBRIDGE',
    6: 'ASLTO3',
    7: options.dateTime ?? '20250114093005',
    9: options.type ?? 'MDM^T02^MDM_T02',
    10: options.controlId ?? 'RIS000123456',
    11: 'P',
    12: options.version ?? '2.5',
    15: 'AL',
    16: 'NE',
    17: 'ITA',
  };
  if (options.charset !== undefined) fields[18] = options.charset;
  // Fields 1 and 2 are the separators themselves.
  return `MSH|^~\\&|${segment('MSH', fields).split('|').slice(3).join('|')}`;
}

export const CODICE_FISCALE = 'RSSMRA80A01H501U';
export const RIS_ID = '12345';
export const PACS_PATIENT_ID = 'PAT0099887';
export const PATIENT_NAME = 'ROSSI^MARIO';

/** PID-3: RIS id, codice fiscale (national OID and NNITA), the PACS's patient id. */
export const PID3 = [
  `${RIS_ID}^^^RIS`,
  `${CODICE_FISCALE}^^^&2.16.840.1.113883.2.9.4.3.2&ISO^NNITA`,
  `${PACS_PATIENT_ID}^^^PACS_ASLTO3^PI`,
].join('~');

export function pid(pid3 = PID3, name = PATIENT_NAME): string {
  return segment('PID', {
    1: '1',
    3: pid3,
    5: name,
    7: '19800101',
    8: 'M',
    11: 'VIA ROMA 1^^PINEROLO^TO^10064^ITA',
  });
}

export const STRUCTURE_CODE = '010301';

export function pv1(structure = STRUCTURE_CODE): string {
  return segment('PV1', {
    1: '1',
    2: 'O',
    3: components({ 1: 'RAD', 4: structure, 9: 'RADIOLOGIA PINEROLO' }),
    8: 'DOC123^BIANCHI^LUCA',
  });
}

export const DOCUMENT_ID = 'RAD-2025-000123';
export const SIGNED_AT = '20250114093000+0100';

export function txa(
  options: { documentId?: string; parent?: string; signedAt?: string } = {},
): string {
  return segment('TXA', {
    1: '1',
    2: 'RAD',
    3: 'TX',
    4: '20250114091500',
    6: '20250114093000',
    12: `${options.documentId ?? DOCUMENT_ID}^RIS_ELCO`,
    13: options.parent === undefined ? '' : `${options.parent}^RIS_ELCO`,
    17: 'AU',
    22: components({ 1: 'DOC123', 2: 'BIANCHI', 3: 'LUCA', 15: options.signedAt ?? SIGNED_AT }),
  });
}

export const ACCESSION = 'A2025000123';

export function obxRp(accession = ACCESSION, setId = '1'): string {
  return segment('OBX', { 1: setId, 2: 'RP', 3: 'ACCNUM^Numero accesso', 5: accession, 11: 'F' });
}

export function obxText(
  text = 'Esame TC del torace senza mdc: nulla da segnalare.',
  setId = '2',
): string {
  return segment('OBX', { 1: setId, 2: 'TX', 3: 'REFERTO^Referto', 5: text, 11: 'F' });
}

export interface ReportOptions extends MshOptions {
  trigger?: 'T02' | 'T10' | 'T11' | string;
  segments?: string[];
}

/** An MDM report message (T02 by default), segments separated by CR. */
export function mdm(options: ReportOptions = {}): string {
  const trigger = options.trigger ?? 'T02';
  const structure = trigger === 'T02' || trigger === 'T10' ? 'MDM_T02' : 'MDM_T01';
  const segments = options.segments ?? [
    segment('EVN', { 1: trigger, 2: '20250114093005' }),
    pid(),
    pv1(),
    txa(),
    obxRp(),
    obxText(),
  ];
  return [msh({ type: `MDM^${trigger}^${structure}`, ...options }), ...segments].join('\r') + '\r';
}

export function obr(status = 'F', fillerOrder = 'RIS-ORD-778899'): string {
  return segment('OBR', {
    1: '1',
    2: 'CUP-998877^CUP',
    3: `${fillerOrder}^RIS_ELCO`,
    4: 'TCTOR^TC torace^LOCAL',
    7: '20250114081000',
    22: '20250114093000',
    25: status,
  });
}

/** An ORU^R01 carrying the same report fields. */
export function oru(options: ReportOptions & { status?: string } = {}): string {
  const segments = options.segments ?? [pid(), pv1(), obr(options.status), obxRp(), obxText()];
  return [msh({ type: 'ORU^R01^ORU_R01', ...options }), ...segments].join('\r') + '\r';
}

/** The facility setting that reads the messages above. */
export const FACILITY = {
  sendingFacility: 'ASLTO3',
  patientIdAuthority: 'PACS_ASLTO3',
  patientIdIssuer: 'ASLTO3_PACS',
  accessionIssuer: 'ASLTO3_RIS',
  codCL: '010203',
};
