import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imagesAvailableEntry, reportCancelledEntry } from '../../../src/fse/fse-messages.js';
import { FakeFse } from '../../helpers/fake-fse.js';
import { imagesAvailable, reportCancelled } from './fixtures.js';

/*
 * The fake must be strict, or the delivery tests prove nothing: every deviation from
 * docs/fse-notification.md is answered 400 with a reason.
 */

let fake: FakeFse;

beforeAll(async () => {
  fake = await FakeFse.start();
});

afterAll(() => fake.close());

const valid = imagesAvailableEntry(imagesAvailable(1));
const validBody = JSON.parse(valid.payload) as Record<string, unknown>;
const cancel = reportCancelledEntry(reportCancelled(1));

interface RawRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}

async function post(request: RawRequest = {}): Promise<{ status: number; reason: string }> {
  const response = await fetch(`${fake.baseUrl}${request.path ?? '/immagini-disponibili'}`, {
    method: request.method ?? 'POST',
    headers: {
      'Content-Type': 'application/json',
      'Idempotency-Key': valid.idempotencyKey,
      ...request.headers,
    },
    ...(request.method === 'GET' ? {} : { body: request.body ?? valid.payload }),
  });
  const answer = (await response.json()) as { errori?: Array<{ descrizione: string }> };
  return { status: response.status, reason: answer.errori?.[0]?.descrizione ?? '' };
}

const withBody = (changes: Record<string, unknown>): string =>
  JSON.stringify({ ...validBody, ...changes });

describe('fake FSE', () => {
  it('accepts the documented messages', async () => {
    expect(await post()).toEqual({ status: 200, reason: '' });
    expect(
      await post({
        path: '/referti-annullati',
        body: cancel.payload,
        headers: { 'Idempotency-Key': cancel.idempotencyKey },
      }),
    ).toEqual({ status: 200, reason: '' });
  });

  it.each<[string, RawRequest, RegExp]>([
    ['GET', { method: 'GET' }, /method must be POST/],
    ['an unknown path', { path: '/immagini' }, /unknown path/],
    ['text/plain', { headers: { 'Content-Type': 'text/plain' } }, /Content-Type/],
    [
      'no Idempotency-Key',
      { headers: { 'Idempotency-Key': '' } },
      /Idempotency-Key header missing/,
    ],
    [
      'a key of another kind',
      { headers: { 'Idempotency-Key': 'report-cancelled:x' } },
      /must start with images-available:/,
    ],
    [
      'a key not matching the body',
      { headers: { 'Idempotency-Key': 'images-available:x' } },
      /notificationId must equal/,
    ],
    ['a body that is not JSON', { body: '{"version":' }, /not JSON/],
    ['an array', { body: '[]' }, /body must be an object/],
    ['an unknown field', { body: withBody({ extra: true }) }, /body\.extra is not a known field/],
    ['another version', { body: withBody({ version: 2 }) }, /body\.version must be 1/],
    ['no patientId', { body: withBody({ patientId: undefined }) }, /body\.patientId is required/],
    [
      'a number as patientId',
      { body: withBody({ patientId: 12 }) },
      /body\.patientId must be a string/,
    ],
    [
      'a lower-case codice fiscale',
      { body: withBody({ codiceFiscale: 'rssmra80a01h501u' }) },
      /codiceFiscale has an invalid format/,
    ],
    [
      'an empty accession list',
      { body: withBody({ accessionNumbers: [] }) },
      /accessionNumbers must not be empty/,
    ],
    [
      'a timestamp without offset',
      {
        body: withBody({
          accessionNumbers: [{ accessionNumber: 'A', dataNotificaPacs: '2024-03-01T10:15:00' }],
        }),
      },
      /dataNotificaPacs must be an ISO 8601/,
    ],
    [
      'an invalid UID',
      {
        body: withBody({
          studies: [{ studyInstanceUid: '1..2', numberOfSeries: 1, numberOfInstances: 1 }],
        }),
      },
      /studyInstanceUid must be a UID/,
    ],
    [
      'a UID of 65 characters',
      {
        body: withBody({
          studies: [
            { studyInstanceUid: `1.${'2'.repeat(63)}`, numberOfSeries: 1, numberOfInstances: 1 },
          ],
        }),
      },
      /studyInstanceUid must be a UID/,
    ],
    [
      'a fractional count',
      {
        body: withBody({
          studies: [{ studyInstanceUid: '2.25.4242.1', numberOfSeries: 1.5, numberOfInstances: 1 }],
        }),
      },
      /numberOfSeries must be a positive integer/,
    ],
    [
      'a manifest outside the studies',
      {
        body: withBody({
          manifest: { ...(validBody.manifest as object), studyInstanceUid: '2.25.1' },
        }),
      },
      /manifest\.studyInstanceUid must be one of the studies/,
    ],
  ])('refuses %s with 400 and the reason', async (_what, request, reason) => {
    const answer = await post(request);
    expect(answer.status).toBe(400);
    expect(answer.reason).toMatch(reason);
  });

  it('records what it received and counts duplicates by key', async () => {
    const before = fake.received(valid.idempotencyKey).length;
    await post();
    expect(fake.received(valid.idempotencyKey).length).toBe(before + 1);
    expect(fake.duplicates().get(valid.idempotencyKey)).toBeGreaterThan(1);
    expect(fake.invalid().length).toBeGreaterThan(0);
  });
});

describe('fake FSE with credentials', () => {
  it('answers 401 without the right Authorization', async () => {
    const secured = await FakeFse.start({ auth: { bearer: 'tok' } });
    try {
      const send = (headers: Record<string, string>): Promise<number> =>
        fetch(`${secured.baseUrl}/immagini-disponibili`, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'Idempotency-Key': valid.idempotencyKey,
            ...headers,
          },
          body: valid.payload,
        }).then((r) => r.status);
      expect(await send({})).toBe(401);
      expect(await send({ Authorization: 'Bearer nope' })).toBe(401);
      expect(await send({ Authorization: 'Bearer tok' })).toBe(200);
    } finally {
      await secured.close();
    }
  });
});
