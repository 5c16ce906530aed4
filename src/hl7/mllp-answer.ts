import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { type AckDecision, type AckSource, buildAck, decisionFromError } from './ack.js';
import { encodeText } from './encoding.js';
import { Hl7Error, Hl7ErrorCode } from './errors.js';
import { type Hl7Message, hdText, parseHl7, readHeader } from './message.js';
import { frame } from './mllp-framing.js';
import type { MllpServerOptions } from './mllp-options.js';
import type { WarningBudget } from './mllp-warnings.js';

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

/** What answering needs of a connection. */
export interface AnsweredConnection {
  readonly id: number;
  readonly peer: string;
  readonly socket: Socket;
  readonly log: Logger;
  readonly warnings: WarningBudget;
}

/** What the listener does when a frame is answered. */
export interface AnswerHooks<C> {
  /** The frame was a readable HL7 message. */
  readable(connection: C): void;
  /** The connection is to be closed once what was written is flushed. */
  end(connection: C): void;
}

/**
 * Answers frames: parses each, asks the handler and writes the ACK (AR/AE with the reason
 * when the frame is unreadable, oversized or refused). Refusals are logged through the
 * connection's warning budget, acceptances one by one.
 */
export class MllpAnswerer<C extends AnsweredConnection> {
  readonly #options: MllpServerOptions;
  readonly #handler: Hl7Handler;
  readonly #hooks: AnswerHooks<C>;

  constructor(options: MllpServerOptions, handler: Hl7Handler, hooks: AnswerHooks<C>) {
    this.#options = options;
    this.#handler = handler;
    this.#hooks = hooks;
  }

  async message(connection: C, bytes: Buffer): Promise<void> {
    let message: Hl7Message;
    try {
      message = parseHl7(bytes);
    } catch (error) {
      const head = readHeader(bytes);
      this.#reply(connection, head ?? {}, decisionFromError(error), { size: bytes.length });
      return;
    }
    this.#hooks.readable(connection);
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

  async oversized(connection: C, head: Buffer, size: number): Promise<void> {
    const header = readHeader(head);
    if (!header) {
      connection.log.warn(
        { size, maxMessageBytes: this.#options.maxMessageBytes },
        'HL7 message too large and without a readable MSH: closing the connection',
      );
      this.#hooks.end(connection);
      return;
    }
    const decision: AckDecision = {
      code: 'AR',
      reason: `message of ${size} bytes exceeds the limit of ${this.#options.maxMessageBytes} bytes`,
      errorCode: Hl7ErrorCode.ApplicationInternalError,
    };
    this.#reply(connection, header, decision, { size });
  }

  #reply(connection: C, source: AckSource, decision: AckDecision, extra: object): void {
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
    if (decision.code === 'AA') {
      connection.log.info(summary, 'HL7 message accepted');
      connection.warnings.flush(true);
    } else connection.warnings.warn(summary, 'HL7 message refused');
    const ack = buildAck(source, decision, {
      application: this.#options.application,
      facility: this.#options.facility,
    });
    const { socket } = connection;
    if (socket.destroyed || !socket.writable) {
      connection.warnings.warn(
        { controlId: summary.controlId },
        'HL7 connection gone before the ACK',
      );
      return;
    }
    socket.write(frame(encodeText(ack, source.charset ?? 'utf-8')));
  }
}
