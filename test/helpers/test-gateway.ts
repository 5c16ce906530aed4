import type { AddressInfo, Server as NetServer } from 'node:net';
import { Server } from 'node-hl7-server';

/*
 * A stand-in for the regional image gateway built on an MLLP server that is not ours
 * (node-hl7-server from npm, with its own HL7 parser), reading each message the way the
 * gateway's MDM^T02 handler does: the first OBX with OBX-2 = RP gives the accession number
 * (OBX-5.1), PV1-3.4.1 the structure code, MSH-10 the message id, and the PID-3 repetition
 * holding "^RIS" the RIS id.
 */

/** What the gateway read from one message. */
export interface GatewayRead {
  raw: string;
  messageType: string;
  messageId: string;
  structureCode: string;
  /** OBX-5.1 of the first OBX with OBX-2 = RP; '' when there is none. */
  accessionNumber: string;
  /** OBX-5.1 of every RP OBX, in order. */
  accessionNumbers: string[];
  /** The PID-3 repetition containing `^RIS`, as written; undefined when none. */
  risRepetition: string | undefined;
  version: string;
}

/**
 * How one message is answered: an acknowledgement code (with the error text in the layout HAPI
 * uses for v2.5 when `text` is given), `hold` (answered once the test calls `release`),
 * `silence` (never answered) or `close` (the connection is closed unanswered).
 */
export type GatewayAnswer =
  { code: 'AA' | 'AE' | 'AR'; text?: string } | 'hold' | 'silence' | 'close';

type Handler = Parameters<Server['createInbound']>[1];
type Request = Parameters<Handler>[0];
type Response = Parameters<Handler>[1];
type ParsedMessage = ReturnType<Request['getMessage']>;
type AckMessage = ReturnType<Response['getAckMessage']>;

export class TestGateway {
  readonly messages: GatewayRead[] = [];
  readonly #inbound: ReturnType<Server['createInbound']>;
  readonly #answers: GatewayAnswer[];
  readonly #fallback: GatewayAnswer;
  readonly #held: Array<() => void> = [];
  readonly #waiters: Array<() => void> = [];

  private constructor(answers: GatewayAnswer[], fallback: GatewayAnswer) {
    this.#answers = answers;
    this.#fallback = fallback;
    const server = new Server({ bindAddress: '127.0.0.1' });
    this.#inbound = server.createInbound({ port: 0 }, (req, res) => this.#handle(req, res));
  }

  /** Listens on 127.0.0.1, a free port; answers come from `answers`, then `fallback`. */
  static async start(
    answers: GatewayAnswer[] = [],
    fallback: GatewayAnswer = { code: 'AA' },
  ): Promise<TestGateway> {
    const gateway = new TestGateway(answers, fallback);
    await new Promise<void>((resolve, reject) => {
      gateway.#inbound.once('listen', resolve);
      gateway.#inbound.once('error', reject);
    });
    return gateway;
  }

  /** The port it listens on (the package binds port 0 but does not say which it got). */
  get port(): number {
    const server = (this.#inbound as unknown as { _socket: NetServer })._socket;
    return (server.address() as AddressInfo).port;
  }

  /** Distinct MSH-10 values received. */
  messageIds(): Set<string> {
    return new Set(this.messages.map((m) => m.messageId));
  }

  /** Resolves once `count` messages have been received. */
  async received(count: number): Promise<void> {
    while (this.messages.length < count)
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /** Answers the held messages AA. */
  release(): void {
    for (const answer of this.#held.splice(0)) answer();
  }

  async close(): Promise<void> {
    await this.#inbound.close();
  }

  async #handle(req: Request, res: Response): Promise<void> {
    const message = req.getMessage();
    this.messages.push(read(message));
    for (const wake of this.#waiters.splice(0)) wake();
    const answer = this.#answers.shift() ?? this.#fallback;
    if (answer === 'silence') return;
    if (answer === 'close') {
      (res as unknown as { _socket: { destroy(): void } })._socket.destroy();
      return;
    }
    if (answer === 'hold') {
      await new Promise<void>((resolve) => this.#held.push(resolve));
      await res.sendResponse('AA');
      return;
    }
    if (answer.text !== undefined) withErrorText(res, answer.text);
    await res.sendResponse(answer.code);
  }
}

function read(message: ParsedMessage): GatewayRead {
  const accessionNumbers: string[] = [];
  let accessionNumber = '';
  let scanning = true;
  message.get('OBX').forEach((obx) => {
    const type = obx.get(2).toString();
    // The gateway stops at the first OBX without OBX-2.
    if (type === '') scanning = false;
    if (type !== 'RP') return;
    accessionNumbers.push(obx.get('5.1').toString());
    if (scanning && accessionNumber === '') accessionNumber = obx.get('5.1').toString();
  });
  const pid3 = message.get('PID.3').toRaw();
  return {
    raw: message.toString(),
    messageType: message.get('MSH.9').toRaw(),
    messageId: message.get('MSH.10').toString(),
    structureCode: message.get('PV1.3.4.1').toString(),
    accessionNumber,
    accessionNumbers,
    risRepetition: pid3.split('~').find((repetition) => repetition.includes('^RIS')),
    version: message.get('MSH.12').toString(),
  };
}

/**
 * The package answers with MSA-1 and MSA-2 only; the gateway (HAPI, v2.5) adds the error in
 * ERR-3 (207^Application internal error^HL70357, the text in ERR-3.9) and ERR-4 = E. The ACK it
 * builds is extended with that segment before it is sent.
 */
function withErrorText(res: Response, text: string): void {
  const target = res as unknown as {
    _createAckMessage: (type: string, message: ParsedMessage) => AckMessage;
  };
  const build = target._createAckMessage.bind(res);
  target._createAckMessage = (type, message) => {
    const ack = build(type, message)!;
    const err = ack.addSegment('ERR');
    err.set('3.1', '207');
    err.set('3.2', 'Application internal error');
    err.set('3.3', 'HL70357');
    err.set('3.9', text);
    err.set('4', 'E');
    return ack;
  };
}
