import {
  createConnection,
  createServer,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net';

/**
 * What the proxy does with connections:
 * - `forward`: passes bytes both ways, as if it were not there;
 * - `refuse`: not listening, so connections are refused (a server killed with kill -9);
 * - `error`: reads each HTTP request to its end and answers an S3 error (503 SlowDown);
 * - `stall`: accepts and reads, never answers (a server stopped with SIGSTOP: the kernel
 *   still accepts connections into its backlog);
 * - `cut`: resets the connection as the first bytes of a request arrive;
 * - `withhold`: forwards requests to the server, which carries them out, and drops its
 *   answers (a PUT that lands while its acknowledgement is lost).
 */
export type ProxyMode = 'forward' | 'refuse' | 'error' | 'stall' | 'cut' | 'withhold';

const S3_ERROR_BODY =
  '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>' +
  '<Message>Please reduce your request rate.</Message></Error>';

/**
 * A TCP proxy on loopback (port 0) in front of a server, which a test can make refuse, fail,
 * stall or cut connections, to take a shared server (the Ceph gateway other test files use)
 * out of service for one client only. Changing the mode drops every open connection, so kept
 * alive ones take the new mode too.
 */
export class TcpProxy {
  readonly port: number;
  /** Requests that reached the proxy in a mode other than `forward` (a count to wait on). */
  intercepted = 0;
  #server: Server;
  #target: { host: string; port: number };
  #mode: ProxyMode = 'forward';
  #sockets = new Set<Socket>();

  private constructor(server: Server, target: { host: string; port: number }) {
    this.#server = server;
    this.#target = target;
    this.port = (server.address() as AddressInfo).port;
  }

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const proxy = new TcpProxy(server, target);
    server.on('connection', (socket) => proxy.#accept(socket));
    return proxy;
  }

  get mode(): ProxyMode {
    return this.#mode;
  }

  /** Switch to `mode`, dropping the connections open now. */
  async setMode(mode: ProxyMode): Promise<void> {
    const wasListening = this.#mode !== 'refuse';
    this.#mode = mode;
    this.#dropAll();
    if (mode === 'refuse' && wasListening) {
      await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    } else if (mode !== 'refuse' && !wasListening) {
      await new Promise<void>((resolve, reject) => {
        this.#server.once('error', reject);
        this.#server.listen(this.port, '127.0.0.1', () => {
          this.#server.off('error', reject);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    this.#dropAll();
    if (this.#mode === 'refuse') return;
    this.#mode = 'refuse';
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #dropAll(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => this.#sockets.delete(socket));
  }

  #accept(client: Socket): void {
    this.#track(client);
    const mode = this.#mode;
    if (mode !== 'forward') {
      client.once('data', () => this.intercepted++);
    }
    if (mode === 'stall') {
      client.resume();
      return;
    }
    if (mode === 'cut') {
      client.once('data', () => client.resetAndDestroy());
      return;
    }
    if (mode === 'error') {
      answerWithS3Error(client);
      return;
    }
    const upstream = createConnection(this.#target);
    this.#track(upstream);
    client.pipe(upstream);
    if (mode === 'withhold') upstream.resume();
    else upstream.pipe(client);
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  }
}

/** Read each HTTP/1.1 request (headers and Content-Length body) and answer 503 SlowDown. */
function answerWithS3Error(client: Socket): void {
  let pending = Buffer.alloc(0);
  let bodyLeft: number | undefined;
  client.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      if (bodyLeft === undefined) {
        const end = pending.indexOf('\r\n\r\n');
        if (end === -1) return;
        const headers = pending.toString('latin1', 0, end);
        bodyLeft = Number(/^content-length:\s*(\d+)/im.exec(headers)?.[1] ?? 0);
        pending = pending.subarray(end + 4);
      }
      if (pending.length < bodyLeft) return;
      pending = pending.subarray(bodyLeft);
      bodyLeft = undefined;
      client.write(
        'HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n' +
          `Content-Length: ${Buffer.byteLength(S3_ERROR_BODY)}\r\n\r\n${S3_ERROR_BODY}`,
      );
    }
  });
}
