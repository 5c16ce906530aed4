/**
 * The FSE notification messages (designed here: no public specification exists; see
 * docs/fse-notification.md). `imagesAvailableEntry` / `reportCancelledEntry` validate what the
 * bridge knows and turn it into an outbox entry (kind, report key, idempotency key, JSON body),
 * so that a bad message is refused to its caller at once instead of being dead-lettered later.
 * The field checks are in `fse-validation.ts`; sending is `fse-notifier.ts`.
 */
import {
  FseMessageError,
  checkAccession,
  checkAeTitle,
  checkCodCL,
  checkCodiceFiscale,
  checkDocumentId,
  checkText,
  checkUid,
  count,
  list,
  optional,
  record,
  timestamp,
  unique,
} from './fse-validation.js';
import type { OutboxEntry, OutboxKind } from './outbox-entry.js';

export { FseMessageError };

/** Version of the message bodies below; bumped when a field changes meaning or is removed. */
export const MESSAGE_VERSION = 1;

/** Upper bounds of the arrays of a message: a report covers a handful of studies. */
export const MAX_ACCESSION_NUMBERS = 100;
export const MAX_STUDIES = 100;

/**
 * What only the HL7 message to the regional image gateway needs, kept in the outbox payload
 * under `hl7` and left out of the HTTP body (see `httpBody`).
 */
export interface GatewayContext {
  /** 1 for a report as first registered, more once replaced (MDM^T10 instead of T02). */
  reportVersion?: number;
  /** The sending facility (MSH-4) the report came from over HL7: whose settings apply. */
  facility?: string;
  /** The patient's id at the RIS, when the RIS sent one. */
  risId?: string;
  /** The patient (a cancellation's body names none). */
  patientId?: string;
  issuerOfPatientId?: string;
}

/** One accession number of the report and when the PACS notified its images. */
export interface AccessionInput {
  accessionNumber: string;
  /** Issuer of the accession number; omitted (or '') when unknown. */
  issuer?: string;
  /** When the images of this accession were notified as available (ISO 8601 with offset). */
  dataNotificaPacs: Date | string;
}

export interface StudyCounts {
  studyInstanceUid: string;
  numberOfSeries: number;
  numberOfInstances: number;
}

/** The KOS manifest (IHE XDS-I.b) that links the images to the report. */
export interface ManifestReference {
  sopInstanceUid: string;
  /** The study the manifest belongs to: one of the message's studies. */
  studyInstanceUid: string;
  /** AE title the images (and the manifest) are retrieved from: the bridge's. */
  retrieveAeTitle: string;
  retrieveLocationUid?: string;
}

/**
 * "Images are available for this report." Optional text fields may also be '' for "unknown".
 * List only the accessions whose images are available (each has its dataNotificaPacs).
 */
export interface ImagesAvailableInput {
  codCL: string;
  codDocumentoDipartimentale: string;
  idDocumentoIlec?: string;
  /** The patient's codice fiscale, when known. */
  codiceFiscale?: string;
  patientId: string;
  /** Issuer of the patient id; omitted when unknown (e.g. a PACS without IssuerOfPatientID). */
  issuerOfPatientId?: string;
  accessionNumbers: AccessionInput[];
  studies: StudyCounts[];
  manifest: ManifestReference;
  hl7?: GatewayContext;
}

/** "This report was cancelled (MDM^T11): its images are no longer linked to it." */
export interface ReportCancelledInput {
  codCL: string;
  codDocumentoDipartimentale: string;
  idDocumentoIlec?: string;
  /** When the report was cancelled (ISO 8601 with offset). */
  cancelledAt: Date | string;
  /**
   * Identifies the cancellation: the version of the report cancelled, or the HL7 message
   * control id (MSH-10). The same event enqueued twice is one notification. 1-199 printable
   * ASCII characters without `:`.
   */
  eventId: string;
  accessionNumbers?: Array<{ accessionNumber: string; issuer?: string }>;
  /** The studies that were linked to the report and no longer are. */
  studyInstanceUids?: string[];
  /** The manifest withdrawn with the link. */
  manifestSopInstanceUid?: string;
  hl7?: GatewayContext;
}

/**
 * The report's id in the outbox: codCL and codDocumentoDipartimentale joined by `^` (the
 * separator of regional document ids; codCL cannot contain it).
 */
export function reportKeyOf(codCL: string, codDocumentoDipartimentale: string): string {
  checkCodCL('codCL', codCL);
  checkDocumentId('codDocumentoDipartimentale', codDocumentoDipartimentale, 128);
  return `${codCL}^${codDocumentoDipartimentale}`;
}

const IMAGES_AVAILABLE_FIELDS = [
  'codCL',
  'codDocumentoDipartimentale',
  'idDocumentoIlec',
  'codiceFiscale',
  'patientId',
  'issuerOfPatientId',
  'accessionNumbers',
  'studies',
  'manifest',
  'hl7',
];

/**
 * The outbox entry telling the FSE side that images are available for a report. Its
 * idempotency key is `images-available:<report key>:<manifest SOP Instance UID>`: a manifest
 * re-issued (new UID) after more images arrived is a new notification; the same one enqueued
 * again is not.
 *
 * @throws FseMessageError naming the first field that is missing, unknown or invalid.
 */
export function imagesAvailableEntry(input: ImagesAvailableInput): OutboxEntry {
  const source = record('message', input, IMAGES_AVAILABLE_FIELDS);
  const reportKey = reportKeyOf(
    source.codCL as string,
    source.codDocumentoDipartimentale as string,
  );
  const manifest = record('manifest', source.manifest, [
    'sopInstanceUid',
    'studyInstanceUid',
    'retrieveAeTitle',
    'retrieveLocationUid',
  ]);
  const manifestUid = checkUid('manifest.sopInstanceUid', manifest.sopInstanceUid);
  const idempotencyKey = `images-available:${reportKey}:${manifestUid}`;
  const body = {
    version: MESSAGE_VERSION,
    notificationId: idempotencyKey,
    codCL: source.codCL,
    codDocumentoDipartimentale: source.codDocumentoDipartimentale,
    ...optional('idDocumentoIlec', source.idDocumentoIlec, (f, v) => checkDocumentId(f, v, 256)),
    ...optional('codiceFiscale', source.codiceFiscale, checkCodiceFiscale),
    patientId: checkText('patientId', source.patientId, 64),
    ...optional('issuerOfPatientId', source.issuerOfPatientId, (f, v) => checkText(f, v, 64)),
    accessionNumbers: list('accessionNumbers', source.accessionNumbers, MAX_ACCESSION_NUMBERS).map(
      (value, i) => {
        const field = `accessionNumbers[${i}]`;
        const a = record(field, value, ['accessionNumber', 'issuer', 'dataNotificaPacs']);
        return {
          accessionNumber: checkAccession(`${field}.accessionNumber`, a.accessionNumber),
          ...optional('issuer', a.issuer, (f, v) => checkText(f, v, 64), `${field}.issuer`),
          dataNotificaPacs: timestamp(`${field}.dataNotificaPacs`, a.dataNotificaPacs),
        };
      },
    ),
    studies: list('studies', source.studies, MAX_STUDIES).map((value, i) => {
      const field = `studies[${i}]`;
      const s = record(field, value, ['studyInstanceUid', 'numberOfSeries', 'numberOfInstances']);
      return {
        studyInstanceUid: checkUid(`${field}.studyInstanceUid`, s.studyInstanceUid),
        numberOfSeries: count(`${field}.numberOfSeries`, s.numberOfSeries),
        numberOfInstances: count(`${field}.numberOfInstances`, s.numberOfInstances),
      };
    }),
    manifest: {
      sopInstanceUid: manifestUid,
      studyInstanceUid: checkUid('manifest.studyInstanceUid', manifest.studyInstanceUid),
      retrieveAeTitle: checkAeTitle('manifest.retrieveAeTitle', manifest.retrieveAeTitle),
      ...optional(
        'retrieveLocationUid',
        manifest.retrieveLocationUid,
        checkUid,
        'manifest.retrieveLocationUid',
      ),
    },
  };
  unique(
    'studies',
    body.studies.map((s) => s.studyInstanceUid),
  );
  if (!body.studies.some((s) => s.studyInstanceUid === body.manifest.studyInstanceUid)) {
    throw new FseMessageError('manifest.studyInstanceUid', 'must be one of the studies');
  }
  return {
    kind: 'images-available',
    reportKey,
    idempotencyKey,
    payload: JSON.stringify(withContext(body, source.hl7)),
  };
}

const REPORT_CANCELLED_FIELDS = [
  'codCL',
  'codDocumentoDipartimentale',
  'idDocumentoIlec',
  'cancelledAt',
  'eventId',
  'accessionNumbers',
  'studyInstanceUids',
  'manifestSopInstanceUid',
  'hl7',
];

/**
 * The outbox entry telling the FSE side that a report was cancelled and its images unlinked.
 * Idempotency key: `report-cancelled:<report key>:<eventId>`.
 *
 * @throws FseMessageError naming the first field that is missing, unknown or invalid.
 */
export function reportCancelledEntry(input: ReportCancelledInput): OutboxEntry {
  const source = record('message', input, REPORT_CANCELLED_FIELDS);
  const reportKey = reportKeyOf(
    source.codCL as string,
    source.codDocumentoDipartimentale as string,
  );
  const eventId = source.eventId;
  if (typeof eventId !== 'string' || !/^[\x21-\x39\x3B-\x7E]{1,199}$/.test(eventId)) {
    throw new FseMessageError('eventId', 'must be 1-199 printable ASCII characters without ":"');
  }
  const idempotencyKey = `report-cancelled:${reportKey}:${eventId}`;
  const body = {
    version: MESSAGE_VERSION,
    notificationId: idempotencyKey,
    codCL: source.codCL,
    codDocumentoDipartimentale: source.codDocumentoDipartimentale,
    ...optional('idDocumentoIlec', source.idDocumentoIlec, (f, v) => checkDocumentId(f, v, 256)),
    cancelledAt: timestamp('cancelledAt', source.cancelledAt),
    ...(source.accessionNumbers === undefined
      ? {}
      : {
          accessionNumbers: list(
            'accessionNumbers',
            source.accessionNumbers,
            MAX_ACCESSION_NUMBERS,
          ).map((value, i) => {
            const field = `accessionNumbers[${i}]`;
            const a = record(field, value, ['accessionNumber', 'issuer']);
            return {
              accessionNumber: checkAccession(`${field}.accessionNumber`, a.accessionNumber),
              ...optional('issuer', a.issuer, (f, v) => checkText(f, v, 64), `${field}.issuer`),
            };
          }),
        }),
    ...(source.studyInstanceUids === undefined
      ? {}
      : {
          studyInstanceUids: unique(
            'studyInstanceUids',
            list('studyInstanceUids', source.studyInstanceUids, MAX_STUDIES).map((uid, i) =>
              checkUid(`studyInstanceUids[${i}]`, uid),
            ),
          ),
        }),
    ...optional('manifestSopInstanceUid', source.manifestSopInstanceUid, checkUid),
  };
  return {
    kind: 'report-cancelled',
    reportKey,
    idempotencyKey,
    payload: JSON.stringify(withContext(body, source.hl7)),
  };
}

/** `body` with the checked HL7 context under `hl7`, when one is given. */
function withContext(body: object, value: unknown): object {
  if (value === undefined) return body;
  const hl7 = record('hl7', value, [
    'reportVersion',
    'facility',
    'risId',
    'patientId',
    'issuerOfPatientId',
  ]);
  const text = (key: string, max: number) =>
    optional(key, hl7[key], (f, v) => checkText(f, v, max), `hl7.${key}`);
  return {
    ...body,
    hl7: {
      ...(hl7.reportVersion === undefined
        ? {}
        : { reportVersion: count('hl7.reportVersion', hl7.reportVersion) }),
      ...text('facility', 180),
      ...text('risId', 64),
      ...text('patientId', 64),
      ...text('issuerOfPatientId', 64),
    },
  };
}

/**
 * The JSON body of a stored payload as the HTTP transport sends it: without `hl7`, which only
 * the HL7 transport reads. The same payload always gives the same bytes.
 */
export function httpBody(payload: string): string {
  const value = JSON.parse(payload) as Record<string, unknown>;
  if (!('hl7' in value)) return payload;
  delete value.hl7;
  return JSON.stringify(value);
}

/** A notification as the report linker hands it over: kind, keys and the message's fields. */
export interface Notification {
  kind: OutboxKind;
  reportKey: string;
  idempotencyKey: string;
  payload: Record<string, unknown>;
}

/**
 * Builds the outbox entry of a notification whose fields come from elsewhere (the report
 * linker): the payload goes through the builder of its kind, and the keys given must be the
 * ones the builder derives (for a cancellation, the part after `report-cancelled:<report key>:`
 * is the event id).
 *
 * @throws FseMessageError naming the first field that is missing, unknown or invalid, or
 * `idempotencyKey` / `reportKey` when they do not match the message.
 */
export function toOutboxEntry(notification: Notification): OutboxEntry {
  let entry: OutboxEntry;
  if (notification.kind === 'images-available') {
    entry = imagesAvailableEntry(notification.payload as unknown as ImagesAvailableInput);
  } else if (notification.kind === 'report-cancelled') {
    const prefix = `report-cancelled:${notification.reportKey}:`;
    if (!notification.idempotencyKey.startsWith(prefix))
      throw new FseMessageError('idempotencyKey', `must start with ${JSON.stringify(prefix)}`);
    entry = reportCancelledEntry({
      ...(notification.payload as unknown as Omit<ReportCancelledInput, 'eventId'>),
      eventId: notification.idempotencyKey.slice(prefix.length),
    });
  } else {
    throw new FseMessageError('kind', `is unknown: ${JSON.stringify(String(notification.kind))}`);
  }
  if (entry.reportKey !== notification.reportKey)
    throw new FseMessageError('reportKey', `must be ${JSON.stringify(entry.reportKey)}`);
  if (entry.idempotencyKey !== notification.idempotencyKey)
    throw new FseMessageError('idempotencyKey', `must be ${JSON.stringify(entry.idempotencyKey)}`);
  return entry;
}
