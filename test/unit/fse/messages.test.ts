import { describe, expect, it } from 'vitest';
import {
  FseMessageError,
  imagesAvailableEntry,
  reportCancelledEntry,
  reportKeyOf,
  toOutboxEntry,
  type ImagesAvailableInput,
  type ReportCancelledInput,
} from '../../../src/fse/fse-messages.js';
import {
  CODICE_FISCALE,
  PATIENT_ID,
  imagesAvailable,
  reportCancelled,
} from '../../integration/fse/fixtures.js';

describe('imagesAvailableEntry', () => {
  it('builds the documented body, keys and kind', () => {
    const entry = imagesAvailableEntry(imagesAvailable(7));
    expect(entry.kind).toBe('images-available');
    expect(entry.reportKey).toBe('010203^RAD-2024-000007');
    expect(entry.idempotencyKey).toBe('images-available:010203^RAD-2024-000007:2.25.9999.7');
    // Field order is part of the contract only in so far as the body is byte-stable.
    expect(entry.payload).toBe(
      JSON.stringify({
        version: 1,
        notificationId: 'images-available:010203^RAD-2024-000007:2.25.9999.7',
        codCL: '010203',
        codDocumentoDipartimentale: 'RAD-2024-000007',
        idDocumentoIlec: '2.16.840.1.113883.2.9.2.10.4.4^DOC7',
        codiceFiscale: CODICE_FISCALE,
        patientId: PATIENT_ID,
        issuerOfPatientId: 'ASR-TO',
        accessionNumbers: [
          { accessionNumber: 'ACC7', issuer: 'RIS', dataNotificaPacs: '2024-03-01T10:15:00+01:00' },
        ],
        studies: [{ studyInstanceUid: '2.25.4242.7', numberOfSeries: 3, numberOfInstances: 250 }],
        manifest: {
          sopInstanceUid: '2.25.9999.7',
          studyInstanceUid: '2.25.4242.7',
          retrieveAeTitle: 'FSEBRIDGE',
          retrieveLocationUid: '2.25.777',
        },
      }),
    );
  });

  it('is deterministic: the same input gives the same body (one idempotency key, one body)', () => {
    expect(imagesAvailableEntry(imagesAvailable(1))).toEqual(
      imagesAvailableEntry(imagesAvailable(1)),
    );
  });

  it('leaves out optional fields that are absent or empty, and writes Dates in UTC', () => {
    const body = JSON.parse(
      imagesAvailableEntry(
        imagesAvailable(1, {
          idDocumentoIlec: undefined,
          codiceFiscale: '',
          issuerOfPatientId: '',
          accessionNumbers: [
            {
              accessionNumber: 'A1',
              issuer: '',
              dataNotificaPacs: new Date(Date.UTC(2024, 2, 1, 9)),
            },
          ],
        }),
      ).payload,
    ) as Record<string, unknown>;
    expect(body).not.toHaveProperty('idDocumentoIlec');
    expect(body).not.toHaveProperty('codiceFiscale');
    expect(body).not.toHaveProperty('issuerOfPatientId');
    expect(body.accessionNumbers).toEqual([
      { accessionNumber: 'A1', dataNotificaPacs: '2024-03-01T09:00:00.000Z' },
    ]);
  });

  const invalid: Array<[string, Partial<ImagesAvailableInput> | Record<string, unknown>, RegExp]> =
    [
      ['codCL with ^', { codCL: 'A^B' }, /^codCL /],
      ['empty document id', { codDocumentoDipartimentale: '' }, /^codDocumentoDipartimentale /],
      [
        'codice fiscale in lower case',
        { codiceFiscale: 'rssmra80a01h501u' },
        /^codiceFiscale must be 16/,
      ],
      ['blank patient id', { patientId: '  ' }, /^patientId /],
      ['no accession numbers', { accessionNumbers: [] }, /^accessionNumbers must list 1 to 100/],
      [
        'timestamp without offset',
        { accessionNumbers: [{ accessionNumber: 'A', dataNotificaPacs: '2024-03-01T10:15:00' }] },
        /^accessionNumbers\[0\]\.dataNotificaPacs must be an ISO 8601/,
      ],
      [
        'accession number longer than 16',
        {
          accessionNumbers: [
            { accessionNumber: 'A'.repeat(17), dataNotificaPacs: '2024-03-01T10:15:00Z' },
          ],
        },
        /^accessionNumbers\[0\]\.accessionNumber /,
      ],
      ['no studies', { studies: [] }, /^studies must list/],
      [
        'bad study UID',
        { studies: [{ studyInstanceUid: '1.2.x', numberOfSeries: 1, numberOfInstances: 1 }] },
        /^studies\[0\]\.studyInstanceUid must be a DICOM UID/,
      ],
      [
        'zero instances',
        { studies: [{ studyInstanceUid: '2.25.4242.1', numberOfSeries: 1, numberOfInstances: 0 }] },
        /^studies\[0\]\.numberOfInstances must be a positive integer: 0/,
      ],
      [
        'a study twice',
        {
          studies: [
            { studyInstanceUid: '2.25.4242.1', numberOfSeries: 1, numberOfInstances: 1 },
            { studyInstanceUid: '2.25.4242.1', numberOfSeries: 1, numberOfInstances: 1 },
          ],
        },
        /^studies lists 2\.25\.4242\.1 twice/,
      ],
      [
        'manifest of another study',
        {
          manifest: { sopInstanceUid: '2.25.1', studyInstanceUid: '2.25.2', retrieveAeTitle: 'X' },
        },
        /^manifest\.studyInstanceUid must be one of the studies/,
      ],
      ['an unknown field', { extra: 1 }, /^message\.extra is not a known field/],
      [
        'UID longer than 64',
        {
          manifest: {
            sopInstanceUid: `1.${'2'.repeat(63)}`,
            studyInstanceUid: '2.25.4242.1',
            retrieveAeTitle: 'X',
          },
        },
        /^manifest\.sopInstanceUid must be a DICOM UID/,
      ],
    ];

  it.each(invalid)('refuses %s, naming the field', (_what, overrides, message) => {
    const input = { ...imagesAvailable(1), ...overrides } as ImagesAvailableInput;
    expect(() => imagesAvailableEntry(input)).toThrow(FseMessageError);
    expect(() => imagesAvailableEntry(input)).toThrow(message);
  });

  it('never quotes patient data in its errors', () => {
    for (const overrides of [
      { codiceFiscale: 'RSSMRA80A01H501' },
      { patientId: `${PATIENT_ID}\n` },
    ]) {
      try {
        imagesAvailableEntry({ ...imagesAvailable(1), ...overrides });
        expect.unreachable();
      } catch (err) {
        expect((err as Error).message).not.toContain('RSSMRA80A01H501');
        expect((err as Error).message).not.toContain(PATIENT_ID);
      }
    }
  });
});

describe('reportCancelledEntry', () => {
  it('builds the documented body and keys', () => {
    const entry = reportCancelledEntry(reportCancelled(3));
    expect(entry).toMatchObject({
      kind: 'report-cancelled',
      reportKey: '010203^RAD-2024-000003',
      idempotencyKey: 'report-cancelled:010203^RAD-2024-000003:MSG3',
    });
    expect(JSON.parse(entry.payload)).toEqual({
      version: 1,
      notificationId: 'report-cancelled:010203^RAD-2024-000003:MSG3',
      codCL: '010203',
      codDocumentoDipartimentale: 'RAD-2024-000003',
      cancelledAt: '2024-03-02T08:00:00+01:00',
      studyInstanceUids: ['2.25.4242.3'],
      manifestSopInstanceUid: '2.25.9999.3',
    });
  });

  it('needs only the report, the time and the event', () => {
    const entry = reportCancelledEntry({
      codCL: '010203',
      codDocumentoDipartimentale: 'RAD-1',
      cancelledAt: '2024-03-02T08:00:00Z',
      eventId: '2',
    });
    expect(Object.keys(JSON.parse(entry.payload) as object)).toEqual([
      'version',
      'notificationId',
      'codCL',
      'codDocumentoDipartimentale',
      'cancelledAt',
    ]);
  });

  it.each([
    [{ eventId: 'a:b' }, /^eventId /],
    [{ eventId: '' }, /^eventId /],
    [{ cancelledAt: 'yesterday' }, /^cancelledAt must be an ISO 8601/],
    [{ studyInstanceUids: [] }, /^studyInstanceUids must list/],
    [{ studyInstanceUids: ['2.25.1', '2.25.1'] }, /^studyInstanceUids lists 2\.25\.1 twice/],
    [{ manifestSopInstanceUid: 'x' }, /^manifestSopInstanceUid must be a DICOM UID/],
  ])('refuses %o, naming the field', (overrides, message) => {
    expect(() => reportCancelledEntry({ ...reportCancelled(1), ...overrides })).toThrow(message);
  });
});

describe('reportKeyOf', () => {
  it('joins codCL and the document id with ^', () => {
    expect(reportKeyOf('010203', 'RAD 1/2')).toBe('010203^RAD 1/2');
  });

  it('refuses ids that cannot travel in a header', () => {
    expect(() => reportKeyOf('010203', 'RAD-è')).toThrow(/codDocumentoDipartimentale/);
    expect(() => reportKeyOf('010203', ' RAD')).toThrow(/codDocumentoDipartimentale/);
  });
});

describe('toOutboxEntry', () => {
  it('builds an images-available entry from a linker notification with matching keys', () => {
    const expected = imagesAvailableEntry(imagesAvailable(1));
    expect(
      toOutboxEntry({
        kind: 'images-available',
        reportKey: expected.reportKey,
        idempotencyKey: expected.idempotencyKey,
        payload: imagesAvailable(1),
      }),
    ).toEqual(expected);
  });

  it('takes the cancellation event id from the idempotency key', () => {
    const payload: Partial<ReportCancelledInput> = reportCancelled(1);
    delete payload.eventId;
    expect(
      toOutboxEntry({
        kind: 'report-cancelled',
        reportKey: '010203^RAD-2024-000001',
        idempotencyKey: 'report-cancelled:010203^RAD-2024-000001:4',
        payload,
      }),
    ).toEqual(reportCancelledEntry({ ...(payload as ReportCancelledInput), eventId: '4' }));
  });

  it('refuses keys that do not match the message', () => {
    expect(() =>
      toOutboxEntry({
        kind: 'images-available',
        reportKey: '010203^RAD-2024-000001',
        idempotencyKey: 'images-available:010203^RAD-2024-000001:2.25.1',
        payload: imagesAvailable(1),
      }),
    ).toThrow(/^idempotencyKey must be/);
    expect(() =>
      toOutboxEntry({
        kind: 'report-cancelled',
        reportKey: 'other^key',
        idempotencyKey: 'report-cancelled:other^key:1',
        payload: reportCancelled(1),
      }),
    ).toThrow(/eventId|reportKey/);
  });
});
