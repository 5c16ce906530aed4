import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { imagesAvailableEntry, reportCancelledEntry } from '../../../src/fse/fse-messages.js';
import { FseNotifier, FseNotifierConfigError } from '../../../src/fse/fse-notifier.js';
import { FakeFse, type FakeFseOptions } from '../../helpers/fake-fse.js';
import { imagesAvailable, reportCancelled } from './fixtures.js';

let fake: FakeFse | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function setUp(
  options: FakeFseOptions = {},
  notifier: Partial<ConstructorParameters<typeof FseNotifier>[0]> = {},
): Promise<{ fake: FakeFse; notifier: FseNotifier }> {
  fake = await FakeFse.start(options);
  return {
    fake,
    notifier: new FseNotifier({ baseUrl: fake.baseUrl, timeoutMs: 2_000, ...notifier }),
  };
}

const entry = imagesAvailableEntry(imagesAvailable(1));

describe('FseNotifier.send against the fake FSE', () => {
  it('POSTs the stored body as JSON with the Idempotency-Key: 200 is delivered', async () => {
    const { fake, notifier } = await setUp();
    expect(await notifier.send(entry)).toEqual({ result: 'delivered', httpStatus: 200 });
    expect(fake.invalid()).toEqual([]);
    const [request] = fake.requests;
    expect(request).toMatchObject({
      method: 'POST',
      path: '/fse/v1/immagini-disponibili',
      idempotencyKey: entry.idempotencyKey,
      raw: entry.payload,
      valid: true,
      status: 200,
    });
    expect(request?.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(request?.headers.authorization).toBeUndefined();
  });

  it('sends a cancellation to its own path', async () => {
    const { fake, notifier } = await setUp();
    const cancel = reportCancelledEntry(reportCancelled(1));
    expect(await notifier.send(cancel)).toMatchObject({ result: 'delivered' });
    expect(fake.requests[0]).toMatchObject({ path: '/fse/v1/referti-annullati', valid: true });
  });

  it('sends a bearer token when configured', async () => {
    const { fake, notifier } = await setUp(
      { auth: { bearer: 's3cr3t-token' } },
      { auth: { kind: 'bearer', token: 's3cr3t-token' } },
    );
    expect(await notifier.send(entry)).toMatchObject({ result: 'delivered' });
    expect(fake.requests[0]?.headers.authorization).toBe('Bearer s3cr3t-token');
    expect(JSON.stringify(notifier.description)).not.toContain('s3cr3t');
  });

  it('sends basic credentials when configured; wrong ones are a final 401', async () => {
    const { notifier } = await setUp(
      { auth: { basic: { username: 'bridge', password: 'pw:with:colons' } } },
      { auth: { kind: 'basic', username: 'bridge', password: 'pw:with:colons' } },
    );
    expect(await notifier.send(entry)).toMatchObject({ result: 'delivered' });
    const wrong = new FseNotifier({
      baseUrl: fake!.baseUrl,
      timeoutMs: 2_000,
      auth: { kind: 'basic', username: 'bridge', password: 'nope' },
    });
    expect(await wrong.send(entry)).toEqual({
      result: 'final',
      httpStatus: 401,
      reason: 'HTTP 401',
      detail: 'CL_ER_401: Authorization refused',
    });
  });

  it('judges 503 as retry, with Retry-After and the FSE errors as detail', async () => {
    const { notifier } = await setUp({
      answers: [
        {
          status: 503,
          headers: { 'Retry-After': '7' },
          body: { esito: 'FALLIMENTO', errori: [{ codice: 'FSE_ER_503', descrizione: 'busy' }] },
        },
      ],
    });
    expect(await notifier.send(entry)).toEqual({
      result: 'retry',
      httpStatus: 503,
      reason: 'HTTP 503',
      detail: 'FSE_ER_503: busy',
      retryAfterMs: 7_000,
    });
  });

  it('judges 422 as final, with a plain-text body as detail', async () => {
    const { notifier } = await setUp({ answers: [{ status: 422, body: 'unknown   report\n' }] });
    expect(await notifier.send(entry)).toEqual({
      result: 'final',
      httpStatus: 422,
      reason: 'HTTP 422',
      detail: 'unknown report',
    });
  });

  it('judges a 200 with esito FALLIMENTO as a final refusal', async () => {
    const { notifier } = await setUp({
      answers: [
        {
          status: 200,
          body: {
            esito: 'FALLIMENTO',
            errori: [{ codice: 'CL_ER_012', descrizione: 'referto non trovato' }],
          },
        },
      ],
    });
    expect(await notifier.send(entry)).toEqual({
      result: 'final',
      httpStatus: 200,
      reason: 'HTTP 200 with esito FALLIMENTO',
      detail: 'CL_ER_012: referto non trovato',
    });
  });

  it('does not follow a redirect: final', async () => {
    const { fake, notifier } = await setUp({
      answers: [{ status: 307, headers: { Location: 'http://127.0.0.1:9/elsewhere' } }],
    });
    expect(await notifier.send(entry)).toMatchObject({
      result: 'final',
      httpStatus: 307,
      reason: 'HTTP 307 (redirect)',
    });
    expect(fake.requests).toHaveLength(1);
  });

  it('turns a silent FSE into a retry after the timeout', async () => {
    const { notifier } = await setUp({ answers: ['hang'] }, { timeoutMs: 200 });
    const started = Date.now();
    expect(await notifier.send(entry)).toEqual({
      result: 'retry',
      reason: 'no answer within 200 ms',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('times out a body that never ends, keeping the status', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(503, { 'Content-Type': 'application/json' });
      res.write('{"esito":');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const notifier = new FseNotifier({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 200 });
      expect(await notifier.send(entry)).toEqual({
        result: 'retry',
        httpStatus: 503,
        reason: 'HTTP 503',
      });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('turns a refused connection into a retry', async () => {
    const { fake, notifier } = await setUp();
    await fake.close();
    const outcome = await notifier.send(entry);
    expect(outcome).toMatchObject({ result: 'retry' });
    expect(outcome.result === 'retry' && outcome.reason).toMatch(/^request failed: ECONNREFUSED/);
  });

  it('reports an attempt cut short by its signal as aborted', async () => {
    const { notifier } = await setUp({ answers: ['hang'] });
    const controller = new AbortController();
    const sent = notifier.send(entry, controller.signal);
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    expect(await sent).toEqual({ result: 'aborted' });
    expect(await notifier.send(entry, AbortSignal.abort())).toEqual({ result: 'aborted' });
  });

  it('does not send a key that cannot be a header value: final', async () => {
    const { fake, notifier } = await setUp();
    expect(await notifier.send({ ...entry, idempotencyKey: 'images-available:è' })).toEqual({
      result: 'final',
      reason: 'idempotency key is not printable ASCII',
    });
    expect(fake.requests).toHaveLength(0);
  });

  it('is refused by the fake when the body breaks the format', async () => {
    const { fake, notifier } = await setUp();
    const body = JSON.parse(entry.payload) as Record<string, unknown>;
    const outcome = await notifier.send({
      ...entry,
      payload: JSON.stringify({ ...body, sentAt: '2024-03-01T10:00:00Z' }),
    });
    expect(outcome).toMatchObject({
      result: 'final',
      httpStatus: 400,
      detail: 'CL_ER_400: body.sentAt is not a known field',
    });
    expect(fake.invalid()).toHaveLength(1);
  });
});

describe('FseNotifier options', () => {
  it.each([
    [{ baseUrl: 'ftp://fse.example' }, /baseUrl must be http or https/],
    [{ baseUrl: 'not a url' }, /baseUrl is not a URL/],
    [{ baseUrl: 'https://user:pw@fse.example' }, /must not contain credentials/],
    [{ baseUrl: 'https://fse.example/x?y=1' }, /query or fragment/],
    [{ timeoutMs: 0 }, /timeoutMs must be an integer from 1 to 86400000: 0/],
    [{ auth: { kind: 'bearer', token: '' } }, /auth\.token must be/],
    [{ auth: { kind: 'basic', username: 'a:b', password: 'x' } }, /auth\.username must be/],
    [{ auth: { kind: 'oauth' } }, /auth\.kind must be none, bearer or basic: oauth/],
  ])('refuses %o, naming the option', (options, message) => {
    const make = (): FseNotifier =>
      new FseNotifier({ baseUrl: 'https://fse.example/v1', timeoutMs: 1_000, ...options } as never);
    expect(make).toThrow(FseNotifierConfigError);
    expect(make).toThrow(message);
  });

  it('never names a secret in its errors', () => {
    expect(
      () =>
        new FseNotifier({
          baseUrl: 'https://fse.example',
          timeoutMs: 1_000,
          auth: { kind: 'bearer', token: 'TOPSECRET\n' },
        }),
    ).toThrow(/^(?!.*TOPSECRET)/);
  });

  it('appends each path to the base URL, with or without a trailing slash', () => {
    const notifier = new FseNotifier({ baseUrl: 'https://fse.example/bridge/v1/', timeoutMs: 1 });
    expect(notifier.urlOf('images-available')).toBe(
      'https://fse.example/bridge/v1/immagini-disponibili',
    );
    expect(notifier.urlOf('report-cancelled')).toBe(
      'https://fse.example/bridge/v1/referti-annullati',
    );
  });
});
