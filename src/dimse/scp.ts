import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { VERIFICATION_SOP_CLASS, isStorageSopClass, qrServiceOf } from '../dicom/sop-class.js';
import type { ClientAssociation } from './client.js';
import { receiveQrRequest, requestorOf } from './qr-dispatch.js';
import type { QrService } from './qr-service.js';
import {
  Association,
  checkPeerMaxPdu,
  type CloseReason,
  type DatasetSink,
  type IncomingCommand,
} from './association.js';
import { CommandField, type Command } from './command.js';
import type { AePolicy } from './ae-policy.js';
import type { NegotiationResult } from './negotiation.js';
import { answerAssociateRq } from './scp-accept.js';
import { AbortReason, AbortSource, PduError, PduType, decodeAssociateRq } from './pdu.js';
import { Status, formatStatus } from './status.js';
import type { StoreService } from './store-service.js';
import { discardingSink } from './sinks.js';
import { Observers, type AssociationObserver } from './association-observer.js';

export interface ScpOptions {
  /** Address to bind; `0.0.0.0` or `::` for all interfaces. */
  host: string;
  port: number;
  maxAssociations: number;
  maxPduLength: number;
  artimMs: number;
  idleTimeoutMs: number;
  acceptPrivateSopClasses: boolean;
}

interface ActiveAssociation {
  association: Association;
  /** Operations answered in order; settles when the last one is answered. */
  queue: Promise<void>;
  /** Sends C-STOREs back to the requestor (C-GET) and takes their responses. */
  requestor: ClientAssociation | undefined;
  /** Query/retrieve operations in progress, by message id (for C-CANCEL). */
  operations: Map<number, AbortController>;
  startedAt: string;
  instancesStored: number;
  instancesFailed: number;
}

/**
 * The DICOM SCP: accepts associations from allowed peers, answers C-ECHO, and hands C-STORE
 * datasets to the store service, answering only with the outcome it reports.
 */
export class DimseServer {
  #options: ScpOptions;
  #log: Logger;
  #policy: AePolicy;
  #store: StoreService;
  #qr: QrService | undefined;
  #server: Server;
  #sockets = new Set<Socket>();
  #active = new Set<ActiveAssociation>();
  #closing: Promise<void> | undefined;
  #nextId = 1;
  #observers: Observers;

  constructor(
    options: ScpOptions,
    policy: AePolicy,
    store: StoreService,
    log: Logger,
    qr?: QrService,
  ) {
    this.#options = options;
    this.#policy = policy;
    this.#store = store;
    this.#qr = qr;
    this.#log = log;
    this.#observers = new Observers(log);
    this.#server = createServer({ noDelay: true }, (socket) => this.#onConnection(socket));
  }

  /** Start listening; resolves with the bound port (useful with port 0). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#options.port, this.#options.host, () => {
        this.#server.off('error', reject);
        const address = this.#server.address();
        const port = typeof address === 'object' && address ? address.port : this.#options.port;
        this.#log.info(
          { host: this.#options.host, port, aeTitles: this.#policy.ownAeTitles },
          'DICOM SCP listening',
        );
        resolve(port);
      });
    });
  }

  /** Call `observer`'s hooks as associations are accepted, rejected, store and close. */
  observe(observer: AssociationObserver): void {
    this.#observers.add(observer);
  }

  /** True while the SCP accepts connections. */
  get listening(): boolean {
    return this.#server.listening && !this.#closing;
  }

  get activeAssociations(): number {
    return this.#active.size;
  }

  /**
   * Stop accepting associations, let the open ones finish for up to `drainMs`, then abort what
   * is left. Calling it twice returns the same promise.
   */
  close(drainMs: number): Promise<void> {
    this.#closing ??= this.#close(drainMs);
    return this.#closing;
  }

  async #close(drainMs: number): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const deadline = Date.now() + drainMs;
    while (this.#active.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (this.#active.size > 0) {
      this.#log.warn(
        { associations: this.#active.size },
        'shutdown timeout: aborting open associations',
      );
      for (const active of this.#active) {
        active.association.abort(
          { source: AbortSource.ServiceProvider, reason: AbortReason.NotSpecified },
          'shutdown',
        );
      }
    }
    for (const socket of this.#sockets)
      if (!socket.destroyed) setTimeout(() => socket.destroy(), 500).unref();
    await Promise.all([...this.#active].map((active) => active.queue));
    await stopped;
  }

  #onConnection(socket: Socket): void {
    const id = this.#nextId++;
    const log = this.#log.child({
      association: id,
      peer: `${socket.remoteAddress}:${socket.remotePort}`,
    });
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    let negotiated: NegotiationResult | undefined;
    let callingAe = '';
    let calledAe = '';
    const active: ActiveAssociation = {
      association: undefined as unknown as Association,
      queue: Promise.resolve(),
      requestor: undefined,
      operations: new Map(),
      startedAt: '',
      instancesStored: 0,
      instancesFailed: 0,
    };
    const address = socket.remoteAddress ?? '';
    const association = new Association(
      socket,
      log,
      {
        onAssociatePdu: (type, body) => {
          if (type !== PduType.AssociateRq)
            throw new PduError('expected A-ASSOCIATE-RQ', AbortReason.UnexpectedPdu);
          const rq = decodeAssociateRq(body);
          checkPeerMaxPdu(rq.user.maxPduLength);
          callingAe = rq.callingAe;
          calledAe = rq.calledAe;
          negotiated = answerAssociateRq(association, rq, socket.remoteAddress, log, {
            policy: this.#policy,
            maxAssociations: this.#options.maxAssociations,
            maxPduLength: this.#options.maxPduLength,
            load: () => ({ open: this.#active.size, closing: this.#closing !== undefined }),
            isSupported: (uid) => this.#isSupported(uid),
            qrEnabled: this.#qr !== undefined,
            rejected: (why) =>
              this.#observers.notify('rejected', { callingAe, calledAe, address, why }),
          });
          if (!negotiated) return;
          association.established(rq.user.maxPduLength);
          active.requestor = requestorOf(association, negotiated.accepted, negotiated.roles, {
            callingAe,
            calledAe,
          });
          this.#active.add(active);
          active.startedAt = new Date().toISOString();
          this.#observers.notify('accepted', { callingAe, calledAe, address });
        },
        onCommand: (message) => this.#onCommand(active, message, negotiated!, callingAe, calledAe),
        onReleaseRq: () => {
          active.queue = active.queue.then(() => association.confirmRelease());
        },
        onReleaseRp: () => undefined,
        onClose: (reason: CloseReason, detail) => {
          const wasActive = this.#active.has(active);
          for (const operation of active.operations.values()) operation.abort();
          active.requestor?.onClose(reason);
          // An instance may still be on its way to storage: the association counts as open
          // (and shutdown waits for it) until its last outcome has settled.
          void active.queue.finally(() => this.#active.delete(active));
          if (wasActive)
            void active.queue.finally(() =>
              this.#observers.notify('closed', {
                callingAe,
                calledAe,
                address,
                startedAt: active.startedAt,
                instancesStored: active.instancesStored,
                instancesFailed: active.instancesFailed,
                reason,
              }),
            );
          if (wasActive || reason !== 'disconnected') {
            const level = reason === 'released' ? 'info' : 'warn';
            log[level]({ reason, detail }, 'association closed');
          }
        },
      },
      {
        maxPduLength: this.#options.maxPduLength,
        artimMs: this.#options.artimMs,
        idleTimeoutMs: this.#options.idleTimeoutMs,
      },
    );
    active.association = association;
  }

  #isSupported(uid: string): boolean {
    return (
      uid === VERIFICATION_SOP_CLASS ||
      isStorageSopClass(uid, this.#options.acceptPrivateSopClasses) ||
      (this.#qr !== undefined && qrServiceOf(uid) !== undefined)
    );
  }

  #onCommand(
    active: ActiveAssociation,
    message: IncomingCommand,
    negotiated: NegotiationResult,
    callingAe: string,
    calledAe: string,
  ): DatasetSink | undefined {
    const { association } = active;
    const context = negotiated.accepted.get(message.contextId);
    if (!context) {
      throw new PduError(
        `command on presentation context ${message.contextId}, which was not accepted`,
        AbortReason.UnexpectedPduParameter,
      );
    }
    const { command } = message;
    // Responses to the C-STOREs of a C-GET the bridge is serving.
    if (command.commandField & 0x8000 && active.requestor)
      return active.requestor.onCommand(message);
    switch (command.commandField) {
      case CommandField.CFindRq:
      case CommandField.CMoveRq:
      case CommandField.CGetRq:
        if (!qrServiceOf(context.abstractSyntax)) break;
        return receiveQrRequest(
          {
            association: active.association,
            requestor: active.requestor!,
            operations: active.operations,
            service: this.#qr!,
            enqueue: (work) => {
              active.queue = active.queue.then(work);
            },
          },
          message,
          context,
          { callingAe, calledAe },
        );
      case CommandField.CCancelRq:
        active.operations.get(command.messageIdBeingRespondedTo ?? -1)?.abort();
        return undefined;
    }
    switch (command.commandField) {
      case CommandField.CEchoRq:
        this.#answer(
          active,
          message.contextId,
          Promise.resolve({ status: Status.Success }),
          command,
          CommandField.CEchoRsp,
        );
        return undefined;
      case CommandField.CStoreRq: {
        // Without a dataset its receiver would wait for ever, holding the association's answers.
        if (!command.hasDataset)
          throw new PduError('C-STORE request without a dataset', AbortReason.UnexpectedPdu);
        const receiver = this.#store.begin({
          callingAe,
          calledAe,
          sopClassUid: command.affectedSopClassUid ?? '',
          sopInstanceUid: command.affectedSopInstanceUid ?? '',
          transferSyntaxUid: context.transferSyntax,
          contextSopClassUid: context.abstractSyntax,
        });
        const outcome = receiver.outcome.then((answer) => {
          // Success and warnings (0xB000 and the like) keep the instance; failures do not.
          if (answer.status === Status.Success || (answer.status & 0xf000) === 0xb000)
            active.instancesStored++;
          else active.instancesFailed++;
          this.#observers.notify('stored', { callingAe, status: answer.status });
          return answer;
        });
        this.#answer(active, message.contextId, outcome, command, CommandField.CStoreRsp);
        return receiver;
      }
      default: {
        association.log.warn({ commandField: command.commandField }, 'unsupported DIMSE command');
        this.#answer(
          active,
          message.contextId,
          Promise.resolve({ status: Status.UnrecognizedOperation }),
          command,
          command.commandField | 0x8000,
        );
        return command.hasDataset ? discardingSink() : undefined;
      }
    }
  }

  /** Queue the response so answers leave in the order the requests came. */
  #answer(
    active: ActiveAssociation,
    contextId: number,
    outcome: Promise<{ status: number; errorComment?: string }>,
    request: Command,
    responseField: number,
  ): void {
    active.queue = active.queue.then(async () => {
      const { status, errorComment } = await outcome;
      if (active.association.phase === 'closed') return;
      const response: Command = {
        commandField: responseField,
        messageIdBeingRespondedTo: request.messageId ?? 0,
        affectedSopClassUid: request.affectedSopClassUid,
        affectedSopInstanceUid: request.affectedSopInstanceUid,
        hasDataset: false,
        status,
        errorComment: errorComment?.slice(0, 64),
      };
      if (status !== Status.Success)
        active.association.log.debug(
          { status: formatStatus(status), errorComment },
          'answering with non-success status',
        );
      await active.association.sendMessage(contextId, response).catch(() => undefined);
    });
  }
}
