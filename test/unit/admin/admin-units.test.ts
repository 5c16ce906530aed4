import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAdminSchemas } from '../../../src/admin/api-schemas.js';
import { AdminAuth } from '../../../src/admin/auth.js';
import { nodeOf } from '../../../src/admin/config-routes.js';
import {
  RecentAssociations,
  type AssociationRecord,
} from '../../../src/admin/recent-associations.js';
import { InputError, inputErrorOf, schemaController } from '../../../src/http/schemas.js';
import { createLogger } from '../../../src/logger.js';

/*
 * The admin API's input schemas, checked as the listeners check them: a peer or node body that
 * does not fit is refused naming the field; one that fits gets the configuration's defaults.
 */
let app: FastifyInstance;

beforeAll(async () => {
  app = Fastify({ schemaController, schemaErrorFormatter: inputErrorOf });
  addAdminSchemas(app);
  app.setErrorHandler(async (error, _request, reply) =>
    reply.code(400).send(error instanceof InputError ? { field: error.field } : { error }),
  );
  app.post('/peer', { schema: { body: { $ref: 'PeerInput#' } } }, async (request) => request.body);
  app.post('/node', { schema: { body: { $ref: 'PacsNodeInput#' } } }, async (request) =>
    nodeOf(request.body as Record<string, unknown>, ['FSEBRIDGE']),
  );
  await app.ready();
});

afterAll(() => app.close());

/** The field a body is refused for, or undefined when it is accepted. */
async function fieldOf(path: string, body: unknown): Promise<string | undefined> {
  const answer = await app.inject({ method: 'POST', url: path, payload: body as object });
  if (answer.statusCode === 200) return undefined;
  expect(answer.statusCode).toBe(400);
  return (answer.json() as { field: string }).field;
}

describe('AE title validation', () => {
  it.each([
    ['A'.repeat(16), true],
    ['A'.repeat(17), false],
    ['', false],
    ['   ', false],
    ['BAD\\AE', false],
    ['BAD\nAE', false],
    ['BAD\u0000AE', false],
    ['CAFÈ', false],
    [' LEAD', false],
    ['IN SIDE', true],
    [42, false],
  ])('%j is valid: %s', async (value, valid) => {
    expect(await fieldOf('/peer', { aeTitle: value })).toBe(valid ? undefined : 'aeTitle');
  });
});

describe('node and peer input', () => {
  const node = { name: 'pacs', aeTitle: 'PACS', host: '10.0.0.1', port: 104 };

  it('fills the defaults of a node like the configuration does', async () => {
    const answer = await app.inject({ method: 'POST', url: '/node', payload: node });
    expect(answer.json()).toMatchObject({
      ...node,
      retrieveMethod: 'C-MOVE',
      moveDestination: 'FSEBRIDGE',
      callingAeTitle: 'FSEBRIDGE',
      sendingAeTitles: ['PACS'],
      maxRetries: 3,
    });
  });

  it.each([
    [{ ...node, port: 65536 }, 'port'],
    [{ ...node, port: undefined }, 'port'],
    [{ ...node, port: '104' }, 'port'],
    [{ ...node, host: '' }, 'host'],
    [{ ...node, host: 'a b' }, 'host'],
    [{ ...node, retrieveMethod: 'C-PUT' }, 'retrieveMethod'],
    [{ ...node, maxRetries: -1 }, 'maxRetries'],
    [{ ...node, sendingAeTitles: ['OK', 'B\\AD'] }, 'sendingAeTitles[1]'],
    [{ ...node, colour: 'red' }, 'colour'],
    [{ name: 'pacs', aeTitle: 'PACS', host: 'pacs', prot: 104 }, 'prot'],
    [{ ...node, moveDestination: 'ELSEWHERE' }, 'moveDestination'],
    [[node], 'body'],
  ])('names the field of %j', async (input, field) => {
    expect(await fieldOf('/node', input)).toBe(field);
  });

  it('reads a peer with and without a host', async () => {
    expect(await fieldOf('/peer', { aeTitle: 'CT01' })).toBeUndefined();
    expect(await fieldOf('/peer', { aeTitle: 'CT01', host: null })).toBeUndefined();
    expect(await fieldOf('/peer', { aeTitle: 'CT01', host: '10.0.0.2' })).toBeUndefined();
    expect(await fieldOf('/peer', { aeTitle: 'CT01', host: 'fe80::1' })).toBeUndefined();
    expect(await fieldOf('/peer', { aeTitle: 'CT01', host: '' })).toBe('host');
    expect(await fieldOf('/peer', { aetitle: 'CT01' })).toBe('aetitle');
    expect(await fieldOf('/peer', { aeTitle: 'CT01', host: 'fe80:::1' })).toBe('host');
  });
});

describe('AdminAuth', () => {
  const options = {
    username: 'admin',
    password: 'secret pass',
    token: 'tok',
    sessionTtlMs: 1000,
    loginMaxFailures: 5,
    loginFailureWindowMs: 60_000,
    loginLockoutMs: 60_000,
    loginMaxLockoutMs: 600_000,
  };
  const IP = '10.0.0.9';
  const sessionOf = (result: ReturnType<AdminAuth['login']>): string | undefined =>
    result.ok ? result.session : undefined;

  it('gives a session for the right password or token only', () => {
    const auth = new AdminAuth(options, () => 0);
    expect(auth.login({ username: 'admin', password: 'wrong' }, IP)).toMatchObject({
      ok: false,
      reason: 'wrong-password',
    });
    expect(sessionOf(auth.login({ username: 'other', password: 'secret pass' }, IP))).toBe(
      undefined,
    );
    expect(auth.login({ token: 'nope' }, IP)).toMatchObject({ ok: false, reason: 'wrong-token' });
    const session = sessionOf(auth.login({ username: 'admin', password: 'secret pass' }, IP))!;
    expect(auth.authenticate({ session })).toBe('admin');
    const byToken = sessionOf(auth.login({ token: 'tok' }, IP))!;
    expect(auth.authenticate({ session: byToken })).toBe('token');
    expect(auth.authenticate({ bearer: 'tok' })).toBe('token');
    expect(auth.authenticate({ bearer: 'tok2' })).toBeUndefined();
  });

  it('ends a session after its time to live without a request', () => {
    let now = 0;
    const auth = new AdminAuth(options, () => now);
    const session = sessionOf(auth.login({ username: 'admin', password: 'secret pass' }, IP))!;
    now = 900;
    expect(auth.authenticate({ session })).toBe('admin');
    now = 1800;
    expect(auth.authenticate({ session })).toBe('admin');
    now = 2801;
    expect(auth.authenticate({ session })).toBeUndefined();
  });

  it('refuses everyone when neither password nor token is configured', () => {
    const auth = new AdminAuth({ ...options, password: '', token: '' });
    expect(auth.enabled).toBe(false);
    expect(sessionOf(auth.login({ username: 'admin', password: '' }, IP))).toBeUndefined();
    expect(sessionOf(auth.login({ token: '' }, IP))).toBeUndefined();
    expect(auth.authenticate({ bearer: '' })).toBeUndefined();
  });
});

describe('RecentAssociations', () => {
  const record = (callingAe: string): AssociationRecord => ({
    at: '2026-01-01T00:00:00.000Z',
    callingAe,
    calledAe: 'FSEBRIDGE',
    peerHost: '127.0.0.1',
    instancesStored: 0,
    instancesFailed: 0,
    status: 'released',
  });

  it('keeps the most recent ones, newest first', () => {
    const recent = new RecentAssociations(3);
    for (const ae of ['A', 'B']) recent.add(record(ae));
    expect(recent.list().map((r) => r.callingAe)).toEqual(['B', 'A']);
    for (const ae of ['C', 'D', 'E']) recent.add(record(ae));
    expect(recent.list().map((r) => r.callingAe)).toEqual(['E', 'D', 'C']);
  });

  it('records rejections and closed associations from the SCP hooks', () => {
    const recent = new RecentAssociations(10);
    const observer = recent.observer();
    observer.rejected!({ callingAe: 'X', calledAe: 'Y', address: '::ffff:10.0.0.9', why: 'no' });
    observer.closed!({
      callingAe: 'CT',
      calledAe: 'FSEBRIDGE',
      address: '127.0.0.1',
      startedAt: '',
      instancesStored: 4,
      instancesFailed: 1,
      reason: 'aborted-by-peer',
    });
    expect(recent.list()).toMatchObject([
      { callingAe: 'CT', instancesStored: 4, instancesFailed: 1, status: 'aborted-by-peer' },
      { callingAe: 'X', peerHost: '10.0.0.9', status: 'rejected', detail: 'no' },
    ]);
  });
});

describe('the log', () => {
  it('redacts admin passwords, tokens and request credentials wherever they appear', () => {
    const lines: string[] = [];
    const log = createLogger('info', {
      write: (line: string) => void lines.push(line),
    });
    log.info(
      {
        password: 'pw-1',
        token: 'tok-1',
        admin: { password: 'pw-2', token: 'tok-2' },
        headers: { authorization: 'Bearer tok-3', cookie: 'bridge_admin_session=s-1' },
      },
      'credentials',
    );
    const text = lines.join('');
    for (const secret of ['pw-1', 'pw-2', 'tok-1', 'tok-2', 'tok-3', 's-1'])
      expect(text).not.toContain(secret);
  });
});
