import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { type Hl7Handler, MllpAnswerer } from './mllp-answer.js';
import { ConnectionTable } from './mllp-connections.js';
import { type MllpEvent, MllpDecoder } from './mllp-framing.js';
import { type MllpServerOptions, checkMllpOptions } from './mllp-options.js';
import { WarningBudget } from './mllp-warnings.js';

export type { Hl7Handler, ReceivedMessage } from './mllp-answer.js';
export type { MllpServerOptions } from './mllp-options.js';

interface Connection {
  id: number;
  socket: Socket;
  peer: string;
  address: string;
  log: Logger;
  warnings: WarningBudget;
  decoder: MllpDecoder;
  /** Frames answered in the order they came. */
  queue: Promise<void>;
  pending: number;
  /** Non-whitespace bytes dropped outside frames since the last frame. */
  garbage: number;
  idle: NodeJS.Timeout | undefined;
  /** Closes the connection if no readable message has come by then. */
  firstMessage: NodeJS.Timeout | undefined;
  /** When it was last active, as an order (see `ConnectionTable`). */
  lastActivity: number;
  /** A read is being split into frames; the socket is paused until it is done. */
  reading: boolean;
  /** The next slice of the read is due (setImmediate). */
  scheduled: boolean;
  framesInRead: number;
  frames: number;
  /** A limit was exceeded: no more frames are taken, the connection closes once answered. */
  stopped: boolean;
}

/**
 * Frames waiting for their answer on one connection before it stops taking more from the read
 * (back-pressure). The answers are a chain of promises, and each error created while answering
 * one (an unreadable frame) makes V8 walk the part of the chain still pending for its async
 * stack trace: were every frame of a read queued at once, a read of n frames would cost n².
 */
const MAX_QUEUED_FRAMES = 8;
/**
 * Decoder events handled at most before the event loop gets a turn: a read holding thousands
 * of frames is split in slices, so that other connections and the DICOM side are served
 * between them.
 */
const EVENTS_PER_SLICE = 64;
/** Past this multiple of the size limit, a frame is not worth reading to its end. */
const OVERSIZE_ABORT_FACTOR = 8;

/**
 * An HL7 v2 listener over MLLP on a TCP port: frames messages, parses them, asks the handler
 * how to answer and writes the ACK. Malformed input is answered AR/AE or, when not even the
 * MSH of an oversized frame is readable, the connection is closed; no input stops the server.
 * A read holding many frames is handled in slices that let the event loop turn between them.
 */
export class MllpServer {
  readonly #options: MllpServerOptions;
  readonly #answer: MllpAnswerer<Connection>;
  readonly #log: Logger;
  readonly #server: Server;
  readonly #connections: ConnectionTable<Connection>;
  #closing: Promise<void> | undefined;
  #nextId = 1;
  #activity = 0;

  constructor(options: MllpServerOptions, handler: Hl7Handler, log: Logger) {
    checkMllpOptions(options);
    this.#options = options;
    this.#answer = new MllpAnswerer(options, handler, {
      readable: (connection) => clearTimeout(connection.firstMessage),
      end: (connection) => this.#end(connection),
    });
    this.#log = log;
    this.#connections = new ConnectionTable(
      options.maxConnections,
      options.maxConnectionsPerAddress,
      (connection) =>
        connection.pending === 0 && !connection.reading && !connection.decoder.inFrame,
    );
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
    clearTimeout(connection.firstMessage);
    if (connection.socket.destroyed) return;
    connection.socket.end();
    setTimeout(() => connection.socket.destroy(), 500).unref();
  }

  #onConnection(socket: Socket): void {
    const id = this.#nextId++;
    const address = socket.remoteAddress ?? '';
    const peer = `${address}:${socket.remotePort}`;
    const log = this.#log.child({ connection: id, peer });
    socket.on('error', (error) => log.debug({ err: error }, 'HL7 connection error'));
    if (this.#closing) {
      log.info('HL7 connection refused: shutting down');
      socket.destroy();
      return;
    }
    const admission = this.#connections.admit(address);
    if (!admission.admitted) {
      if (admission.reason === 'address')
        log.warn(
          {
            open: this.#connections.countFrom(address),
            max: this.#options.maxConnectionsPerAddress,
          },
          'HL7 connection refused: too many open connections from this address',
        );
      else
        log.warn(
          { open: this.#connections.size, max: this.#options.maxConnections },
          'HL7 connection refused: too many open connections',
        );
      socket.destroy();
      return;
    }
    if (admission.replaces) {
      const idle = admission.replaces;
      idle.log.info(
        { max: this.#options.maxConnections, newConnection: id },
        'HL7 connection closed: idle the longest, to make room for a new connection',
      );
      this.#connections.delete(idle);
      this.#end(idle);
    }
    socket.setKeepAlive(true, 60_000);
    const connection: Connection = {
      id,
      socket,
      peer,
      address,
      log,
      warnings: new WarningBudget(log),
      decoder: new MllpDecoder(this.#options.maxMessageBytes),
      queue: Promise.resolve(),
      pending: 0,
      garbage: 0,
      idle: undefined,
      firstMessage: undefined,
      lastActivity: ++this.#activity,
      reading: false,
      scheduled: false,
      framesInRead: 0,
      frames: 0,
      stopped: false,
    };
    this.#connections.add(connection);
    log.debug('HL7 connection opened');
    socket.on('data', (chunk: Buffer) => this.#onData(connection, chunk));
    socket.once('close', () => this.#onClose(connection));
    connection.firstMessage = setTimeout(() => {
      log.info(
        { firstMessageTimeoutMs: this.#options.firstMessageTimeoutMs },
        'HL7 connection closed: no readable message since it opened',
      );
      socket.destroy();
    }, this.#options.firstMessageTimeoutMs);
    this.#armIdle(connection);
  }

  #onClose(connection: Connection): void {
    clearTimeout(connection.idle);
    clearTimeout(connection.firstMessage);
    this.#connections.delete(connection);
    connection.warnings.flush(false);
    const unfinished = connection.decoder.inFrame ? connection.decoder.frameSize : 0;
    if (connection.garbage > 0 || unfinished > 0)
      connection.log.warn(
        { garbageBytes: connection.garbage, unfinishedFrameBytes: unfinished },
        'HL7 connection closed with bytes that were not a whole message',
      );
    else connection.log.debug('HL7 connection closed');
  }

  #armIdle(connection: Connection): void {
    clearTimeout(connection.idle);
    connection.idle = undefined;
    if (connection.pending > 0 || connection.reading || connection.socket.destroyed) return;
    connection.idle = setTimeout(() => {
      connection.log.info(
        { idleTimeoutMs: this.#options.idleTimeoutMs, inFrame: connection.decoder.inFrame },
        'HL7 connection idle: closing it',
      );
      connection.socket.destroy();
    }, this.#options.idleTimeoutMs);
  }

  /** A read: the socket waits until its frames are taken, slice by slice. */
  #onData(connection: Connection, chunk: Buffer): void {
    connection.lastActivity = ++this.#activity;
    connection.reading = true;
    connection.framesInRead = 0;
    clearTimeout(connection.idle);
    connection.socket.pause();
    connection.decoder.feed(chunk);
    this.#slice(connection);
  }

  #schedule(connection: Connection): void {
    if (connection.scheduled) return;
    connection.scheduled = true;
    setImmediate(() => {
      connection.scheduled = false;
      this.#slice(connection);
    });
  }

  /**
   * Handle the events of the current read, up to `EVENTS_PER_SLICE` and while fewer than
   * `MAX_QUEUED_FRAMES` wait for their answer; the rest after the event loop has turned.
   */
  #slice(connection: Connection): void {
    const { decoder, socket } = connection;
    for (let handled = 0; handled < EVENTS_PER_SLICE; handled++) {
      if (!connection.reading || connection.stopped || socket.destroyed) return;
      // An answer that completes schedules the next slice.
      if (connection.pending >= MAX_QUEUED_FRAMES) return;
      const event = decoder.next();
      if (!event) {
        this.#readDone(connection);
        return;
      }
      this.#onEvent(connection, event);
    }
    this.#schedule(connection);
  }

  #readDone(connection: Connection): void {
    connection.reading = false;
    const { decoder, log, socket } = connection;
    // A peer streaming one endless frame, or only garbage, is cut off: memory is bounded
    // either way, but the connection would otherwise never go idle.
    const limit = this.#options.maxMessageBytes * OVERSIZE_ABORT_FACTOR;
    if (decoder.frameSize > limit || connection.garbage > limit) {
      log.warn(
        { frameBytes: decoder.frameSize, garbageBytes: connection.garbage },
        'HL7 connection closed: too many bytes without a frame end',
      );
      socket.destroy();
      return;
    }
    socket.resume();
    this.#armIdle(connection);
  }

  #onEvent(connection: Connection, event: MllpEvent): void {
    switch (event.type) {
      case 'garbage':
        connection.garbage += event.size;
        return;
      case 'restarted':
        connection.warnings.warn(
          { droppedBytes: event.dropped },
          'HL7 frame restarted before its end: dropped',
        );
        this.#countFrame(connection);
        return;
      case 'message':
      case 'oversized':
        if (connection.garbage > 0) {
          connection.warnings.warn(
            { garbageBytes: connection.garbage },
            'HL7 bytes outside a frame dropped',
          );
          connection.garbage = 0;
        }
        if (this.#closing) {
          connection.log.debug('HL7 frame received while shutting down: not answered');
          return;
        }
        if (!this.#countFrame(connection)) return;
        this.#enqueue(connection, () =>
          event.type === 'message'
            ? this.#answer.message(connection, event.bytes)
            : this.#answer.oversized(connection, event.head, event.size),
        );
    }
  }

  /** Count a frame against the limits; past one, stop taking frames and close once answered. */
  #countFrame(connection: Connection): boolean {
    connection.frames++;
    connection.framesInRead++;
    const { maxFramesPerRead, maxFramesPerConnection } = this.#options;
    let exceeded: string | undefined;
    if (connection.framesInRead > maxFramesPerRead)
      exceeded = 'HL7 connection closed: more frames in one read than allowed';
    else if (connection.frames > maxFramesPerConnection)
      exceeded = 'HL7 connection closed: more frames on one connection than allowed';
    if (exceeded === undefined) return true;
    connection.stopped = true;
    connection.log.warn(
      {
        framesInRead: connection.framesInRead,
        frames: connection.frames,
        maxFramesPerRead,
        maxFramesPerConnection,
      },
      `${exceeded}; the frames before it are answered, the rest is not`,
    );
    void connection.queue.then(() => this.#end(connection));
    return false;
  }

  #enqueue(connection: Connection, work: () => Promise<void>): void {
    connection.pending++;
    connection.queue = connection.queue
      .then(work)
      .catch((error: unknown) => {
        // Never expected (answers catch their errors); kept so that one cannot stop the queue.
        connection.log.error({ err: error }, 'HL7 answer failed');
      })
      .finally(() => {
        connection.pending--;
        connection.lastActivity = ++this.#activity;
        if (connection.reading) this.#schedule(connection);
        else this.#armIdle(connection);
      });
  }
}
