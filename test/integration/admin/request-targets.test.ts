import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeerRecord } from '../../../src/admin/ae-config-store.js';
import { disposeBridge, type TestBridge } from '../../helpers/bridge.js';
import { adminCall, startAdminBridge } from './admin-fixture.js';

/*
 * Credentials are required by the route a request reaches, whatever form its target takes.
 * Node's HTTP parser and Fastify's router take the absolute form (`http://host/path`, which
 * proxies send) and percent-encoded paths to the same routes as the plain path; a check on the
 * raw target let both through to the admin API and the token-protected /api routes.
 */

const API_TOKEN = 'api-token-8d2c41f0';
let bridge: TestBridge;
let port: number;

beforeAll(async () => {
  bridge = await startAdminBridge({ http: { apiToken: API_TOKEN } });
  port = bridge.app.reporting.httpPort;
});
afterAll(() => disposeBridge(bridge));

/** One request with `target` written as is in its request line; the status code. */
function rawStatus(method: string, target: string, body = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.write(
        `${method} ${target} HTTP/1.1\r\nHost: bridge\r\nConnection: close\r\n` +
          (body
            ? `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`
            : '') +
          `\r\n${body}`,
      ),
    );
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? -1)));
  });
}

const FORMS = (path: string): string[] => [
  path,
  `http://bridge${path}`,
  path.replace('/admin/', '/%61dmin/').replace('/api/', '/%61pi/'),
  path.replace('/api/', '/ap%69/'),
];

describe('request targets', () => {
  it('reach the same admin routes in every form, and none without credentials', async () => {
    for (const target of FORMS('/admin/api/peers')) {
      expect(await rawStatus('GET', target), `GET ${target}`).toBe(401);
      expect(
        await rawStatus('POST', target, JSON.stringify({ aeTitle: 'INTRUDER' })),
        `POST ${target}`,
      ).toBe(401);
    }
    const peers = await adminCall<PeerRecord[]>(port, 'GET', '/admin/api/peers');
    expect(peers.status).toBe(200);
    expect(peers.body.map((peer) => peer.aeTitle)).not.toContain('INTRUDER');
  });

  it('reach the same /api routes in every form, and none without the token', async () => {
    for (const target of FORMS('/api/reports?accessionNumber=1')) {
      expect(await rawStatus('GET', target), `GET ${target}`).toBe(401);
    }
    const answered = await fetch(`http://127.0.0.1:${port}/api/reports?accessionNumber=1`, {
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    expect(answered.status).toBe(200);
  });

  it('answers an unknown route 404 without reading its body, and a log-in body over 4 KB 413', async () => {
    // Malformed JSON: parsing it would answer 400, so a 404 shows it was never read.
    expect(await rawStatus('POST', '/no/such/route', '{"nested": [[[[')).toBe(404);
    expect(await rawStatus('POST', '/admin/api/login', '{"nested": [[[[')).toBe(400);
    const long = JSON.stringify({ username: 'x'.repeat(5000), password: 'y' });
    expect(await rawStatus('POST', '/admin/api/login', long)).toBe(413);
  });
});
