import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, PeerRecord } from '../../../src/admin/ae-config-store.js';
import { disposeBridge, type TestBridge } from '../../helpers/bridge.js';
import {
  ADMIN_PASSWORD,
  ADMIN_TOKEN,
  ADMIN_USER,
  adminCall,
  startAdminBridge,
  storescu,
} from './admin-fixture.js';

/*
 * The admin API against a running bridge and DCMTK storescu as the peer: a peer added through
 * the API may store at once, without a restart, and is refused again once deleted; invalid
 * input gets a 400 naming the field; every admin route needs credentials; changes are audited;
 * the configuration seeds the index once and the index wins afterwards.
 */

const NEW_PEER = 'NEWMODALITY';
let bridge: TestBridge;
let http: number;

beforeAll(async () => {
  bridge = await startAdminBridge({
    dicom: { allowedPeers: [{ aeTitle: 'SEEDED', host: '127.0.0.1' }] },
  });
  http = bridge.app.reporting.httpPort;
});

afterAll(() => disposeBridge(bridge));

describe('allowed peers through the API', () => {
  it('lets a new peer store at once, and refuses it again once deleted', async () => {
    const before = await storescu(bridge.port, NEW_PEER);
    expect(before.code, before.stdout + before.stderr).not.toBe(0);
    expect(bridge.app.index.countInstances()).toBe(0);

    const created = await adminCall<PeerRecord>(http, 'POST', '/admin/api/peers', {
      aeTitle: NEW_PEER,
      host: '127.0.0.1',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ aeTitle: NEW_PEER, host: '127.0.0.1' });

    const accepted = await storescu(bridge.port, NEW_PEER);
    expect(accepted.code, accepted.stdout + accepted.stderr).toBe(0);
    expect(bridge.app.index.countInstances()).toBe(1);

    const list = await adminCall<PeerRecord[]>(http, 'GET', '/admin/api/peers');
    expect(list.body.map((p) => p.aeTitle)).toEqual(['SEEDED', NEW_PEER]);

    const deleted = await adminCall(http, 'DELETE', `/admin/api/peers/${created.body.id}`);
    expect(deleted.status).toBe(204);
    const after = await storescu(bridge.port, NEW_PEER);
    expect(after.code, after.stdout + after.stderr).not.toBe(0);
    expect(after.stdout + after.stderr).toMatch(/Association Rejected|rejected/i);
  });

  it('moves a peer to another host: from loopback it is then refused', async () => {
    const created = await adminCall<PeerRecord>(http, 'POST', '/admin/api/peers', {
      aeTitle: 'MOVINGPEER',
    });
    expect((await storescu(bridge.port, 'MOVINGPEER')).code).toBe(0);
    const moved = await adminCall<PeerRecord>(http, 'PUT', `/admin/api/peers/${created.body.id}`, {
      aeTitle: 'MOVINGPEER',
      host: '10.255.255.1',
    });
    expect(moved.status).toBe(200);
    expect(moved.body.host).toBe('10.255.255.1');
    expect((await storescu(bridge.port, 'MOVINGPEER')).code).not.toBe(0);
  });

  it('refuses a peer twice with 409', async () => {
    const twice = await adminCall(http, 'POST', '/admin/api/peers', {
      aeTitle: 'SEEDED',
      host: '127.0.0.1',
    });
    expect(twice.status).toBe(409);
    expect(twice.body).toMatchObject({ error: 'conflict', field: 'aeTitle' });
  });
});

describe('invalid input', () => {
  const cases: Array<[string, string, unknown, string]> = [
    [
      'peer AE title over 16 characters',
      '/admin/api/peers',
      { aeTitle: 'A'.repeat(17) },
      'aeTitle',
    ],
    ['peer AE title with a backslash', '/admin/api/peers', { aeTitle: 'BAD\\AE' }, 'aeTitle'],
    [
      'peer AE title with a control character',
      '/admin/api/peers',
      { aeTitle: 'BAD\tAE' },
      'aeTitle',
    ],
    ['peer AE title of spaces', '/admin/api/peers', { aeTitle: '    ' }, 'aeTitle'],
    ['peer AE title missing', '/admin/api/peers', { host: '127.0.0.1' }, 'aeTitle'],
    ['peer with an empty host', '/admin/api/peers', { aeTitle: 'OKAE', host: '' }, 'host'],
    ['peer with an unknown field', '/admin/api/peers', { aeTitle: 'OKAE', port: 1 }, 'port'],
    [
      'node with port 70000',
      '/admin/api/nodes',
      { name: 'n1', aeTitle: 'PACS', host: '127.0.0.1', port: 70000 },
      'port',
    ],
    [
      'node with port 0',
      '/admin/api/nodes',
      { name: 'n1', aeTitle: 'PACS', host: '127.0.0.1', port: 0 },
      'port',
    ],
    [
      'node with a port as text',
      '/admin/api/nodes',
      { name: 'n1', aeTitle: 'PACS', host: '127.0.0.1', port: '104' },
      'port',
    ],
    [
      'node with an empty host',
      '/admin/api/nodes',
      { name: 'n1', aeTitle: 'PACS', host: '', port: 104 },
      'host',
    ],
    [
      'node AE title over 16 characters',
      '/admin/api/nodes',
      { name: 'n1', aeTitle: 'PACS_AE_TITLE_TOO_LONG', host: 'pacs', port: 104 },
      'aeTitle',
    ],
    [
      'node moving to an AE title that is not ours',
      '/admin/api/nodes',
      { name: 'n1', aeTitle: 'PACS', host: 'pacs', port: 104, moveDestination: 'NOTUS' },
      'moveDestination',
    ],
    [
      'node with a bad name',
      '/admin/api/nodes',
      { name: 'bad name', aeTitle: 'PACS', host: 'pacs', port: 104 },
      'name',
    ],
  ];
  it.each(cases)('answers 400 naming the field: %s', async (_what, path, body, field) => {
    const answer = await adminCall<{ error: string; message: string; field: string }>(
      http,
      'POST',
      path,
      body,
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('bad-request');
    expect(answer.body.field).toBe(field);
    expect(answer.body.message.startsWith(`${field}: `)).toBe(true);
  });

  it('stores nothing for refused input', async () => {
    const nodes = await adminCall<unknown[]>(http, 'GET', '/admin/api/nodes');
    expect(nodes.body).toEqual([]);
  });

  it('refuses a host name that does not resolve, naming host', async () => {
    const answer = await adminCall<{ field: string }>(http, 'POST', '/admin/api/peers', {
      aeTitle: 'NOWHERE',
      host: 'no-such-host.invalid',
    });
    expect(answer.status).toBe(400);
    expect(answer.body.field).toBe('host');
    const peers = await adminCall<PeerRecord[]>(http, 'GET', '/admin/api/peers');
    expect(peers.body.map((p) => p.aeTitle)).not.toContain('NOWHERE');
  });
});

describe('authentication', () => {
  it('answers 401 without credentials on every admin API route', async () => {
    const spec = await adminCall<{ paths: Record<string, Record<string, unknown>> }>(
      http,
      'GET',
      '/admin/api/openapi.json',
    );
    expect(spec.status).toBe(200);
    const routes = Object.entries(spec.body.paths).flatMap(([path, methods]) =>
      Object.keys(methods)
        .filter((method) => method !== 'parameters')
        .map((method) => [method.toUpperCase(), path.replace('{name}', 'x').replace('{id}', '1')]),
    );
    expect(routes.length).toBeGreaterThan(15);
    for (const [method, path] of routes) {
      if (path === '/admin/api/login') continue;
      const attempts: Array<boolean | Record<string, string>> = [
        false,
        { authorization: 'Bearer wrong-token' },
        { cookie: 'bridge_admin_session=forged' },
      ];
      for (const auth of attempts) {
        const answer = await adminCall(
          http,
          method!,
          path!,
          method === 'GET' ? undefined : {},
          auth,
        );
        expect(answer.status, `${method} ${path}`).toBe(401);
      }
    }
  });

  it('logs in with user name and password to a session cookie, and out again', async () => {
    const refused = await adminCall(
      http,
      'POST',
      '/admin/api/login',
      {
        username: ADMIN_USER,
        password: 'wrong',
      },
      false,
    );
    expect(refused.status).toBe(401);
    const login = await adminCall<{ user: string }>(
      http,
      'POST',
      '/admin/api/login',
      {
        username: ADMIN_USER,
        password: ADMIN_PASSWORD,
      },
      false,
    );
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const session = { cookie: cookie.split(';')[0]! };
    const me = await adminCall<{ user: string }>(
      http,
      'GET',
      '/admin/api/session',
      undefined,
      session,
    );
    expect(me.body.user).toBe(ADMIN_USER);
    expect((await adminCall(http, 'POST', '/admin/api/logout', undefined, session)).status).toBe(
      204,
    );
    expect((await adminCall(http, 'GET', '/admin/api/session', undefined, session)).status).toBe(
      401,
    );
  });

  it('never logs the password or the token', () => {
    const text = JSON.stringify(bridge.logs);
    expect(text).toContain('admin log-in refused');
    expect(text).not.toContain(ADMIN_PASSWORD);
    expect(text).not.toContain(ADMIN_TOKEN);
  });
});

describe('audit', () => {
  it('records who changed what, before and after', async () => {
    const audit = await adminCall<AuditEntry[]>(http, 'GET', '/admin/api/audit');
    const moved = audit.body.find(
      (entry) => entry.action === 'update' && entry.entity === 'allowed-peer',
    );
    expect(moved).toMatchObject({
      actor: 'token',
      before: { aeTitle: 'MOVINGPEER' },
      after: { aeTitle: 'MOVINGPEER', host: '10.255.255.1' },
    });
    const deleted = audit.body.find((entry) => entry.action === 'delete');
    expect(deleted).toMatchObject({ before: { aeTitle: NEW_PEER }, entity: 'allowed-peer' });
    expect(deleted!.after).toBeUndefined();
    const seeded = audit.body.find((entry) => entry.action === 'seed');
    expect(seeded).toMatchObject({ actor: 'config', after: { aeTitle: 'SEEDED' } });
  });
});

describe('the configuration file and the index', () => {
  it('seeds once; afterwards the index wins and entries only in the file are logged', async () => {
    const local = await adminCall<{ aeTitles: string[]; port: number }>(
      http,
      'GET',
      '/admin/api/local-aes',
    );
    expect(local.body).toMatchObject({ aeTitles: ['FSEBRIDGE'], port: bridge.port });
    const added = await adminCall<PeerRecord>(http, 'POST', '/admin/api/peers', {
      aeTitle: 'KEPTPEER',
    });
    expect(added.status).toBe(201);
    const { dataDir } = bridge;
    await bridge.stop();
    bridge = await startAdminBridge(
      {
        dicom: {
          allowedPeers: [{ aeTitle: 'SEEDED', host: '127.0.0.1' }, { aeTitle: 'FILEONLY' }],
        },
      },
      dataDir,
    );
    http = bridge.app.reporting.httpPort;
    const peers = await adminCall<PeerRecord[]>(http, 'GET', '/admin/api/peers');
    expect(peers.body.map((p) => p.aeTitle)).toContain('KEPTPEER');
    expect(peers.body.map((p) => p.aeTitle)).not.toContain('FILEONLY');
    const line = bridge.logs.find((l) =>
      String(l.msg).startsWith('allowed peer only in the configuration file'),
    );
    expect(line).toMatchObject({ aeTitle: 'FILEONLY', level: 'warn' });
    expect((await storescu(bridge.port, 'KEPTPEER')).code).toBe(0);
    expect((await storescu(bridge.port, 'FILEONLY')).code).not.toBe(0);
  });
});
