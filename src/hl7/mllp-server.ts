import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { type AckDecision, type AckSource, buildAck, decisionFromError } from './ack.js';
import { encodeText } from './encoding.js';
import { Hl7Error, Hl7ErrorCode } from './errors.js';
import { type Hl7Message, hdText, parseHl7, readHeader } from './message.js';
import { MllpDecoder, frame } from './mllp-framing.js';

export interface MllpServerOptions {
  /** Address to bind; `0.0.0.0` or `::` for all interfaces. */
  host: string;
  /** Port; 0 picks a free one (see `listen`). */
  port: number;
  /** Largest message (bytes between the start and the end block) answered AA/AE. */
  maxMessageBytes: number;
  /** Open connections at most; more are closed at once. */
  maxConnections: number;
  /** A connection silent this long, with no message being processed, is closed. */
  idleTimeoutMs: number;
  /** MSH-3/MSH-4 of our ACKs when the sender left MSH-5/MSH-6 empty. */
  application?: string;
  facility?: string;
}

/** A message as it arrived, with who sent it. */
export interface ReceivedMessage {
  bytes: Buffer;
  /** `address:port` of the peer. */
  peer: string;
  connectionId: number;
}

/**
 * Decides the answer to a parsed message. `message.header` carries what idempotency needs:
 * sendingApplication (MSH-3), sendingFacility (MSH-4), controlId (MSH-10). A thrown `Hl7Error`
 * is answered with its AE/AR; any other throw with AR 207.
 */
export type Hl7Handler = (message: Hl7Message, received: ReceivedMessage) => Promise<AckDecision>;

interface Connection {
  id: number;
  socket: Socket;
  peer: string;
  log: Logger;
  decoder: MllpDecoder;
  /** Frames answered in the order they came. */
  queue: Promise<void>;
  pending: number;
  /** Non-whitespace bytes dropped outside frames since the last frame. */
  garbage: number;
  idle: NodeJS.Timeout | undefined;
}

/** Frames queued on one connection before it stops reading (back-pressure). */
const MAX_QUEUED_FRAMES = 8;
/** Past this multiple of the size limit, a frame is not worth reading to its end. */
const OVERSIZE_ABORT_FACTOR = 8;

function checkInteger(name: string, value: unknown, min: number, max: number): void {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max)
    throw new TypeError(
      `MLLP option ${name} must be an integer from ${min} to ${max}: value was ${JSON.stringify(value)}`,
    );
}

/**
 * An HL7 v2 listener over MLLP on a TCP port: frames messages, parses them, asks the handler
 * how to answer and writes the ACK. Malformed input is answered AR/AE or, when not even the
 * MSH of an oversized frame is readable, the connection is closed; no input stops the server.
 */
export class MllpServer {
  readonly #options: MllpServerOptions;
  readonly #handler: Hl7Handler;
  readonly #log: Logger;
  readonly #server: Server;
  readonly #connections = new Set<Connection>();
  #closing: Promise<void> | undefined;
  #nextId = 1;

  constructor(options: MllpServerOptions, handler: Hl7Handler, log: Logger) {
    checkInteger('port', options.port, 0, 65535);
    checkInteger('maxMessageBytes', options.maxMessageBytes, 64, 1024 * 1024 * 1024);
    checkInteger('maxConnections', options.maxConnections, 1, 100_000);
    checkInteger('idleTimeoutMs', options.idleTimeoutMs, 1, 2_147_483_647);
    if (typeof options.host !== 'string' || options.host === '')
      throw new TypeError(
        `MLLP option host must be an address: value was ${JSON.stringify(options.host)}`,
      );
    this.#options = options;
    this.#handler = handler;
    this.#log = log;
    this.#server = createServer({ noDelay: true }, (socket) => this.#onConnection(socket));
    this.#server.on('error', (error) => this.#log.error({ err: error }, 'HL7 listener error'));
  }

  /** True while the port accepts connections. */
  get listening(): boolean {
    return this.#server.listening;
  }

  /** Start listening; resolves with the bound port (useful with port 0). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#options.port, this.#options.host, () => {
        this.#server.off('error', reject);
        const address = this.#server.address();
        const port = typeof address === 'object' && address ? address.port : this.#options.port;
        this.#log.info({ host: this.#options.host, port }, 'HL7 MLLP listener listening');
        resolve(port);
      });
    });
  }

  /** Connections open now. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /**
   * Stop accepting connections and frames, let the messages already received be answered for
   * up to `drainMs`, then close every connection. Resolves once the handlers have returned.
   * Calling it twice returns the same promise.
   */
  close(drainMs: number): Promise<void> {
    this.#closing ??= this.#close(drainMs);
    return this.#closing;
  }

  async #close(drainMs: number): Promise<void> {
    const stopped = new Promise<void>((resolve) => {
      if (!this.#server.listening) resolve();
      else this.#server.close(() => resolve());
    });
    for (const connection of this.#connections) if (connection.pending === 0) this.#end(connection);
    const queues = (): Promise<unknown> =>
      Promise.all([...this.#connections].map((connection) => connection.queue));
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      queues().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), drainMs))),
    ]);
    clearTimeout(timer);
    if (!drained)
      this.#log.warn(
        { connections: this.#connections.size },
        'HL7 shutdown timeout: closing connections with messages still in progress',
      );
    for (const connection of this.#connections) this.#end(connection);
    await queues();
    await stopped;
    this.#log.info('HL7 MLLP listener closed');
  }

  /** Flush what was written, then close; destroy if the peer does not let go. */
  #end(connection: Connection): void {
    clearTimeout(connection.idle);
    if (connection.socket.destroyed) return;
    connection.socket.end();
    setTimeout(() => connection.socket.destroy(), 500).unref();
  }

  #onConnection(socket: Socket): void {
    const id = this.#nextId++;
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const log = this.#log.child({ connection: id, peer });
    socket.on('error', (error) => log.debug({ err: error }, 'HL7 connection error'));
    if (this.#closing) {
      log.info('HL7 connection refused: shutting down');
      socket.destroy();
      return;
    }
    if (this.#connections.size >= this.#options.maxConnections) {
      log.warn(
        { open: this.#connections.size, max: this.#options.maxConnections },
        'HL7 connection refused: too many open connections',
      );
      socket.destroy();
      return;
    }
    socket.setKeepAlive(true, 60_000);
    const connection: Connection = {
      id,
      socket,
      peer,
      log,
      decoder: new MllpDecoder(this.#options.maxMessageBytes),
      queue: Promise.resolve(),
      pending: 0,
      garbage: 0,
      idle: undefined,
    };
    this.#connections.add(connection);
    log.debug('HL7 connection opened');
    socket.on('data', (chunk: Buffer) => this.#onData(connection, chunk));
    socket.once('close', () => {
      clearTimeout(connection.idle);
      this.#connections.delete(connection);
      const unfinished = connection.decoder.inFrame ? connection.decoder.frameSize : 0;
      if (connection.garbage > 0 || unfinished > 0)
        log.warn(
          { garbageBytes: connection.garbage, unfinishedFrameBytes: unfinished },
          'HL7 connection closed with bytes that were not a whole message',
        );
      else log.debug('HL7 connection closed');
    });
    this.#armIdle(connection);
  }

  #armIdle(connection: Connection): void {
    clearTimeout(connection.idle);
    connection.idle = undefined;
    if (connection.pending > 0 || connection.socket.destroyed) return;
    connection.idle = setTimeout(() => {
      connection.log.info(
        { idleTimeoutMs: this.#options.idleTimeoutMs, inFrame: connection.decoder.inFrame },
        'HL7 connection idle: closing it',
      );
      connection.socket.destroy();
    }, this.#options.idleTimeoutMs);
  }

  #onData(connection: Connection, chunk: Buffer): void {
    const { decoder, log } = connection;
    for (const event of decoder.push(chunk)) {
      switch (event.type) {
        case 'garbage':
          connection.garbage += event.size;
          break;
        case 'restarted':
          log.warn({ droppedBytes: event.dropped }, 'HL7 frame restarted before its end: dropped');
          break;
        case 'message':
        case 'oversized':
          if (connection.garbage > 0) {
            log.warn({ garbageBytes: connection.garbage }, 'HL7 bytes outside a frame dropped');
            connection.garbage = 0;
          }
          if (this.#closing) {
            log.debug('HL7 frame received while shutting down: not answered');
            break;
          }
          this.#enqueue(connection, () =>
            event.type === 'message'
              ? this.#answerMessage(connection, event.bytes)
              : this.#answerOversized(connection, event.head, event.size),
          );
      }
    }
    // A peer streaming one endless frame, or only garbage, is cut off: memory is bounded
    // either way, but the connection would otherwise never go idle.
    const limit = this.#options.maxMessageBytes * OVERSIZE_ABORT_FACTOR;
    if (decoder.frameSize > limit || connection.garbage > limit) {
      log.warn(
        { frameBytes: decoder.frameSize, garbageBytes: connection.garbage },
        'HL7 connection closed: too many bytes without a frame end',
      );
      connection.socket.destroy();
      return;
    }
    this.#armIdle(connection);
  }

  #enqueue(connection: Connection, work: () => Promise<void>): void {
    connection.pending++;
    clearTimeout(connection.idle);
    if (connection.pending >= MAX_QUEUED_FRAMES) connection.socket.pause();
    connection.queue = connection.queue
      .then(work)
      .catch((error: unknown) => {
        // Never expected (answers catch their errors); kept so that one cannot stop the queue.
        connection.log.error({ err: error }, 'HL7 answer failed');
      })
      .finally(() => {
        connection.pending--;
        if (connection.pending < MAX_QUEUED_FRAMES && connection.socket.isPaused())
          connection.socket.resume();
        this.#armIdle(connection);
      });
  }

  async #answerMessage(connection: Connection, bytes: Buffer): Promise<void> {
    let message: Hl7Message;
    try {
      message = parseHl7(bytes);
    } catch (error) {
      const head = readHeader(bytes);
      this.#reply(connection, head ?? {}, decisionFromError(error), { size: bytes.length });
      return;
    }
    let decision: AckDecision;
    try {
      decision = await this.#handler(message, {
        bytes,
        peer: connection.peer,
        connectionId: connection.id,
      });
    } catch (error) {
      if (!(error instanceof Hl7Error))
        connection.log.error(
          { err: error, controlId: message.header.controlId },
          'HL7 handler failed',
        );
      decision = decisionFromError(error);
    }
    this.#reply(connection, message, decision, { size: bytes.length });
  }

  async #answerOversized(connection: Connection, head: Buffer, size: number): Promise<void> {
    const header = readHeader(head);
    if (!header) {
      connection.log.warn(
        { size, maxMessageBytes: this.#options.maxMessageBytes },
        'HL7 message too large and without a readable MSH: closing the connection',
      );
      this.#end(connection);
      return;
    }
    const decision: AckDecision = {
      code: 'AR',
      reason: `message of ${size} bytes exceeds the limit of ${this.#options.maxMessageBytes} bytes`,
      errorCode: Hl7ErrorCode.ApplicationInternalError,
    };
    this.#reply(connection, header, decision, { size });
  }

  #reply(connection: Connection, source: AckSource, decision: AckDecision, extra: object): void {
    const msh = source.msh;
    const summary = {
      ...extra,
      sendingApplication: msh ? hdText(msh.field(3)) : undefined,
      sendingFacility: msh ? hdText(msh.field(4)) : undefined,
      messageType: msh ? `${msh.field(9).component(1)}^${msh.field(9).component(2)}` : undefined,
      controlId: msh?.field(10).value,
      ack: decision.code,
      reason: decision.reason,
    };
    if (decision.code === 'AA') connection.log.info(summary, 'HL7 message accepted');
    else connection.log.warn(summary, 'HL7 message refused');
    const ack = buildAck(source, decision, {
      application: this.#options.application,
      facility: this.#options.facility,
    });
    const { socket } = connection;
    if (socket.destroyed || !socket.writable) {
      connection.log.warn({ controlId: summary.controlId }, 'HL7 connection gone before the ACK');
      return;
    }
    socket.write(frame(encodeText(ack, source.charset ?? 'utf-8')));
  }
}
