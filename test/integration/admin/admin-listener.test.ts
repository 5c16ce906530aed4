import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeBridge, type TestBridge } from '../../helpers/bridge.js';
import { adminCall, startAdminBridge } from './admin-fixture.js';

/*
 * admin.port set: the admin page and API move to a listener of their own (admin.host), and are
 * gone from the HTTP API listener, which keeps /metrics, /readyz and /healthz.
 */

let bridge: TestBridge;
let adminPort: number;
let httpPort: number;

beforeAll(async () => {
  bridge = await startAdminBridge({ admin: { host: '127.0.0.1', port: 0 } });
  adminPort = bridge.app.adminPort!;
  httpPort = bridge.app.reporting.httpPort;
});

afterAll(() => disposeBridge(bridge));

describe('a separate admin listener', () => {
  it('serves the admin API and page on admin.port only', async () => {
    expect(adminPort).toBeGreaterThan(0);
    expect(adminPort).not.toBe(httpPort);
    expect((await adminCall(adminPort, 'GET', '/admin/api/nodes', undefined, false)).status).toBe(
      401,
    );
    expect((await adminCall(adminPort, 'GET', '/admin/api/nodes')).status).toBe(200);
    const page = await fetch(`http://127.0.0.1:${adminPort}/admin/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<main id="main">');
    expect((await adminCall(httpPort, 'GET', '/admin/api/nodes')).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${httpPort}/admin/`)).status).toBe(404);
  });

  it('keeps metrics and readiness on the HTTP API listener', async () => {
    expect((await fetch(`http://127.0.0.1:${httpPort}/metrics`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status).toBe(200);
  });

  it('closes the admin listener when the bridge stops', async () => {
    await bridge.stop();
    await expect(fetch(`http://127.0.0.1:${adminPort}/admin/`)).rejects.toThrow();
  });
});
