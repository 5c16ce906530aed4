import { connect as netConnect } from 'node:net';
import type { Logger } from 'pino';
import { Association, type DatasetSink, type IncomingCommand } from './association.js';
import { CommandField, type Command } from './command.js';
import {
  APPLICATION_CONTEXT,
  AbortReason,
  PcResult,
  PduError,
  PduType,
  decodeAssociateAc,
  decodeAssociateRj,
  encodeAssociateRq,
  type AcceptedContext,
  type AssociateRj,
  type ProposedContext,
  type RoleSelection,
} from './pdu.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './implementation.js';
import { formatStatus } from './status.js';

export interface ClientOptions {
  host: string;
  port: number;
  callingAe: string;
  calledAe: string;
  /** Proposed presentation contexts (ids are assigned here: 1, 3, 5, ...). */
  contexts: Array<Omit<ProposedContext, 'id'>>;
  roles?: RoleSelection[];
  maxPduLength?: number;
  connectTimeoutMs?: number;
  artimMs?: number;
  idleTimeoutMs?: number;
  log: Logger;
}

/** The peer refused the association. */
export class AssociationRejectedError extends Error {
  override readonly name = 'AssociationRejectedError';
  constructor(readonly rejection: AssociateRj) {
    super(
      `association rejected: result ${rejection.result}, source ${rejection.source}, reason ${rejection.reason}`,
    );
  }
}

/** The association ended (abort, disconnect) before an answer arrived. */
export class AssociationClosedError extends Error {
  override readonly name = 'AssociationClosedError';
}

/** A DIMSE response whose status is neither success nor pending. */
export class DimseStatusError extends Error {
  override readonly name = 'DimseStatusError';
  constructor(
    readonly status: number,
    readonly errorComment: string | undefined,
  ) {
    super(`DIMSE status ${formatStatus(status)}${errorComment ? `: ${errorComment}` : ''}`);
  }
}

export interface ClientContext {
  id: number;
  abstractSyntax: string;
  transferSyntax: string;
}

interface Waiter {
  resolve: (command: Command) => void;
  reject: (error: Error) => void;
}

/** A requestor-side association: the bridge as SCU. */
export class ClientAssociation {
  #association: Association;
  #accepted: ClientContext[];
  #waiters = new Map<number, Waiter>();
  #nextMessageId = 1;
  #closed: Promise<void>;

  constructor(association: Association, accepted: ClientContext[], closed: Promise<void>) {
    this.#association = association;
    this.#accepted = accepted;
    this.#closed = closed;
  }

  /** The accepted context for an abstract syntax (and transfer syntax, when given). */
  findContext(abstractSyntax: string, transferSyntax?: string): ClientContext | undefined {
    return this.#accepted.find(
      (pc) =>
        pc.abstractSyntax === abstractSyntax &&
        (transferSyntax === undefined || pc.transferSyntax === transferSyntax),
    );
  }

  nextMessageId(): number {
    const id = this.#nextMessageId;
    this.#nextMessageId = (this.#nextMessageId % 0xffff) + 1;
    return id;
  }

  /** Resolve the response to `messageId` (final responses only). */
  response(messageId: number): Promise<Command> {
    return new Promise((resolve, reject) => this.#waiters.set(messageId, { resolve, reject }));
  }

  /** Called by the association for every command received. */
  onCommand(message: IncomingCommand): DatasetSink | undefined {
    const id = message.command.messageIdBeingRespondedTo;
    const waiter = id === undefined ? undefined : this.#waiters.get(id);
    if (!waiter)
      throw new PduError('response to no outstanding request', AbortReason.UnexpectedPdu);
    this.#waiters.delete(id!);
    waiter.resolve(message.command);
    return undefined;
  }

  onClose(reason: string): void {
    for (const waiter of this.#waiters.values())
      waiter.reject(new AssociationClosedError(`association closed: ${reason}`));
    this.#waiters.clear();
  }

  async send(contextId: number, command: Command, dataset?: Buffer): Promise<void> {
    await this.#association.sendMessage(contextId, command, dataset);
  }

  sendDatasetStream(contextId: number, chunks: AsyncIterable<Buffer>): Promise<void> {
    return this.#association.sendDatasetStream(contextId, chunks);
  }

  /** C-ECHO; resolves with the status. */
  async echo(): Promise<number> {
    const context = this.#accepted.find((pc) => pc.abstractSyntax === '1.2.840.10008.1.1');
    if (!context) throw new Error('Verification was not accepted by the peer');
    const messageId = this.nextMessageId();
    const answer = this.response(messageId);
    await this.send(context.id, {
      commandField: CommandField.CEchoRq,
      messageId,
      affectedSopClassUid: context.abstractSyntax,
      hasDataset: false,
    });
    return (await answer).status ?? -1;
  }

  /**
   * C-STORE of dataset bytes exactly as given, on the accepted context for its SOP class and
   * transfer syntax. Resolves with the response command; the caller judges the status.
   */
  async store(
    sopClassUid: string,
    sopInstanceUid: string,
    transferSyntax: string,
    dataset: Buffer | AsyncIterable<Buffer>,
  ): Promise<Command> {
    const context = this.findContext(sopClassUid, transferSyntax);
    if (!context)
      throw new Error(`no accepted presentation context for ${sopClassUid} in ${transferSyntax}`);
    const messageId = this.nextMessageId();
    const answer = this.response(messageId);
    const command: Command = {
      commandField: CommandField.CStoreRq,
      messageId,
      priority: 0,
      affectedSopClassUid: sopClassUid,
      affectedSopInstanceUid: sopInstanceUid,
      hasDataset: true,
    };
    if (Buffer.isBuffer(dataset)) await this.send(context.id, command, dataset);
    else {
      await this.send(context.id, command);
      await this.sendDatasetStream(context.id, dataset);
    }
    return answer;
  }

  /** A-RELEASE; resolves when the peer has confirmed and the socket is closed. */
  async release(): Promise<void> {
    if (this.#association.phase === 'established') this.#association.requestRelease();
    await this.#closed;
  }

  abort(): Promise<void> {
    this.#association.abort();
    return this.#closed;
  }

  /** The underlying association (tests use it to misbehave on purpose). */
  get association(): Association {
    return this.#association;
  }
}

/** Open an association to a peer; rejects with `AssociationRejectedError` when refused. */
export function openAssociation(options: ClientOptions): Promise<ClientAssociation> {
  const proposed: ProposedContext[] = options.contexts.map((pc, index) => ({
    ...pc,
    id: 2 * index + 1,
  }));
  const maxPduLength = options.maxPduLength ?? 256 * 1024;
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: options.host, port: options.port, noDelay: true });
    let client: ClientAssociation | undefined;
    let settled = false;
    let markClosed!: () => void;
    const closed = new Promise<void>((r) => (markClosed = r));
    const fail = (error: Error): void => {
      if (!settled) {
        settled = true;
        reject(error);
      }
    };
    const connectTimer = setTimeout(() => {
      socket.destroy();
      fail(
        new Error(
          `no connection to ${options.host}:${options.port} within ${options.connectTimeoutMs ?? 10_000} ms`,
        ),
      );
    }, options.connectTimeoutMs ?? 10_000);
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      association.sendPdu(
        encodeAssociateRq({
          calledAe: options.calledAe,
          callingAe: options.callingAe,
          applicationContext: APPLICATION_CONTEXT,
          contexts: proposed,
          user: {
            maxPduLength,
            implementationClassUid: IMPLEMENTATION_CLASS_UID,
            implementationVersionName: IMPLEMENTATION_VERSION_NAME,
            roles: options.roles ?? [],
            asyncOps: undefined,
          },
        }),
      );
    });
    socket.once('error', (error) => {
      clearTimeout(connectTimer);
      fail(error);
    });
    const association = new Association(
      socket,
      options.log,
      {
        onAssociatePdu: (type, body) => {
          if (type === PduType.AssociateRj) {
            association.sendAndClose(Buffer.alloc(0), 'aborted-by-peer');
            fail(new AssociationRejectedError(decodeAssociateRj(body)));
            return;
          }
          if (type !== PduType.AssociateAc)
            throw new PduError('expected A-ASSOCIATE-AC or RJ', AbortReason.UnexpectedPdu);
          const ac = decodeAssociateAc(body);
          const accepted = ac.contexts
            .filter((pc: AcceptedContext) => pc.result === PcResult.Acceptance)
            .flatMap((pc) => {
              const mine = proposed.find((p) => p.id === pc.id);
              return mine
                ? [
                    {
                      id: pc.id,
                      abstractSyntax: mine.abstractSyntax,
                      transferSyntax: pc.transferSyntax,
                    },
                  ]
                : [];
            });
          association.established(ac.user.maxPduLength);
          client = new ClientAssociation(association, accepted, closed);
          settled = true;
          resolve(client);
        },
        onCommand: (message) => {
          if (!client)
            throw new PduError('command before association set-up', AbortReason.UnexpectedPdu);
          return client.onCommand(message);
        },
        onReleaseRq: () => association.confirmRelease(),
        onReleaseRp: () => undefined,
        onClose: (reason, detail) => {
          clearTimeout(connectTimer);
          fail(
            new AssociationClosedError(
              `association closed during set-up: ${reason}${detail ? ` (${detail})` : ''}`,
            ),
          );
          client?.onClose(reason);
          markClosed();
        },
      },
      {
        maxPduLength,
        artimMs: options.artimMs ?? 30_000,
        idleTimeoutMs: options.idleTimeoutMs ?? 0,
      },
    );
  });
}
