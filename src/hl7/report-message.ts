import { Hl7Error, Hl7ErrorCode, type Hl7ErrorCodeValue, type Hl7Location } from './errors.js';
import {
  DEFAULT_DOCUMENT_ID_WITHOUT_TXA,
  type DocumentIdWithoutTxa,
  type FacilitySetting,
} from './facilities.js';
import type { Hl7Message, Hl7Repetition, Hl7Segment } from './message.js';
import { MAX_ACCESSION_NUMBERS } from '../fse/fse-messages.js';

/** The national OID of the codice fiscale (FSE 2.0). */
export const CODICE_FISCALE_OID = '2.16.840.1.113883.2.9.4.3.2';
/** Identifier type code (table 0203: NN + ISO 3166 country) of an Italian national id. */
export const CODICE_FISCALE_TYPE = 'NNITA';
/** Assigning authority of the RIS identifier in PID-3. */
export const RIS_AUTHORITY = 'RIS';

export type ReportEventKind = 'signed' | 'replaced' | 'cancelled';

/** A radiology report event, read from MDM^T02/T10/T11 or ORU^R01. */
export interface ReportEvent {
  kind: ReportEventKind;
  /** `MDM^T02`, `ORU^R01`… */
  messageType: string;
  /** MSH-10; with the sending application and facility, the key for idempotency. */
  messageControlId: string;
  sendingApplication: string;
  sendingFacility: string;
  /** MSH-11: P (production), T (training), D (debugging). */
  processingId: string;
  /** OBX-5.1 of every OBX with OBX-2 = RP, in order, without repeats (may be empty when cancelled). */
  accessionNumbers: string[];
  /** From the facility's configuration. */
  accessionIssuer: string;
  /** The PID-3 repetition the facility's configuration names: the DICOM PatientID. */
  patientId: string;
  patientIdIssuer: string;
  /** PID-3 repetition with assigning authority RIS. */
  risId: string | undefined;
  /** PID-3 repetition with the national OID or type NNITA, when 16 letters and digits. */
  codiceFiscale: string | undefined;
  /** PV1-3.4: the ASR structure code. */
  structureCode: string | undefined;
  /**
   * The report's id inside the ASR: TXA-12.1 (MDM) or OBR-3.1, filler order number (ORU); for
   * an MDM without TXA, where the facility's `documentIdWithoutTxa` says.
   */
  codDocumentoDipartimentale: string;
  /** For `replaced`: the document replaced, TXA-13.1 (MDM), else the same document id. */
  replacedDocumentId: string | undefined;
  codCL: string | undefined;
  /** When the report was signed (HL7 DTM as received), and the field it came from. */
  signedAt: string | undefined;
  signedAtSource: 'TXA-22.15' | 'OBR-22' | 'MSH-7' | undefined;
  /** Problems that did not stop the event (no values, so they can be logged). */
  warnings: string[];
}

// Maps, not object literals: a trigger such as "constructor" must not find Object's members.
const MDM_KINDS = new Map<string, ReportEventKind>([
  ['T02', 'signed'],
  ['T10', 'replaced'],
  ['T11', 'cancelled'],
]);
/** OBR-25 result status (table 0123) of an ORU^R01, and what it means here. */
const ORU_KINDS = new Map<string, ReportEventKind>([
  ['', 'signed'],
  ['F', 'signed'],
  ['C', 'replaced'],
  ['X', 'cancelled'],
]);
const DTM = /^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,4})?)?)?)?)?)?([+-]\d{4})?$/;
// eslint-disable-next-line no-control-regex
const NOT_DICOM_TEXT = /[\u0000-\u001f\\]/;

function contentError(
  reason: string,
  location: Hl7Location,
  code: Hl7ErrorCodeValue = Hl7ErrorCode.RequiredFieldMissing,
): Hl7Error {
  return new Hl7Error(reason, { ack: 'AE', code, location });
}

function authorityIs(repetition: Hl7Repetition, authority: string): boolean {
  return repetition.component(4, 1) === authority || repetition.component(4, 2) === authority;
}

function requireSegment(message: Hl7Message, name: string): Hl7Segment {
  const segment = message.segment(name);
  if (!segment)
    throw contentError(
      `${name} segment is missing`,
      { segment: name },
      Hl7ErrorCode.SegmentSequenceError,
    );
  return segment;
}

function patientIdOf(pid: Hl7Segment, facility: FacilitySetting): string {
  const location = { segment: 'PID', field: 3 };
  const values = new Set(
    pid
      .field(3)
      .repetitions()
      .filter(
        (r) =>
          authorityIs(r, facility.patientIdAuthority) &&
          (facility.patientIdTypeCode === undefined ||
            r.component(5) === facility.patientIdTypeCode),
      )
      .map((r) => r.component(1).trim())
      .filter((id) => id !== ''),
  );
  const wanted = `assigning authority ${JSON.stringify(facility.patientIdAuthority)}${
    facility.patientIdTypeCode === undefined
      ? ''
      : ` and type ${JSON.stringify(facility.patientIdTypeCode)}`
  }`;
  if (values.size === 0) throw contentError(`PID-3 has no patient id with ${wanted}`, location);
  if (values.size > 1)
    throw contentError(
      `PID-3 has ${values.size} different patient ids with ${wanted}`,
      location,
      Hl7ErrorCode.DataTypeError,
    );
  const id = [...values][0]!;
  if (id.length > 64 || NOT_DICOM_TEXT.test(id))
    throw contentError(
      'patient id is not a valid DICOM PatientID (at most 64 characters, no backslash)',
      location,
      Hl7ErrorCode.DataTypeError,
    );
  return id;
}

function codiceFiscaleOf(pid: Hl7Segment, warnings: string[]): string | undefined {
  const found = pid
    .field(3)
    .repetitions()
    .find((r) => authorityIs(r, CODICE_FISCALE_OID) || r.component(5) === CODICE_FISCALE_TYPE);
  if (!found) return undefined;
  const value = found.component(1).trim().toUpperCase();
  if (/^[A-Z0-9]{16}$/.test(value)) return value;
  warnings.push('PID-3 codice fiscale is not 16 letters and digits: ignored');
  return undefined;
}

function accessionNumbersOf(message: Hl7Message): string[] {
  const numbers = new Set<string>();
  message.segmentsNamed('OBX').forEach((obx, i) => {
    if (obx.field(2).value !== 'RP') return;
    const location = { segment: 'OBX', sequence: i + 1, field: 5, component: 1 };
    const repetitions = obx.field(5).repetitions();
    if (repetitions.length === 0)
      throw contentError('OBX with OBX-2 = RP has no accession number', location);
    for (const repetition of repetitions) {
      const accession = repetition.component(1).trim();
      if (accession === '')
        throw contentError('OBX with OBX-2 = RP has no accession number', location);
      if (accession.length > 16 || NOT_DICOM_TEXT.test(accession))
        throw contentError(
          'accession number is not a valid DICOM AccessionNumber (at most 16 characters, no backslash)',
          location,
          Hl7ErrorCode.DataTypeError,
        );
      numbers.add(accession);
      if (numbers.size > MAX_ACCESSION_NUMBERS)
        throw contentError(
          `more than ${MAX_ACCESSION_NUMBERS} accession numbers`,
          location,
          Hl7ErrorCode.DataTypeError,
        );
    }
  });
  return [...numbers];
}

function signingTime(
  candidates: [ReportEvent['signedAtSource'], string][],
  warnings: string[],
): Pick<ReportEvent, 'signedAt' | 'signedAtSource'> {
  for (const [source, value] of candidates) {
    if (value === '') continue;
    if (DTM.test(value)) return { signedAt: value, signedAtSource: source };
    warnings.push(`${source} is not an HL7 date/time: ignored`);
  }
  return { signedAt: undefined, signedAtSource: undefined };
}

/**
 * The document id of an MDM message without TXA, from where the facility's configuration says
 * (see `DocumentIdWithoutTxa`); answered AE when that is empty, or when the facility refuses
 * such messages.
 */
function documentIdWithoutTxa(
  message: Hl7Message,
  source: DocumentIdWithoutTxa,
  accessionNumbers: string[],
): string {
  if (source === 'refuse')
    throw contentError(
      'TXA segment is missing',
      { segment: 'TXA' },
      Hl7ErrorCode.SegmentSequenceError,
    );
  let id: string;
  let location: Hl7Location = { segment: 'MSH', field: 10 };
  if (source === 'accession') {
    id = accessionNumbers[0] ?? '';
    location = { segment: 'OBX', field: 2 };
  } else if (source === 'MSH-10') {
    id = message.header.controlId;
  } else if (source === 'OBR-3') {
    id = message.field('OBR', 3).value.trim();
    location = { segment: 'OBR', field: 3 };
  } else {
    const code = source.slice('OBX:'.length);
    const obx = message.segmentsNamed('OBX').find((s) => s.field(3).component(1) === code);
    id = obx?.field(5).value.trim() ?? '';
    location = { segment: 'OBX', field: 5 };
  }
  if (id === '')
    throw contentError(
      `TXA segment is missing and the document id it is configured to take instead (${source}) is empty`,
      location,
    );
  return id;
}

/**
 * Read a report event from a parsed message, for the facility its MSH-4 names.
 *
 * Answered AR (the message cannot be processed at all): a message type other than MDM or ORU
 * (200), an MDM trigger other than T02/T10/T11 or an ORU trigger other than R01 (201), an
 * MSH-4 not in `facilities` (204).
 * Answered AE (its content is wrong): PID, PV1, OBR (ORU) or TXA (MDM, when the facility's
 * `documentIdWithoutTxa` is `refuse`) missing (100); no patient id with the facility's
 * assigning authority, no document id (TXA-12, OBR-3, or where `documentIdWithoutTxa` says), no
 * OBX with OBX-2 = RP when signed or replaced, an RP OBX without a value (101); two different
 * patient ids for the authority, a patient id or accession number DICOM cannot hold (102); an
 * ORU whose OBR-25 is not F, C or X (103).
 */
export function extractReportEvent(
  message: Hl7Message,
  facilities: ReadonlyMap<string, FacilitySetting>,
): ReportEvent {
  const { header } = message;
  const messageType = `${header.messageType}^${header.triggerEvent}`;
  const isMdm = header.messageType === 'MDM';
  if (!isMdm && header.messageType !== 'ORU')
    throw new Hl7Error(
      `unsupported message type ${JSON.stringify(messageType)}: expected MDM or ORU`,
      {
        location: { segment: 'MSH', field: 9 },
        code: Hl7ErrorCode.UnsupportedMessageType,
      },
    );
  if (isMdm ? !MDM_KINDS.has(header.triggerEvent) : header.triggerEvent !== 'R01')
    throw new Hl7Error(
      `unsupported trigger event ${JSON.stringify(messageType)}: expected ${isMdm ? 'MDM^T02, MDM^T10 or MDM^T11' : 'ORU^R01'}`,
      {
        location: { segment: 'MSH', field: 9, component: 2 },
        code: Hl7ErrorCode.UnsupportedEventCode,
      },
    );
  const facility = facilities.get(header.sendingFacility);
  if (!facility)
    throw new Hl7Error(`unknown sending facility ${JSON.stringify(header.sendingFacility)}`, {
      location: { segment: 'MSH', field: 4 },
      code: Hl7ErrorCode.UnknownKeyIdentifier,
    });
  const warnings: string[] = [];
  const pid = requireSegment(message, 'PID');
  const pv1 = requireSegment(message, 'PV1');
  let kind: ReportEventKind;
  let documentId: string;
  let replacedDocumentId: string | undefined;
  let signed: Pick<ReportEvent, 'signedAt' | 'signedAtSource'>;
  const accessionNumbers = accessionNumbersOf(message);
  const txa = isMdm ? message.segment('TXA') : undefined;
  if (isMdm && !txa) {
    kind = MDM_KINDS.get(header.triggerEvent)!;
    const source = facility.documentIdWithoutTxa ?? DEFAULT_DOCUMENT_ID_WITHOUT_TXA;
    documentId = documentIdWithoutTxa(message, source, accessionNumbers);
    if (kind === 'replaced') replacedDocumentId = documentId;
    warnings.push(`no TXA segment: document id taken from ${source}`);
    signed = signingTime([['MSH-7', header.dateTime]], warnings);
  } else if (txa) {
    kind = MDM_KINDS.get(header.triggerEvent)!;
    documentId = txa.field(12).value.trim();
    if (documentId === '')
      throw contentError('unique document number is missing', { segment: 'TXA', field: 12 });
    if (kind === 'replaced') replacedDocumentId = txa.field(13).value.trim() || documentId;
    const authenticated = txa
      .field(22)
      .repetitions()
      .map((r) => r.component(15))
      .find((time) => time !== '');
    signed = signingTime(
      [
        ['TXA-22.15', authenticated ?? ''],
        ['MSH-7', header.dateTime],
      ],
      warnings,
    );
  } else {
    const obr = requireSegment(message, 'OBR');
    const status = obr.field(25).value;
    const oruKind = ORU_KINDS.get(status);
    if (oruKind === undefined)
      throw contentError(
        `result status ${JSON.stringify(status)} is not final (F), corrected (C) or cancelled (X)`,
        { segment: 'OBR', field: 25 },
        Hl7ErrorCode.TableValueNotFound,
      );
    kind = oruKind;
    documentId = obr.field(3).value.trim();
    if (documentId === '')
      throw contentError('filler order number is missing', { segment: 'OBR', field: 3 });
    if (kind === 'replaced') replacedDocumentId = documentId;
    signed = signingTime(
      [
        ['OBR-22', obr.field(22).value],
        ['MSH-7', header.dateTime],
      ],
      warnings,
    );
  }
  const patientId = patientIdOf(pid, facility);
  if (accessionNumbers.length === 0 && kind !== 'cancelled')
    throw contentError('no OBX with OBX-2 = RP (accession number)', { segment: 'OBX', field: 2 });
  const risId = pid
    .field(3)
    .repetitions()
    .find((r) => authorityIs(r, RIS_AUTHORITY))
    ?.component(1)
    .trim();
  const structureCode = pv1.field(3).component(4).trim() || undefined;
  if (structureCode === undefined) warnings.push('PV1-3.4 (structure code) is empty');
  return {
    kind,
    messageType,
    messageControlId: header.controlId,
    sendingApplication: header.sendingApplication,
    sendingFacility: header.sendingFacility,
    processingId: header.processingId,
    accessionNumbers,
    accessionIssuer: facility.accessionIssuer,
    patientId,
    patientIdIssuer: facility.patientIdIssuer,
    risId: risId || undefined,
    codiceFiscale: codiceFiscaleOf(pid, warnings),
    structureCode,
    codDocumentoDipartimentale: documentId,
    replacedDocumentId,
    codCL: facility.codCL,
    ...signed,
    warnings,
  };
}

/**
 * An HL7 DTM as ISO 8601: with its offset when it has one, else as local time without an
 * offset (the sender's clock; no zone is guessed). `undefined` when it is not a DTM.
 */
export function hl7TimeToIso(dtm: string): string | undefined {
  const match = DTM.exec(dtm);
  if (!match) return undefined;
  const digits = dtm.replace(/[+-]\d{4}$/, '').replace(/\..*$/, '');
  const fraction = /\.(\d+)/.exec(dtm)?.[1];
  const part = (from: number, to: number, fallback: string): string =>
    digits.slice(from, to) || fallback;
  let iso = `${part(0, 4, '')}-${part(4, 6, '01')}-${part(6, 8, '01')}T${part(8, 10, '00')}:${part(10, 12, '00')}:${part(12, 14, '00')}`;
  if (fraction) iso += `.${fraction}`;
  const offset = /([+-])(\d{2})(\d{2})$/.exec(dtm);
  if (offset) iso += `${offset[1]}${offset[2]}:${offset[3]}`;
  return iso;
}
