import { describe, expect, it } from 'vitest';
import { MAX_ACCESSION_NUMBERS } from '../../../src/fse/fse-messages.js';
import { Hl7Error } from '../../../src/hl7/errors.js';
import { type FacilitySetting, facilitiesByName } from '../../../src/hl7/facilities.js';
import { parseHl7 } from '../../../src/hl7/message.js';
import { extractReportEvent, hl7TimeToIso } from '../../../src/hl7/report-message.js';
import {
  ACCESSION,
  CODICE_FISCALE,
  DOCUMENT_ID,
  FACILITY,
  PACS_PATIENT_ID,
  PID3,
  SIGNED_AT,
  STRUCTURE_CODE,
  mdm,
  obr,
  obxRp,
  obxText,
  oru,
  pid,
  pv1,
  segment,
  txa,
} from '../../helpers/hl7-messages.js';

const FACILITIES = facilitiesByName([FACILITY]);

function extract(text: string, facilities: ReadonlyMap<string, FacilitySetting> = FACILITIES) {
  return extractReportEvent(parseHl7(text), facilities);
}

function refusal(text: string, facilities = FACILITIES): Hl7Error {
  try {
    extract(text, facilities);
  } catch (error) {
    expect(error).toBeInstanceOf(Hl7Error);
    return error as Hl7Error;
  }
  throw new Error('expected an Hl7Error');
}

describe('extractReportEvent', () => {
  it('reads a signed report from MDM^T02', () => {
    expect(extract(mdm())).toEqual({
      kind: 'signed',
      messageType: 'MDM^T02',
      messageControlId: 'RIS000123456',
      sendingApplication: 'RIS_ELCO',
      sendingFacility: 'ASLTO3',
      processingId: 'P',
      accessionNumbers: [ACCESSION],
      accessionIssuer: 'ASLTO3_RIS',
      patientId: PACS_PATIENT_ID,
      patientIdIssuer: 'ASLTO3_PACS',
      risId: '12345',
      codiceFiscale: CODICE_FISCALE,
      structureCode: STRUCTURE_CODE,
      codDocumentoDipartimentale: DOCUMENT_ID,
      replacedDocumentId: undefined,
      codCL: '010203',
      signedAt: SIGNED_AT,
      signedAtSource: 'TXA-22.15',
      warnings: [],
    });
  });

  it('reads a replacement from MDM^T10, naming the parent document (TXA-13)', () => {
    const segments = [
      pid(),
      pv1(),
      txa({ documentId: 'RAD-2025-000124', parent: DOCUMENT_ID }),
      obxRp(),
      obxText(),
    ];
    const event = extract(mdm({ trigger: 'T10', controlId: 'RIS000123457', segments }));
    expect(event).toMatchObject({
      kind: 'replaced',
      messageType: 'MDM^T10',
      codDocumentoDipartimentale: 'RAD-2025-000124',
      replacedDocumentId: DOCUMENT_ID,
      accessionNumbers: [ACCESSION],
    });
  });

  it('takes a T10 without TXA-13 as a replacement of the same document', () => {
    const event = extract(mdm({ trigger: 'T10' }));
    expect(event.replacedDocumentId).toBe(DOCUMENT_ID);
  });

  it('reads a cancellation from MDM^T11, which needs no OBX', () => {
    const event = extract(mdm({ trigger: 'T11', segments: [pid(), pv1(), txa()] }));
    expect(event).toMatchObject({
      kind: 'cancelled',
      messageType: 'MDM^T11',
      accessionNumbers: [],
      codDocumentoDipartimentale: DOCUMENT_ID,
      patientId: PACS_PATIENT_ID,
    });
  });

  it('reads ORU^R01: OBR-3 filler order number as document id, OBR-22 as signing time', () => {
    expect(extract(oru())).toMatchObject({
      kind: 'signed',
      messageType: 'ORU^R01',
      codDocumentoDipartimentale: 'RIS-ORD-778899',
      accessionNumbers: [ACCESSION],
      patientId: PACS_PATIENT_ID,
      codiceFiscale: CODICE_FISCALE,
      structureCode: STRUCTURE_CODE,
      signedAt: '20250114093000',
      signedAtSource: 'OBR-22',
    });
  });

  it.each([
    ['', 'signed'],
    ['F', 'signed'],
    ['C', 'replaced'],
    ['X', 'cancelled'],
  ])('maps ORU result status %j (OBR-25) to %s', (status, kind) => {
    const event = extract(oru({ status }));
    expect(event.kind).toBe(kind);
    if (kind === 'replaced') expect(event.replacedDocumentId).toBe('RIS-ORD-778899');
  });

  it('refuses a preliminary ORU with AE, naming OBR-25', () => {
    const error = refusal(oru({ status: 'P' }));
    expect(error).toMatchObject({ ack: 'AE', code: 103, location: { segment: 'OBR', field: 25 } });
  });

  it('collects every RP accession number, repetitions included, once each', () => {
    const segments = [
      pid(),
      pv1(),
      txa(),
      obxRp('A1'),
      obxText(),
      obxRp('A2~A3', '3'),
      obxRp('A1', '4'),
    ];
    expect(extract(mdm({ segments })).accessionNumbers).toEqual(['A1', 'A2', 'A3']);
  });

  it(`refuses more than ${MAX_ACCESSION_NUMBERS} distinct accession numbers with AE, naming the limit`, () => {
    const accessions = (count: number, from = 0): string =>
      Array.from({ length: count }, (_, i) => `A${from + i}`).join('~');
    const atLimit = [pid(), pv1(), txa(), obxRp(accessions(MAX_ACCESSION_NUMBERS))];
    expect(extract(mdm({ segments: atLimit })).accessionNumbers).toHaveLength(
      MAX_ACCESSION_NUMBERS,
    );
    const reason = `more than ${MAX_ACCESSION_NUMBERS} accession numbers`;
    const over = [pid(), pv1(), txa(), obxRp(accessions(MAX_ACCESSION_NUMBERS + 1))];
    expect(refusal(mdm({ segments: over }))).toMatchObject({
      ack: 'AE',
      code: 102,
      reason,
      location: { segment: 'OBX', sequence: 1, field: 5, component: 1 },
    });
    // Counted over every RP OBX of the message.
    const spread = [
      pid(),
      pv1(),
      txa(),
      obxRp(accessions(60)),
      obxRp(accessions(MAX_ACCESSION_NUMBERS - 59, 60), '2'),
    ];
    expect(refusal(mdm({ segments: spread }))).toMatchObject({
      ack: 'AE',
      code: 102,
      reason,
      location: { segment: 'OBX', sequence: 2, field: 5, component: 1 },
    });
  });

  it('counts an accession number repeated 500 times once', () => {
    const repeated = Array.from({ length: 500 }, () => ACCESSION).join('~');
    const segments = [pid(), pv1(), txa(), obxRp(repeated), obxRp(ACCESSION, '2')];
    expect(extract(mdm({ segments })).accessionNumbers).toEqual([ACCESSION]);
  });

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'refuses MDM^%s with AR 201: an Object member is no trigger event',
    (trigger) => {
      expect(refusal(mdm({ trigger }))).toMatchObject({
        ack: 'AR',
        code: 201,
        reason: `unsupported trigger event "MDM^${trigger}": expected MDM^T02, MDM^T10 or MDM^T11`,
      });
    },
  );

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'refuses ORU result status %j (OBR-25) with AE 103: an Object member is no status',
    (status) => {
      expect(refusal(oru({ status }))).toMatchObject({
        ack: 'AE',
        code: 103,
        location: { segment: 'OBR', field: 25 },
      });
    },
  );

  it('finds the patient id by the universal id of the authority, and by type code when configured', () => {
    const pid3 = `${PID3}~P77^^^&2.16.840.1.113883.2.9.2.10.3.1&ISO^MR~P78^^^&2.16.840.1.113883.2.9.2.10.3.1&ISO^PI`;
    const segments = [pid(pid3), pv1(), txa(), obxRp()];
    const facilities = facilitiesByName([
      {
        ...FACILITY,
        patientIdAuthority: '2.16.840.1.113883.2.9.2.10.3.1',
        patientIdTypeCode: 'PI',
      },
    ]);
    expect(extract(mdm({ segments }), facilities).patientId).toBe('P78');
    const ambiguous = facilitiesByName([
      { ...FACILITY, patientIdAuthority: '2.16.840.1.113883.2.9.2.10.3.1' },
    ]);
    expect(refusal(mdm({ segments }), ambiguous)).toMatchObject({
      ack: 'AE',
      code: 102,
      reason:
        'PID-3 has 2 different patient ids with assigning authority "2.16.840.1.113883.2.9.2.10.3.1"',
    });
  });

  it('uses the RIS id as patient id when the facility says so', () => {
    const facilities = facilitiesByName([{ ...FACILITY, patientIdAuthority: 'RIS' }]);
    expect(extract(mdm(), facilities)).toMatchObject({ patientId: '12345', risId: '12345' });
  });

  it('finds the codice fiscale by type NNITA alone, and by the national OID alone', () => {
    const byType = pid(
      `12345^^^RIS~rssmra80a01h501u^^^MEF^NNITA~${PACS_PATIENT_ID}^^^PACS_ASLTO3^PI`,
    );
    expect(extract(mdm({ segments: [byType, pv1(), txa(), obxRp()] })).codiceFiscale).toBe(
      CODICE_FISCALE,
    );
    const byOid = pid(
      `${CODICE_FISCALE}^^^&2.16.840.1.113883.2.9.4.3.2&ISO~${PACS_PATIENT_ID}^^^PACS_ASLTO3`,
    );
    const event = extract(mdm({ segments: [byOid, pv1(), txa(), obxRp()] }));
    expect(event).toMatchObject({ codiceFiscale: CODICE_FISCALE, risId: undefined });
  });

  it('ignores a malformed codice fiscale with a warning that holds no value', () => {
    const bad = pid(`12345^^^RIS~RSSMRA80A01^^^^NNITA~${PACS_PATIENT_ID}^^^PACS_ASLTO3^PI`);
    const event = extract(mdm({ segments: [bad, pv1(), txa(), obxRp()] }));
    expect(event.codiceFiscale).toBeUndefined();
    expect(event.warnings).toEqual(['PID-3 codice fiscale is not 16 letters and digits: ignored']);
  });

  it('falls back to MSH-7 for the signing time, warning about an invalid TXA-22.15', () => {
    const none = extract(mdm({ segments: [pid(), pv1(), txa({ signedAt: '' }), obxRp()] }));
    expect(none).toMatchObject({
      signedAt: '20250114093005',
      signedAtSource: 'MSH-7',
      warnings: [],
    });
    const bad = extract(mdm({ segments: [pid(), pv1(), txa({ signedAt: 'yesterday' }), obxRp()] }));
    expect(bad).toMatchObject({
      signedAtSource: 'MSH-7',
      warnings: ['TXA-22.15 is not an HL7 date/time: ignored'],
    });
  });

  it('warns when PV1-3.4 (structure code) is empty', () => {
    const event = extract(mdm({ segments: [pid(), pv1(''), txa(), obxRp()] }));
    expect(event.structureCode).toBeUndefined();
    expect(event.warnings).toEqual(['PV1-3.4 (structure code) is empty']);
  });

  it.each([
    ['ADT^A08', 'ADT^A08^ADT_A01', 200, 'unsupported message type "ADT^A08": expected MDM or ORU'],
    [
      'MDM^T04',
      'MDM^T04^MDM_T02',
      201,
      'unsupported trigger event "MDM^T04": expected MDM^T02, MDM^T10 or MDM^T11',
    ],
    ['ORU^R30', 'ORU^R30^ORU_R30', 201, 'unsupported trigger event "ORU^R30": expected ORU^R01'],
  ])('refuses %s with AR', (_name, type, code, reason) => {
    expect(refusal(mdm({ type }))).toMatchObject({ ack: 'AR', code, reason });
  });

  it('refuses an unknown sending facility with AR, naming MSH-4 and the value', () => {
    const error = refusal(mdm({ sendingFacility: 'ASLCN1' }));
    expect(error).toMatchObject({ ack: 'AR', code: 204, location: { segment: 'MSH', field: 4 } });
    expect(error.message).toBe('unknown sending facility "ASLCN1" (MSH-4)');
  });

  it.each([
    ['PID', [pv1(), txa(), obxRp()], 100, { segment: 'PID' }],
    ['PV1', [pid(), txa(), obxRp()], 100, { segment: 'PV1' }],
    [
      'TXA-12',
      [pid(), pv1(), txa({ documentId: '' }), obxRp()],
      101,
      { segment: 'TXA', field: 12 },
    ],
    ['OBX RP', [pid(), pv1(), txa(), obxText()], 101, { segment: 'OBX', field: 2 }],
    [
      'OBX-5 of RP',
      [pid(), pv1(), txa(), obxText(), obxRp('')],
      101,
      { segment: 'OBX', sequence: 2, field: 5, component: 1 },
    ],
    [
      'a long accession',
      [pid(), pv1(), txa(), obxRp('A'.repeat(17))],
      102,
      { segment: 'OBX', sequence: 1, field: 5, component: 1 },
    ],
    [
      'the patient id',
      [pid('12345^^^RIS'), pv1(), txa(), obxRp()],
      101,
      { segment: 'PID', field: 3 },
    ],
    [
      'a valid patient id',
      [pid('A\\E\\B^^^PACS_ASLTO3'), pv1(), txa(), obxRp()],
      102,
      { segment: 'PID', field: 3 },
    ],
  ])('refuses a message without %s with AE', (_what, segments, code, location) => {
    expect(refusal(mdm({ segments }))).toMatchObject({ ack: 'AE', code, location });
  });

  describe('an MDM without TXA', () => {
    const withSource = (documentIdWithoutTxa: string) =>
      facilitiesByName([{ ...FACILITY, documentIdWithoutTxa }]);
    const noTxa = (segments: string[], controlId?: string) =>
      mdm({ segments, ...(controlId ? { controlId } : {}) });

    it('takes the first accession number as the document id by default', () => {
      const event = extract(noTxa([pid(), pv1(), obxRp(), obxRp('A2025000124', '2')]));
      expect(event).toMatchObject({
        kind: 'signed',
        codDocumentoDipartimentale: ACCESSION,
        accessionNumbers: [ACCESSION, 'A2025000124'],
        signedAtSource: 'MSH-7',
        warnings: ['no TXA segment: document id taken from accession'],
      });
    });

    it.each([
      ['MSH-10', [pid(), pv1(), obxRp()], 'RIS000777'],
      ['OBR-3', [pid(), pv1(), obr('F', 'ORD-55'), obxRp()], 'ORD-55'],
      [
        'OBX:DOCID',
        [pid(), pv1(), obxRp(), segment('OBX', { 1: '2', 2: 'ST', 3: 'DOCID^Referto', 5: 'D-9' })],
        'D-9',
      ],
    ])('takes the document id from %s when configured', (source, segments, documentId) => {
      const event = extract(noTxa(segments, 'RIS000777'), withSource(source));
      expect(event.codDocumentoDipartimentale).toBe(documentId);
      expect(event.warnings).toEqual([`no TXA segment: document id taken from ${source}`]);
    });

    it('replaces the same document when a T10 has no TXA', () => {
      const event = extract(mdm({ trigger: 'T10', segments: [pid(), pv1(), obxRp()] }));
      expect(event).toMatchObject({ kind: 'replaced', replacedDocumentId: ACCESSION });
    });

    it('answers AE when the configured source is empty, naming it', () => {
      expect(refusal(noTxa([pid(), pv1(), obxRp()]), withSource('OBR-3'))).toMatchObject({
        ack: 'AE',
        code: 101,
        location: { segment: 'OBR', field: 3 },
        reason:
          'TXA segment is missing and the document id it is configured to take instead (OBR-3) is empty',
      });
    });

    it('answers AE "TXA segment is missing" when the facility refuses such messages', () => {
      expect(refusal(noTxa([pid(), pv1(), obxRp()]), withSource('refuse'))).toMatchObject({
        ack: 'AE',
        code: 100,
        location: { segment: 'TXA' },
        reason: 'TXA segment is missing',
      });
    });
  });

  it('refuses an ORU without OBR or OBR-3 with AE', () => {
    expect(refusal(oru({ segments: [pid(), pv1(), obxRp()] }))).toMatchObject({
      ack: 'AE',
      location: { segment: 'OBR' },
    });
    expect(refusal(oru({ segments: [pid(), pv1(), obr('F', ''), obxRp()] }))).toMatchObject({
      ack: 'AE',
      location: { segment: 'OBR', field: 3 },
    });
  });

  it('names no patient data in its refusals', () => {
    const segments = [
      segment('PID', { 1: '1', 3: `${CODICE_FISCALE}^^^^NNITA`, 5: 'ROSSI^MARIO' }),
      pv1(),
      txa(),
      obxRp(),
    ];
    const error = refusal(mdm({ segments }));
    expect(error.message).not.toContain(CODICE_FISCALE);
    expect(error.message).not.toContain('ROSSI');
  });
});

describe('hl7TimeToIso', () => {
  it.each([
    ['20250114093000+0100', '2025-01-14T09:30:00+01:00'],
    ['20250114093000.123-0500', '2025-01-14T09:30:00.123-05:00'],
    ['202501140930', '2025-01-14T09:30:00'],
    ['20250114', '2025-01-14T00:00:00'],
    ['2025', '2025-01-01T00:00:00'],
  ])('%s → %s', (dtm, iso) => {
    expect(hl7TimeToIso(dtm)).toBe(iso);
  });

  it('rejects what is not a DTM', () => {
    expect(hl7TimeToIso('14/01/2025')).toBeUndefined();
    expect(hl7TimeToIso('')).toBeUndefined();
  });
});
