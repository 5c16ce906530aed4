import { connect, type Socket } from 'node:net';
import {
  CommandField,
  decodeCommand,
  encodeCommand,
  type Command,
} from '../../src/dimse/command.js';
import {
  APPLICATION_CONTEXT,
  PduType,
  decodeAbort,
  decodeAssociateAc,
  decodeAssociateRj,
  encodeAssociateRq,
  encodePDataHeader,
  type Abort,
  type AcceptedContext,
  type AssociateRj,
  type ProposedContext,
} from '../../src/dimse/pdu.js';

/*
 * A deliberately dumb DICOM peer over a raw TCP socket: it writes whatever bytes a test gives it
 * and records every PDU the bridge sends back, and when the bridge closes the connection. Unlike
 * src/dimse/client.ts it has no state machine of its own, so it can misbehave, and it can bind a
 * local address (to connect from 127.0.0.2).
 */

export const VERIFICATION = '1.2.840.10008.1.1';
export const IMPLICIT_LE = '1.2.840.10008.1.2';
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';

export interface Pdu {
  type: number;
  body: Buffer;
}

export interface RawPeerOptions {
  host?: string;
  /** Local address to connect from, e.g. 127.0.0.2. */
  localAddress?: string;
}

export class RawPeer {
  readonly socket: Socket;
  /** Every complete PDU received so far, in order. */
  readonly pdus: Pdu[] = [];
  /** Resolves when the socket has closed (either side). */
  readonly closed: Promise<void>;
  #isClosed = false;
  #buffer = Buffer.alloc(0);
  #read = 0;
  #wake: Array<() => void> = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    // ECONNRESET and the like when the bridge drops us: that is what some tests expect.
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      while (this.#buffer.length >= 6) {
        const length = this.#buffer.readUInt32BE(2);
        if (this.#buffer.length < 6 + length) break;
        this.pdus.push({
          type: this.#buffer.readUInt8(0),
          body: Buffer.from(this.#buffer.subarray(6, 6 + length)),
        });
        this.#buffer = this.#buffer.subarray(6 + length);
      }
      this.#notify();
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#isClosed = true;
        this.#notify();
        resolve();
      }),
    );
  }

  static connect(port: number, options: RawPeerOptions = {}): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: options.host ?? '127.0.0.1',
        port,
        localAddress: options.localAddress,
      });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawPeer(socket));
      });
    });
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Local address the bridge sees. */
  get localAddress(): string | undefined {
    return this.socket.localAddress;
  }

  /** Write bytes; resolves once they are handed to the kernel (or rejects when the socket is gone). */
  write(data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** The next PDU not returned before, or undefined when the connection closed first. */
  async nextPdu(timeoutMs = 15_000): Promise<Pdu | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.#read >= this.pdus.length) {
      if (this.#isClosed) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a PDU from the bridge');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.pdus[this.#read++];
  }

  /** Wait for the bridge to close the connection; rejects after `timeoutMs`. */
  async waitClosed(timeoutMs = 15_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error('the bridge did not close the connection')),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** PDUs received but not yet returned by `nextPdu`. */
  unread(): Pdu[] {
    return this.pdus.slice(this.#read);
  }

  /** The A-ABORT PDUs received so far, decoded. */
  aborts(): Abort[] {
    return this.pdus
      .filter((pdu) => pdu.type === PduType.Abort)
      .map((pdu) => decodeAbort(pdu.body));
  }

  destroy(): void {
    this.socket.destroy();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = [];
    for (const fn of wake) fn();
  }
}

export interface RawAssociateOptions {
  callingAe: string;
  calledAe: string;
  contexts?: Array<Omit<ProposedContext, 'id'>>;
  maxPduLength?: number;
}

export type RawAssociateResult =
  | { kind: 'accepted'; contexts: AcceptedContext[]; peerMaxPdu: number }
  | { kind: 'rejected'; rejection: AssociateRj }
  | { kind: 'other'; pdu: Pdu | undefined };

/** An A-ASSOCIATE-RQ as a well-behaved SCU would send it (contexts get ids 1, 3, 5, ...). */
export function associateRq(options: RawAssociateOptions): Buffer {
  const contexts = options.contexts ?? [
    { abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] },
  ];
  return encodeAssociateRq({
    calledAe: options.calledAe,
    callingAe: options.callingAe,
    applicationContext: APPLICATION_CONTEXT,
    contexts: contexts.map((pc, i) => ({ ...pc, id: 2 * i + 1 })),
    user: {
      maxPduLength: options.maxPduLength ?? 16384,
      implementationClassUid: '1.2.826.0.1.3680043.10.1234.1',
      implementationVersionName: 'RAWPEER',
      roles: [],
      asyncOps: undefined,
    },
  });
}

/** Send an A-ASSOCIATE-RQ and read the answer. */
export async function rawAssociate(
  peer: RawPeer,
  options: RawAssociateOptions,
): Promise<RawAssociateResult> {
  await peer.write(associateRq(options));
  const pdu = await peer.nextPdu();
  if (pdu?.type === PduType.AssociateAc) {
    const ac = decodeAssociateAc(pdu.body);
    return { kind: 'accepted', contexts: ac.contexts, peerMaxPdu: ac.user.maxPduLength };
  }
  if (pdu?.type === PduType.AssociateRj)
    return { kind: 'rejected', rejection: decodeAssociateRj(pdu.body) };
  return { kind: 'other', pdu };
}

/** P-DATA-TF PDUs carrying `data` as one message, each PDV at most `maxData` bytes. */
export function pDataPdus(
  contextId: number,
  command: boolean,
  data: Buffer,
  maxData: number,
  lastOfMessage = true,
): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  do {
    const size = Math.min(maxData, data.length - offset);
    const last = lastOfMessage && offset + size === data.length;
    parts.push(
      encodePDataHeader(contextId, command, last, size),
      data.subarray(offset, offset + size),
    );
    offset += size;
  } while (offset < data.length);
  return Buffer.concat(parts);
}

/** Read the next DIMSE command the bridge sends (a response), from its P-DATA-TF PDUs. */
export async function readCommand(peer: RawPeer): Promise<Command> {
  const chunks: Buffer[] = [];
  for (;;) {
    const pdu = await peer.nextPdu();
    if (!pdu) throw new Error('connection closed before a command arrived');
    if (pdu.type !== PduType.PData)
      throw new Error(`expected P-DATA-TF, got PDU type 0x${pdu.type.toString(16)}`);
    let offset = 0;
    while (offset < pdu.body.length) {
      const length = pdu.body.readUInt32BE(offset);
      const control = pdu.body.readUInt8(offset + 5);
      chunks.push(pdu.body.subarray(offset + 6, offset + 4 + length));
      offset += 4 + length;
      if ((control & 3) === 3) return decodeCommand(Buffer.concat(chunks));
    }
  }
}

/** C-ECHO over a raw association; resolves with the response status. */
export async function rawEcho(peer: RawPeer, contextId: number, messageId = 1): Promise<number> {
  const command = encodeCommand({
    commandField: CommandField.CEchoRq,
    messageId,
    affectedSopClassUid: VERIFICATION,
    hasDataset: false,
  });
  await peer.write(pDataPdus(contextId, true, command, 16000));
  const response = await readCommand(peer);
  if (response.commandField !== CommandField.CEchoRsp)
    throw new Error(`expected C-ECHO-RSP, got 0x${response.commandField.toString(16)}`);
  return response.status ?? -1;
}
