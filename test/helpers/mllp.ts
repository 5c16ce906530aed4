import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { MllpServer, type Hl7Handler, type MllpServerOptions } from '../../src/hl7/mllp-server.js';
import { createReportHandler } from '../../src/hl7/report-listener.js';
import type { ReportEvent } from '../../src/hl7/report-message.js';
import { REDACTED_PATHS } from '../../src/logger.js';
import { FACILITY } from './hl7-messages.js';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface TestListener {
  server: MllpServer;
  port: number;
  /** Report events the sink took in charge, in order. */
  events: ReportEvent[];
  /** Every log line, parsed; nothing goes to the console. */
  logs: LogLine[];
  logText(): string;
}

export interface ListenerOptions extends Partial<MllpServerOptions> {
  /** Replaces the report handler. */
  handler?: Hl7Handler;
  /** Called for each report event before it is recorded (to fail or delay it). */
  sink?: (event: ReportEvent) => Promise<void>;
}

/** An MLLP listener on 127.0.0.1, port 0, reading reports of the test facility. */
export async function startListener(options: ListenerOptions = {}): Promise<TestListener> {
  const logs: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n'))
        if (line.trim() !== '') logs.push(JSON.parse(line) as LogLine);
      callback();
    },
  });
  const log = pino(
    { level: 'debug', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    destination,
  );
  const events: ReportEvent[] = [];
  const handler =
    options.handler ??
    createReportHandler(
      [FACILITY],
      async (event) => {
        await options.sink?.(event);
        events.push(event);
      },
      log.child({ component: 'reports' }),
    );
  const server = new MllpServer(
    {
      host: '127.0.0.1',
      port: 0,
      maxMessageBytes: 64 * 1024,
      maxConnections: 16,
      maxConnectionsPerAddress: 64,
      idleTimeoutMs: 10_000,
      firstMessageTimeoutMs: 10_000,
      maxFramesPerRead: 1000,
      maxFramesPerConnection: 100_000,
      application: 'FSEBRIDGE',
      facility: 'ASR',
      ...options,
    },
    handler,
    log.child({ component: 'hl7' }),
  );
  const port = await server.listen();
  return { server, port, events, logs, logText: () => JSON.stringify(logs) };
}

/** A raw TCP peer that reads MLLP frames on its own, independently of the code under test. */
export class RawPeer {
  readonly socket: Socket;
  /** Resolves when the socket is closed (by either side), with the time it happened. */
  readonly closed: Promise<number>;
  /** ACK frames read so far, whether taken with `nextFrame` or not. */
  framesReceived = 0;
  #buffer = Buffer.alloc(0);
  #frames: Buffer[] = [];
  #waiters: ((frame: Buffer) => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve(Date.now())));
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      for (;;) {
        const start = this.#buffer.indexOf(0x0b);
        const end = this.#buffer.indexOf(Buffer.of(0x1c, 0x0d));
        if (start < 0 || end < start) break;
        const frame = this.#buffer.subarray(start + 1, end);
        this.#buffer = this.#buffer.subarray(end + 2);
        this.framesReceived++;
        const waiter = this.#waiters.shift();
        if (waiter) waiter(frame);
        else this.#frames.push(frame);
      }
    });
  }

  /** Connect to 127.0.0.1, from `localAddress` (any 127.x.y.z on Linux) when given. */
  static connect(port: number, localAddress?: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: '127.0.0.1',
        port,
        noDelay: true,
        ...(localAddress ? { localAddress } : {}),
      });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawPeer(socket));
      });
    });
  }

  write(bytes: Uint8Array | string): void {
    this.socket.write(bytes);
  }

  /** Send a message in an MLLP frame. */
  send(message: Uint8Array | string): void {
    const payload = typeof message === 'string' ? Buffer.from(message) : message;
    this.socket.write(Buffer.concat([Buffer.of(0x0b), payload, Buffer.of(0x1c, 0x0d)]));
  }

  /** The next ACK frame, as Latin-1 text; rejects after `timeoutMs` or when the socket closes. */
  nextFrame(timeoutMs = 5000): Promise<string> {
    const ready = this.#frames.shift();
    if (ready) return Promise.resolve(ready.toString('latin1'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ACK in time')), timeoutMs);
      void this.closed.then(() => {
        clearTimeout(timer);
        reject(new Error('connection closed without an ACK'));
      });
      this.#waiters.push((frame) => {
        clearTimeout(timer);
        resolve(frame.toString('latin1'));
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** MSA-1, MSA-2 and ERR-8 (or MSA-3) of an ACK. */
export function ackOf(ack: string): { code: string; controlId: string; reason: string } {
  const segments = ack.split('\r');
  const msa = segments.find((s) => s.startsWith('MSA|'))?.split('|') ?? [];
  const err = segments.find((s) => s.startsWith('ERR|'))?.split('|') ?? [];
  return { code: msa[1] ?? '', controlId: msa[2] ?? '', reason: err[8] ?? msa[3] ?? '' };
}

/** A small deterministic generator (LCG), so that a failing fuzz case can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Random bytes in which MLLP's start block, end block and CR are frequent. */
export function noise(next: () => number, size: number, framingRate = 0.01): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) {
    const roll = next();
    if (roll < framingRate) bytes[i] = 0x0b;
    else if (roll < 2 * framingRate) bytes[i] = 0x1c;
    else if (roll < 3 * framingRate) bytes[i] = 0x0d;
    else bytes[i] = Math.floor(next() * 256);
  }
  return bytes;
}

/** A sink that holds every report until released; `entered` resolves when the first arrives. */
export function gate(): {
  sink: (event: ReportEvent) => Promise<void>;
  entered: Promise<void>;
  release: () => void;
} {
  let enter: () => void = () => undefined;
  let open: () => void = () => undefined;
  const entered = new Promise<void>((resolve) => (enter = resolve));
  const opened = new Promise<void>((resolve) => (open = resolve));
  return {
    sink: () => {
      enter();
      return opened;
    },
    entered,
    release: () => open(),
  };
}
