import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';

/*
 * Slow and too many HTTP clients, on the HTTP API listener and on a separate admin listener,
 * over raw sockets: a request whose headers or body come in too slowly gets 408 and the
 * connection is closed; connections beyond the listener's cap are closed as they arrive, and
 * a new one is served again once one of the others has closed.
 */

/** Small timeouts so that a slow client is cut off within a few of the test's drips. */
const TIMEOUT_MS = 1000;
const HTTP_CAP = 3;
const ADMIN_CAP = 2;
/** A byte is sent every DRIP_MS; a client still connected after MAX_DRIPS was never cut off. */
const DRIP_MS = 50;
const MAX_DRIPS = 400;

let bridge: TestBridge;
let httpPort: number;
let adminPort: number;

beforeAll(async () => {
  bridge = await startBridge({
    http: {
      headersTimeoutMs: TIMEOUT_MS,
      requestTimeoutMs: TIMEOUT_MS,
      // Idle keep-alive connections hold their place under the cap for the whole test.
      keepAliveTimeoutMs: 60_000,
      maxConnections: HTTP_CAP,
    },
    admin: { host: '127.0.0.1', port: 0, maxConnections: ADMIN_CAP },
  });
  httpPort = bridge.app.reporting.httpPort;
  adminPort = bridge.app.adminPort!;
});

afterAll(async () => {
  await disposeBridge(bridge);
});

/** A raw HTTP client: what it received so far, and whether the server closed it. */
class RawHttp {
  received = '';
  isClosed = false;
  readonly closed: Promise<void>;
  #waiters: Array<() => void> = [];

  private constructor(readonly socket: Socket) {
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.toString('latin1');
      this.#wake();
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.#wake();
        resolve();
      }),
    );
  }

  static open(port: number): Promise<RawHttp> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawHttp(socket));
      });
    });
  }

  /** Resolves once a whole answer has arrived (or the connection closed), with its status. */
  async answer(): Promise<number | undefined> {
    while (!this.isClosed && !/\r\n\r\n/.test(this.received))
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    const status = /^HTTP\/1\.1 (\d{3})/.exec(this.received);
    return status ? Number(status[1]) : undefined;
  }

  /** GET /healthz on a kept-alive connection; its status, undefined when closed unanswered. */
  async healthz(): Promise<number | undefined> {
    this.received = '';
    this.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    return this.answer();
  }

  /**
   * Send `data` one byte every DRIP_MS until the server closes the connection; the number of
   * bytes sent by then (MAX_DRIPS when it never did).
   */
  async drip(data: string): Promise<number> {
    let sent = 0;
    while (!this.isClosed && sent < Math.min(MAX_DRIPS, data.length)) {
      this.socket.write(data[sent]!);
      sent++;
      await Promise.race([this.closed, delay(DRIP_MS)]);
    }
    return sent;
  }

  #wake(): void {
    for (const wake = this.#waiters.splice(0); wake.length > 0;) wake.shift()!();
  }
}

const LOGIN_HEAD =
  'POST /admin/api/login HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
  'Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n';
const REPORT_HEAD =
  'POST /api/reports HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
  'Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n';

describe('a client sending its request slowly', () => {
  it.each([
    ['the admin listener', () => adminPort, LOGIN_HEAD],
    ['the HTTP API listener', () => httpPort, REPORT_HEAD],
  ])('gets 408 and is disconnected on %s when the body is slow', async (_name, port, head) => {
    const client = await RawHttp.open(port());
    client.socket.write(head);
    const sent = await client.drip(`{"username":"${'x'.repeat(3980)}`);
    expect(client.isClosed, `still connected after ${sent} bytes of the body`).toBe(true);
    expect(sent).toBeLessThan(MAX_DRIPS);
    expect(await client.answer()).toBe(408);
  });

  it.each([
    ['the admin listener', () => adminPort],
    ['the HTTP API listener', () => httpPort],
  ])('gets 408 and is disconnected on %s when the headers are slow', async (_name, port) => {
    const client = await RawHttp.open(port());
    const sent = await client.drip(
      `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'y'.repeat(1000)}\r\n\r\n`,
    );
    expect(client.isClosed, `still connected after ${sent} bytes of the headers`).toBe(true);
    expect(sent).toBeLessThan(MAX_DRIPS);
    expect(await client.answer()).toBe(408);
  });
});

describe('connections beyond the cap', () => {
  it.each([
    ['the HTTP API listener', () => httpPort, HTTP_CAP, 'http'],
    ['the admin listener', () => adminPort, ADMIN_CAP, 'admin-http'],
  ])(
    'are closed on %s; one is served again once another closes',
    async (_n, port, cap, component) => {
      const open: RawHttp[] = [];
      try {
        for (let i = 0; i < cap; i++) {
          const client = await RawHttp.open(port());
          open.push(client);
          expect(await client.healthz()).toBe(200);
        }
        const refused = await RawHttp.open(port());
        open.push(refused);
        expect(await refused.healthz()).toBeUndefined();
        await refused.closed;
        expect(refused.received).toBe('');
        expect(
          bridge.logs.find(
            (line) =>
              line.msg === 'HTTP connections refused: the listener has maxConnections open' &&
              line.component === component,
          )?.maxConnections,
        ).toBe(cap);

        // The ones under the cap are still served.
        expect(await open[1]!.healthz()).toBe(200);

        const first = open[0]!;
        first.socket.end();
        await first.closed;
        const next = await RawHttp.open(port());
        open.push(next);
        expect(await next.healthz()).toBe(200);
      } finally {
        for (const client of open) client.socket.destroy();
      }
    },
  );
});
