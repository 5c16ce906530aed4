import { join } from 'node:path';
import Fastify from 'fastify';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSchema } from '../../../src/config/schema.js';
import { toOutboxEntry, type Notification } from '../../../src/fse/fse-messages.js';
import { MAX_DOCUMENT_ID } from '../../../src/fse/report.js';
import { ReportLinker } from '../../../src/fse/report-linker.js';
import { ReportStore } from '../../../src/fse/report-store.js';
import { REPORT_BODY_LIMIT_BYTES, reportRoutes } from '../../../src/http/report-routes.js';
import { startHttpServer, type RunningHttp } from '../../../src/http/server.js';
import { StudyIndex } from '../../../src/index/study-index.js';
import type { OutboxEntry } from '../../../src/fse/outbox-entry.js';
import { makeInstance, makeTempDir } from '../index/fixtures.js';

/*
 * The reports API on a real listener, with the real store, linker and outbox entry builder (as
 * src/reporting.ts wires them, without a PACS to retrieve from: ACC-1..ACC-3 are held).
 */

const log = pino({ level: 'silent' });

let cleanup: () => void;
let index: StudyIndex;
let reports: ReportStore;
let linker: ReportLinker;
let http: RunningHttp;
let base: string;
/** What the outbox holds; `failNext` makes the next enqueue throw after building its entry. */
let outbox: OutboxEntry[];
let manifests: string[];

beforeEach(async () => {
  const temp = makeTempDir();
  cleanup = temp.cleanup;
  const path = join(temp.dir, 'index.db');
  index = StudyIndex.open(path);
  index.commitInstances([1, 2, 3].map((study) => makeInstance({ study, series: 1, sop: 1 })));
  reports = ReportStore.open(path);
  outbox = [];
  manifests = [];
  linker = new ReportLinker({
    reports,
    index,
    retriever: undefined,
    store: { putBuffer: async (key: string) => void manifests.push(key) } as never,
    outbox: {
      enqueue: (notification: Notification) => void outbox.push(toOutboxEntry(notification)),
    },
    options: { retrieveAeTitle: 'BRIDGE', retrieveLocationUid: '1.2.3.4' },
    log,
  });
  http = await startHttpServer(
    // The configuration's defaults: 127.0.0.1, 1 MiB bodies, no token, the timeouts.
    { ...createSchema({}).getProperties().http, port: 0 },
    (app) => reportRoutes(app, { linker, reports, log }),
    log,
  );
  base = `http://127.0.0.1:${http.port}`;
});

afterEach(async () => {
  await linker.idle();
  await http.close();
  reports.close();
  index.close();
  cleanup();
});

function registration(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    codCL: 'ASL1',
    codDocumentoDipartimentale: 'DOC-1',
    patientId: 'PAT-1',
    accessionNumbers: [{ accessionNumber: 'ACC-1' }],
    ...overrides,
  };
}

async function call(
  method: string,
  path: string,
  body?: string | Record<string, unknown>,
): Promise<{ status: number; text: string; json: Record<string, unknown> }> {
  const res = await fetch(base + path, {
    method,
    ...(body === undefined
      ? {}
      : {
          headers: { 'content-type': 'application/json' },
          body: typeof body === 'string' ? body : JSON.stringify(body),
        }),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: the test looks at the text
  }
  return { status: res.status, text, json };
}

const reportPath = (codCL: string, doc: string): string =>
  `/api/reports/${encodeURIComponent(codCL)}/${encodeURIComponent(doc)}`;

describe('POST /api/reports accepts only reports the FSE can be told about', () => {
  it.each([
    ['codCL with "^"', { codCL: 'ASL^1' }, 'codCL'],
    ['codCL with a space', { codCL: 'ASL 1' }, 'codCL'],
    ['codCL not ASCII', { codCL: 'ASLè' }, 'codCL'],
    [
      'a document id of 200 characters',
      { codDocumentoDipartimentale: 'D'.repeat(200) },
      'codDocumentoDipartimentale',
    ],
    [
      'a document id with an edge space',
      { codDocumentoDipartimentale: 'DOC-9 ' },
      'codDocumentoDipartimentale',
    ],
    ['a blank patient id', { patientId: '   ' }, 'patientId'],
    ['a patient id with DEL', { patientId: 'PAT\x7f' }, 'patientId'],
    ['idDocumentoIlec not ASCII', { idDocumentoIlec: 'ILEC-è' }, 'idDocumentoIlec'],
  ])('%s: 400, nothing recorded, no manifest', async (_label, overrides, field) => {
    const body = registration(overrides);
    const res = await call('POST', '/api/reports', body);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: 'invalid-report', field });
    await linker.idle();
    expect(reports.byAccession('ACC-1')).toEqual([]);
    expect(manifests).toEqual([]);
    expect(outbox).toEqual([]);
  });

  it('links and notifies a report whose values are at the limits', async () => {
    const doc = `R^/ %${'x'.repeat(90)}`;
    const res = await call(
      'POST',
      '/api/reports',
      registration({ codDocumentoDipartimentale: doc, idDocumentoIlec: 'I'.repeat(256) }),
    );
    expect(res.status).toBe(202);
    await linker.idle();
    expect(outbox.map((e) => e.kind)).toEqual(['images-available']);
    const got = await call('GET', reportPath('ASL1', doc));
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({ status: 'linked', codDocumentoDipartimentale: doc });
  });
});

describe('report keys', () => {
  it('a codCL holding "^" can neither replace nor read another report', async () => {
    const first = await call(
      'POST',
      '/api/reports',
      registration({ codCL: 'ASL2', codDocumentoDipartimentale: 'REP^7' }),
    );
    expect(first.status).toBe(202);
    await linker.idle();
    const other = await call(
      'POST',
      '/api/reports',
      registration({
        codCL: 'ASL2^REP',
        codDocumentoDipartimentale: '7',
        patientId: 'OTHER',
        accessionNumbers: [{ accessionNumber: 'ACC-2' }],
      }),
    );
    expect(other.status).toBe(400);
    expect(other.json).toMatchObject({ field: 'codCL' });
    for (const [method, path, body] of [
      ['GET', reportPath('ASL2^REP', '7'), undefined],
      ['DELETE', reportPath('ASL2^REP', '7'), undefined],
      ['POST', `${reportPath('ASL2^REP', '7')}/obscuration`, { eventCode: 'P99', source: 'x' }],
    ] as const) {
      const res = await call(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(res.json).toMatchObject({ error: 'invalid-report', field: 'codCL' });
    }
    const kept = await call('GET', reportPath('ASL2', 'REP^7'));
    expect(kept.json).toMatchObject({
      codCL: 'ASL2',
      codDocumentoDipartimentale: 'REP^7',
      patientId: 'PAT-1',
      status: 'linked',
      version: 1,
      obscuration: first.json.obscuration,
    });
  });
});

describe('DELETE /api/reports/:codCL/:doc', () => {
  it('cancels a report still waiting for its images and tells the FSE', async () => {
    const res = await call(
      'POST',
      '/api/reports',
      registration({ accessionNumbers: [{ accessionNumber: 'NOT-HELD' }] }),
    );
    expect(res.status).toBe(202);
    await linker.idle();
    expect(reports.get('ASL1^DOC-1')?.status).toBe('waiting');
    const cancelled = await call('DELETE', reportPath('ASL1', 'DOC-1'));
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({ status: 'cancelled' });
    expect(outbox.map((e) => e.idempotencyKey)).toEqual(['report-cancelled:ASL1^DOC-1:1']);
  });

  it('changes nothing when the cancellation cannot be notified', async () => {
    // A report recorded before registrations were checked as the messages check them.
    reports.upsert(
      {
        codCL: 'ASL 1',
        codDocumentoDipartimentale: 'DOC-1',
        idDocumentoIlec: undefined,
        accessions: [{ accessionNumber: 'ACC-1', issuer: '' }],
        patientId: 'PAT-1',
        issuerOfPatientId: '',
        codiceFiscale: undefined,
        signedAt: undefined,
        source: 'http',
      },
      '2024-03-01T10:00:00.000Z',
    );
    const before = reports.get('ASL 1^DOC-1');
    const res = await call('DELETE', reportPath('ASL 1', 'DOC-1'));
    expect(res.status).toBe(409);
    expect(res.json).toMatchObject({ error: 'cannot-notify', field: 'codCL' });
    expect(reports.get('ASL 1^DOC-1')).toEqual(before);
    expect(outbox).toEqual([]);
  });

  it('changes nothing when the outbox refuses the notification', async () => {
    expect((await call('POST', '/api/reports', registration())).status).toBe(202);
    await linker.idle();
    const before = reports.get('ASL1^DOC-1');
    expect(before?.status).toBe('linked');
    const refusing = new ReportLinker({
      reports,
      index,
      retriever: undefined,
      store: { putBuffer: async () => undefined } as never,
      outbox: {
        enqueue: () => {
          throw new Error('disk full');
        },
      },
      options: { retrieveAeTitle: 'BRIDGE', retrieveLocationUid: '1.2.3.4' },
      log,
    });
    expect(() => refusing.cancel('ASL1^DOC-1')).toThrow('disk full');
    expect(reports.get('ASL1^DOC-1')).toEqual(before);
    // Once the outbox works again, the cancellation goes through and is notified.
    expect(linker.cancel('ASL1^DOC-1')?.status).toBe('cancelled');
    expect(outbox.map((e) => e.kind)).toEqual(['images-available', 'report-cancelled']);
  });
});

describe('hostile JSON bodies', () => {
  /** Nested arrays, as many levels as fit in `bytes`. */
  const deep = (bytes: number): string => {
    const levels = Math.floor(bytes / 2);
    return '['.repeat(levels) + ']'.repeat(levels);
  };
  /** A valid registration but for `key`, whose value is the JSON text `raw`. */
  const withRaw = (key: string, raw: string): string => {
    const rest = registration();
    delete rest[key];
    return `${JSON.stringify(rest).slice(0, -1)},"${key}":${raw}}`;
  };

  it.each([
    ['a deep array in codCL', (v: string) => withRaw('codCL', v), 'codCL'],
    ['a deep array in codiceFiscale', (v: string) => withRaw('codiceFiscale', v), 'codiceFiscale'],
    [
      'a deep array in an accession',
      (v: string) => withRaw('accessionNumbers', `[{"accessionNumber":${v}}]`),
      'accessionNumbers[0].accessionNumber',
    ],
    [
      'a deep object in patientId',
      (v: string) => {
        const levels = Math.floor(v.length / 6);
        return withRaw('patientId', `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`);
      },
      'patientId',
    ],
    [
      'a deep array next to "__proto__" text',
      (v: string) => withRaw('codCL', v).replace('"PAT-1"', '"__proto__"'),
      'codCL',
    ],
  ])('%s as large as the limit allows: a short 400', async (_label, make, field) => {
    const body = make(deep(REPORT_BODY_LIMIT_BYTES - 200));
    expect(body.length).toBeGreaterThan(REPORT_BODY_LIMIT_BYTES - 1000);
    expect(body.length).toBeLessThanOrEqual(REPORT_BODY_LIMIT_BYTES);
    const res = await call('POST', '/api/reports', body);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: 'invalid-report', field });
    expect(res.text.length).toBeLessThan(300);
  });

  it('a long array is not echoed', async () => {
    const body = withRaw('codiceFiscale', `[${Array.from({ length: 20_000 }, () => 1).join(',')}]`);
    const res = await call('POST', '/api/reports', body);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({
      field: 'codiceFiscale',
      message: 'codiceFiscale must be a string, not an array',
    });
  });

  it('a body over the reports limit is refused unread with 413', async () => {
    for (const path of ['/api/reports', `${reportPath('ASL1', 'DOC-1')}/obscuration`]) {
      const res = await call('POST', path, `{"codCL":${deep(REPORT_BODY_LIMIT_BYTES + 2)}}`);
      expect(res.status, path).toBe(413);
      expect(res.json).toMatchObject({ error: 'body-too-large' });
    }
  });

  it('the largest legitimate registration fits, even with every character escaped', async () => {
    const escaped = (text: string): string =>
      [...text].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
    const field = (name: string, value: string): string => `"${name}":"${escaped(value)}"`;
    const accessions = Array.from(
      { length: 100 },
      (_, i) =>
        `{${field('accessionNumber', `ACC-${String(i).padStart(12, '0')}`)},${field('issuer', 'I'.repeat(64))}}`,
    );
    const body = `{${[
      field('codCL', 'C'.repeat(64)),
      field('codDocumentoDipartimentale', 'D'.repeat(MAX_DOCUMENT_ID)),
      field('idDocumentoIlec', 'L'.repeat(256)),
      field('patientId', 'PAT-1'.padEnd(64, 'P')),
      field('issuerOfPatientId', 'S'.repeat(64)),
      field('codiceFiscale', 'RSSMRA80A01H501U'),
      field('signedAt', '2024-03-01T10:15:00.000+01:00'),
    ].join(',')},"accessionNumbers":[${accessions.join(',')}]}`;
    expect(body.length).toBeGreaterThan(50 * 1024);
    const res = await call('POST', '/api/reports', body);
    expect(res.status, res.text).toBe(202);
  });
});

describe('document ids as long as the FSE messages allow', () => {
  it('can be read and cancelled with maxParamLength at MAX_DOCUMENT_ID', async () => {
    // The listener startHttpServer builds, with the router option that makes the two agree.
    const app = Fastify({ routerOptions: { maxParamLength: MAX_DOCUMENT_ID } });
    reportRoutes(app, { linker, reports, log });
    try {
      // Characters that travel percent-encoded: the limit is on the decoded value.
      const doc = `R^/ ?#${'x'.repeat(MAX_DOCUMENT_ID - 6)}`;
      const posted = await app.inject({
        method: 'POST',
        url: '/api/reports',
        payload: registration({ codDocumentoDipartimentale: doc }),
      });
      expect(posted.statusCode).toBe(202);
      await linker.idle();
      const got = await app.inject({ method: 'GET', url: reportPath('ASL1', doc) });
      expect(got.statusCode).toBe(200);
      const cancelled = await app.inject({ method: 'DELETE', url: reportPath('ASL1', doc) });
      expect(cancelled.statusCode).toBe(200);
      expect(cancelled.json()).toMatchObject({ status: 'cancelled' });
    } finally {
      await app.close();
    }
  });
});
