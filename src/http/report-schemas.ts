/**
 * The JSON schemas of the reports API (report-routes.ts): a registration's shape is checked
 * before the route runs; its values are then checked as the FSE messages will check them
 * (`parseReportRegistration`), which the descriptions here summarise.
 */
import { MAX_ACCESSION_NUMBERS } from '../fse/fse-messages.js';
import { API_FAILURES, ERROR } from './api-schemas.js';
import { closedObject } from './schemas.js';

const text = (description: string) => ({ type: 'string', description });
/** An optional text: null and '' count as not given. */
const optional = (description: string) => ({ type: ['string', 'null'], description });

export const REGISTRATION = closedObject({
  required: ['codCL', 'codDocumentoDipartimentale', 'patientId', 'accessionNumbers'],
  properties: {
    codCL: text("Code of the ASR's local component: 1-64 printable ASCII characters, no ^"),
    codDocumentoDipartimentale: text(
      'The document id inside the ASR: 1-128 printable ASCII characters, no space at either end',
    ),
    idDocumentoIlec: optional('The regional index id, when known: at most 256 characters'),
    patientId: text('At most 64 characters, no backslash or control characters'),
    issuerOfPatientId: optional('At most 64 characters'),
    codiceFiscale: optional('16 upper-case letters or digits'),
    signedAt: optional('When the report was signed, ISO 8601'),
    accessionNumbers: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_ACCESSION_NUMBERS,
      items: closedObject({
        required: ['accessionNumber'],
        properties: {
          accessionNumber: text('At most 16 characters, no backslash or control characters'),
          issuer: optional('Issuer of the accession number, at most 64 characters'),
        },
      }),
    },
  },
});

export const OBSCURATION_CHANGE = closedObject({
  required: ['eventCode', 'source'],
  properties: {
    eventCode: text(
      'P99 hides the document from professionals, P97 from guardians, P98 from the patient; P00 clears every code',
    ),
    source: text('Who sent the change: 1-64 characters'),
  },
});

export const REPORT_PARAMS = {
  type: 'object',
  required: ['codCL', 'codDocumento'],
  properties: {
    codCL: { type: 'string' },
    codDocumento: { type: 'string', description: 'codDocumentoDipartimentale' },
  },
} as const;

/** A report, its accession numbers with their link state, and its KOS manifest once linked. */
export const REPORT = {
  type: 'object',
  properties: {
    reportKey: { type: 'string' },
    codCL: { type: 'string' },
    codDocumentoDipartimentale: { type: 'string' },
    idDocumentoIlec: { type: 'string' },
    patientId: { type: 'string' },
    issuerOfPatientId: { type: 'string' },
    codiceFiscale: { type: 'string' },
    signedAt: { type: 'string' },
    facility: { type: 'string', description: 'The sending facility over HL7' },
    risId: { type: 'string' },
    status: { type: 'string', enum: ['waiting', 'linked', 'cancelled'] },
    version: { type: 'integer', description: '1, then +1 at each replacement' },
    obscuration: {
      type: 'string',
      description: 'Obscuration codes in force, comma-separated; empty when none',
    },
    source: { type: 'string', enum: ['hl7', 'http'] },
    accessions: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          accessionNumber: { type: 'string' },
          issuer: { type: 'string' },
          status: {
            type: 'string',
            enum: ['waiting', 'complete', 'incomplete', 'not-found', 'pacs-unreachable', 'refused'],
          },
          dataNotificaPacs: { type: 'string' },
          lastError: { type: 'string' },
          studies: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                studyInstanceUid: { type: 'string' },
                instances: { type: 'integer' },
              },
            },
          },
        },
      },
    },
    manifest: {
      type: 'object',
      properties: {
        sopInstanceUid: { type: 'string' },
        studyInstanceUid: { type: 'string' },
        storageKey: { type: 'string' },
        instances: { type: 'integer' },
        createdAt: { type: 'string' },
      },
    },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

/** The answers of a route naming a report. */
export const REPORT_FAILURES = {
  ...API_FAILURES,
  400: {
    ...ERROR,
    description: 'Invalid input (a codCL holding ^ names no report); `field` names it',
  },
  404: { ...ERROR, description: 'No such report' },
} as const;
