import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Hl7Error } from '../../../src/hl7/errors.js';
import type { ReportEvent } from '../../../src/hl7/report-message.js';
import { FseMessageError, reportKeyOf } from '../../../src/fse/fse-messages.js';
import { reportEventSink } from '../../../src/fse/hl7-reports.js';
import {
  MAX_DOCUMENT_ID,
  ReportValidationError,
  checkRegistration,
  parseReportRegistration,
  reportKey,
} from '../../../src/fse/report.js';
import type { ReportLinker } from '../../../src/fse/report-linker.js';
import type { ReportStore } from '../../../src/fse/report-store.js';

function body(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    codCL: 'ASL1',
    codDocumentoDipartimentale: 'DOC-1',
    patientId: 'PAT-1',
    accessionNumbers: [{ accessionNumber: 'ACC-1' }],
    ...overrides,
  };
}

function refusal(value: unknown): ReportValidationError {
  try {
    parseReportRegistration(value);
  } catch (error) {
    if (error instanceof ReportValidationError) return error;
    throw error;
  }
  throw new Error('the registration was accepted');
}

/** An array nested `depth` levels deep, built without recursion. */
function nested(depth: number): unknown {
  let value: unknown = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

describe('parseReportRegistration refuses what the FSE messages would refuse', () => {
  it.each([
    ['codCL with "^"', { codCL: 'ASL^1' }, 'codCL'],
    ['codCL with a space', { codCL: 'ASL 1' }, 'codCL'],
    ['codCL not ASCII', { codCL: 'ASLè' }, 'codCL'],
    ['codCL of 65 characters', { codCL: 'C'.repeat(65) }, 'codCL'],
    [
      'a document id longer than the messages allow',
      { codDocumentoDipartimentale: 'D'.repeat(MAX_DOCUMENT_ID + 1) },
      'codDocumentoDipartimentale',
    ],
    [
      'a document id ending with a space',
      { codDocumentoDipartimentale: 'DOC-9 ' },
      'codDocumentoDipartimentale',
    ],
    [
      'a document id starting with a space',
      { codDocumentoDipartimentale: ' DOC-9' },
      'codDocumentoDipartimentale',
    ],
    [
      'a document id not ASCII',
      { codDocumentoDipartimentale: 'DOC-è' },
      'codDocumentoDipartimentale',
    ],
    ['a blank patient id', { patientId: '   ' }, 'patientId'],
    ['a patient id with DEL', { patientId: 'PAT\x7f' }, 'patientId'],
    ['a patient id with a backslash', { patientId: 'PAT\\1' }, 'patientId'],
    ['a blank issuer of patient id', { issuerOfPatientId: '  ' }, 'issuerOfPatientId'],
    ['idDocumentoIlec not ASCII', { idDocumentoIlec: 'ILEC-è' }, 'idDocumentoIlec'],
    ['idDocumentoIlec of 257 characters', { idDocumentoIlec: 'I'.repeat(257) }, 'idDocumentoIlec'],
    ['a lower-case codice fiscale', { codiceFiscale: 'rssmra80a01h501u' }, 'codiceFiscale'],
    [
      'a blank accession number',
      { accessionNumbers: [{ accessionNumber: '  ' }] },
      'accessionNumbers[0].accessionNumber',
    ],
    [
      'an accession issuer with DEL',
      { accessionNumbers: [{ accessionNumber: 'A', issuer: 'RIS\x7f' }] },
      'accessionNumbers[0].issuer',
    ],
  ])('%s', (_label, overrides, field) => {
    expect(refusal(body(overrides)).field).toBe(field);
  });

  it('accepts values at the limits of the messages', () => {
    const registration = parseReportRegistration(
      body({
        codCL: '!~_ASL-1',
        codDocumentoDipartimentale: `D^/ ${'x'.repeat(MAX_DOCUMENT_ID - 5)}Z`,
        idDocumentoIlec: `2.16.840.1^${'I'.repeat(245)}`,
        patientId: 'P'.repeat(64),
        issuerOfPatientId: 'ASR-TO',
        codiceFiscale: 'RSSMRA80A01H501U',
      }),
    );
    expect(registration.codDocumentoDipartimentale).toHaveLength(MAX_DOCUMENT_ID);
    expect(registration.idDocumentoIlec).toHaveLength(256);
    // The outbox accepts the key of every report accepted here.
    expect(reportKeyOf(registration.codCL, registration.codDocumentoDipartimentale)).toBe(
      reportKey(registration),
    );
  });
});

describe('parseReportRegistration on values of the wrong type', () => {
  it('names the JSON type of a deeply nested value, without serialising it', () => {
    for (const overrides of [
      { codCL: nested(200_000) },
      { codiceFiscale: nested(200_000) },
      { patientId: { a: nested(200_000) } },
      { accessionNumbers: [{ accessionNumber: nested(200_000) }] },
    ]) {
      const error = refusal(body(overrides));
      expect(error.message).toMatch(/must be a string, not an (array|object)$/);
    }
  });

  it('never echoes a large value', () => {
    const error = refusal(body({ codiceFiscale: Array.from({ length: 200_000 }, () => 1) }));
    expect(error.message).toBe('codiceFiscale must be a string, not an array');
  });

  it('cuts an unknown field name short', () => {
    const error = refusal(body({ ['x'.repeat(10_000)]: 1 }));
    expect(error.field).toHaveLength(80);
  });
});

describe('reportKey', () => {
  it('cannot give two reports the same key', () => {
    const one = { codCL: 'ASL2', codDocumentoDipartimentale: 'REP^7' };
    const other = { codCL: 'ASL2^REP', codDocumentoDipartimentale: '7' };
    expect(reportKey(one)).toBe('ASL2^REP^7');
    expect(() => reportKey(other)).toThrow(ReportValidationError);
    expect(() => reportKey(other)).toThrow('codCL must not contain "^"');
  });

  it('is the key the outbox uses', () => {
    const report = { codCL: 'ASL2', codDocumentoDipartimentale: 'REP^7' };
    expect(reportKey(report)).toBe(reportKeyOf(report.codCL, report.codDocumentoDipartimentale));
  });
});

describe('reportEventSink (HL7) checks a registration as the API does', () => {
  function sink(accepted: unknown[], cancel: (key: string) => unknown = () => undefined) {
    const linker = {
      accept: (registration: unknown) => {
        accepted.push(registration);
        return { state: { reportKey: 'x' }, linked: Promise.resolve() };
      },
      cancel,
    } as unknown as ReportLinker;
    const reports = {
      seenMessage: () => undefined,
      recordMessage: () => undefined,
      get: () => ({ status: 'linked' }),
    } as unknown as ReportStore;
    return reportEventSink({ linker, reports, log: pino({ level: 'silent' }) });
  }

  const event = (overrides: Partial<ReportEvent>): ReportEvent =>
    ({
      kind: 'signed',
      messageType: 'MDM^T02',
      messageControlId: 'MSG-1',
      sendingApplication: 'RIS',
      sendingFacility: 'ASR',
      processingId: 'P',
      accessionNumbers: ['ACC-1'],
      accessionIssuer: '',
      patientId: 'PAT-1',
      patientIdIssuer: '',
      risId: undefined,
      codiceFiscale: undefined,
      structureCode: undefined,
      codDocumentoDipartimentale: 'DOC-1',
      replacedDocumentId: undefined,
      codCL: 'ASL1',
      signedAt: undefined,
      signedAtSource: undefined,
      warnings: [],
      ...overrides,
    }) as ReportEvent;

  it('answers AE to a document id the FSE messages cannot carry, and records nothing', async () => {
    const accepted: unknown[] = [];
    const run = sink(accepted)(
      event({ codDocumentoDipartimentale: 'D'.repeat(MAX_DOCUMENT_ID + 1) }),
      {} as never,
    );
    await expect(run).rejects.toBeInstanceOf(Hl7Error);
    await expect(run).rejects.toMatchObject({ ack: 'AE' });
    expect(accepted).toEqual([]);
  });

  it('answers AR to a codCL configured with "^" (the sender cannot fix it)', async () => {
    const accepted: unknown[] = [];
    const run = sink(accepted)(event({ codCL: 'ASL^1' }), {} as never);
    await expect(run).rejects.toMatchObject({ ack: 'AR' });
    expect(accepted).toEqual([]);
  });

  it('accepts a valid event', async () => {
    const accepted: unknown[] = [];
    await sink(accepted)(event({}), {} as never);
    expect(accepted).toHaveLength(1);
    expect(() => checkRegistration(accepted[0] as never)).not.toThrow();
  });

  it('answers AE to a cancellation that cannot be notified (a retry would fail the same way)', async () => {
    const cancel = (): never => {
      throw new FseMessageError('codCL', 'must be 1-64 printable ASCII characters without "^"');
    };
    const run = sink([], cancel)(event({ kind: 'cancelled', accessionNumbers: [] }), {} as never);
    await expect(run).rejects.toMatchObject({ ack: 'AE' });
  });
});
