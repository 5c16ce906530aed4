import type { Association, DatasetSink, IncomingCommand } from './association.js';
import { CommandField, type Command } from './command.js';
import { AbortReason, PduError } from './pdu.js';
import { Status } from './status.js';
import { collectingSink } from './sinks.js';
import { AssociationClosedError, ResponseTimeoutError } from './errors.js';
import type { StoreReceiver, StoreRequest } from './store-service.js';
import { VERIFICATION_SOP_CLASS } from '../dicom/sop-class.js';

export {
  AssociationClosedError,
  AssociationRejectedError,
  DimseStatusError,
  ResponseTimeoutError,
} from './errors.js';
// Opening an association lives in connect.ts; most callers know it from here.
export { openAssociation, type ClientOptions } from './connect.js';

export interface ClientContext {
  id: number;
  abstractSyntax: string;
  transferSyntax: string;
}

/** Called with each pending response of a request, and the identifier it carries. */
export type PendingListener = (response: Command, dataset: Buffer | undefined) => void;

/** Receives the C-STORE sub-operations the peer sends on this association (C-GET). */
export type IncomingStoreHandler = (request: StoreRequest) => StoreReceiver;

interface Waiter {
  onPending: PendingListener | undefined;
  resolve: (command: Command) => void;
  reject: (error: Error) => void;
  /** Re-armed at each response: a retrieve may take long, but the peer must keep talking. */
  timeoutMs: number;
  timer: NodeJS.Timeout | undefined;
}

/** Largest identifier accepted in a response (C-FIND matches are small datasets). */
const MAX_RESPONSE_DATASET_BYTES = 4 * 1024 * 1024;

function isPending(status: number | undefined): boolean {
  return status === Status.Pending || status === Status.PendingWarning;
}

/** A requestor-side association: the bridge as SCU. */
export class ClientAssociation {
  readonly callingAe: string;
  readonly calledAe: string;
  #association: Association;
  #accepted: ClientContext[];
  #waiters = new Map<number, Waiter>();
  #nextMessageId = 1;
  #closed: Promise<void>;
  #storeHandler: IncomingStoreHandler | undefined;
  /** Responses to incoming C-STOREs leave in the order the requests came. */
  #answers: Promise<void> = Promise.resolve();

  constructor(
    association: Association,
    accepted: ClientContext[],
    closed: Promise<void>,
    aes: { callingAe: string; calledAe: string },
  ) {
    this.#association = association;
    this.#accepted = accepted;
    this.#closed = closed;
    this.callingAe = aes.callingAe;
    this.calledAe = aes.calledAe;
  }

  /** The accepted contexts, in the order proposed. */
  get contexts(): readonly ClientContext[] {
    return this.#accepted;
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

  /**
   * Resolve with the final response to `messageId`; pending responses (0xFF00, 0xFF01) go to
   * `onPending`. With `timeoutMs`, the association is aborted when the peer stays silent longer.
   */
  response(messageId: number, onPending?: PendingListener, timeoutMs = 0): Promise<Command> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { onPending, resolve, reject, timeoutMs, timer: undefined };
      this.#waiters.set(messageId, waiter);
      this.#armWaiter(messageId, waiter);
    });
  }

  #armWaiter(messageId: number, waiter: Waiter): void {
    clearTimeout(waiter.timer);
    if (waiter.timeoutMs <= 0) return;
    waiter.timer = setTimeout(() => {
      this.#waiters.delete(messageId);
      waiter.reject(
        new ResponseTimeoutError(
          `no response from ${this.calledAe} within ${waiter.timeoutMs} ms (message ${messageId})`,
        ),
      );
      this.#association.abort(undefined, 'response timeout');
    }, waiter.timeoutMs);
    waiter.timer.unref();
  }

  /**
   * Send a request and collect its responses. Resolves with the final one; the caller judges
   * its status.
   */
  async request(
    contextId: number,
    command: Command,
    dataset: Buffer | undefined,
    options: { onPending?: PendingListener; timeoutMs?: number } = {},
  ): Promise<Command> {
    const answer = this.response(command.messageId ?? 0, options.onPending, options.timeoutMs);
    return this.#exchange(contextId, command, dataset, command.messageId ?? 0, answer);
  }

  /**
   * Send a request whose response `answer` awaits. The answer may fail (a timeout, the peer
   * leaving) while the send is still held up by a slow peer, so it is handled from the start: a
   * rejection left unhandled would end the process. If the send fails, the wait ends with it.
   */
  async #exchange(
    contextId: number,
    command: Command,
    dataset: Buffer | AsyncIterable<Buffer> | undefined,
    messageId: number,
    answer: Promise<Command>,
  ): Promise<Command> {
    answer.catch(() => undefined);
    try {
      await this.send(contextId, command, dataset);
    } catch (error) {
      clearTimeout(this.#waiters.get(messageId)?.timer);
      this.#waiters.delete(messageId);
      throw error;
    }
    return answer;
  }

  /** Ask the peer to stop the operation `messageId` (C-CANCEL); its final response still comes. */
  async cancel(contextId: number, messageId: number): Promise<void> {
    await this.send(contextId, {
      commandField: CommandField.CCancelRq,
      messageIdBeingRespondedTo: messageId,
      hasDataset: false,
    });
  }

  /** Where C-STORE requests from the peer go (C-GET sub-operations); none refuses them. */
  setStoreHandler(handler: IncomingStoreHandler | undefined): void {
    this.#storeHandler = handler;
  }

  /** Called by the association for every command received. */
  onCommand(message: IncomingCommand): DatasetSink | undefined {
    const { command } = message;
    if (command.commandField === CommandField.CStoreRq) return this.#onStore(message);
    const id = command.messageIdBeingRespondedTo;
    const waiter = id === undefined ? undefined : this.#waiters.get(id);
    if (!waiter)
      throw new PduError('response to no outstanding request', AbortReason.UnexpectedPdu);
    const deliver = (dataset: Buffer | undefined): void => {
      if (isPending(command.status)) {
        this.#armWaiter(id!, waiter);
        waiter.onPending?.(command, dataset);
        return;
      }
      clearTimeout(waiter.timer);
      this.#waiters.delete(id!);
      waiter.resolve(command);
    };
    if (!command.hasDataset) {
      deliver(undefined);
      return undefined;
    }
    return collectingSink(MAX_RESPONSE_DATASET_BYTES, deliver, (error) =>
      this.#association.abort(undefined, error.message),
    );
  }

  #onStore(message: IncomingCommand): DatasetSink {
    const { command } = message;
    const context = this.#accepted.find((pc) => pc.id === message.contextId);
    if (!this.#storeHandler || !context)
      throw new PduError('C-STORE request the bridge did not ask for', AbortReason.UnexpectedPdu);
    // Without a dataset its receiver would wait for ever, and the retrieve with it.
    if (!command.hasDataset)
      throw new PduError('C-STORE request without a dataset', AbortReason.UnexpectedPdu);
    const receiver = this.#storeHandler({
      callingAe: this.calledAe,
      calledAe: this.callingAe,
      sopClassUid: command.affectedSopClassUid ?? '',
      sopInstanceUid: command.affectedSopInstanceUid ?? '',
      transferSyntaxUid: context.transferSyntax,
      contextSopClassUid: context.abstractSyntax,
    });
    this.#answers = this.#answers.then(async () => {
      const { status, errorComment } = await receiver.outcome;
      if (this.#association.phase === 'closed') return;
      await this.send(message.contextId, {
        commandField: CommandField.CStoreRsp,
        messageIdBeingRespondedTo: command.messageId ?? 0,
        affectedSopClassUid: command.affectedSopClassUid,
        affectedSopInstanceUid: command.affectedSopInstanceUid,
        hasDataset: false,
        status,
        errorComment: errorComment?.slice(0, 64),
      }).catch(() => undefined);
    });
    return receiver;
  }

  /** Settles when every incoming C-STORE has been answered. */
  storesAnswered(): Promise<void> {
    return this.#answers;
  }

  onClose(reason: string): void {
    for (const waiter of this.#waiters.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(new AssociationClosedError(`association closed: ${reason}`));
    }
    this.#waiters.clear();
  }

  async send(
    contextId: number,
    command: Command,
    dataset?: Buffer | AsyncIterable<Buffer>,
  ): Promise<void> {
    await this.#association.sendMessage(contextId, command, dataset);
  }

  /** C-ECHO; resolves with the status. */
  async echo(): Promise<number> {
    const context = this.#accepted.find((pc) => pc.abstractSyntax === VERIFICATION_SOP_CLASS);
    if (!context) throw new Error('Verification was not accepted by the peer');
    const messageId = this.nextMessageId();
    const answer = await this.request(
      context.id,
      {
        commandField: CommandField.CEchoRq,
        messageId,
        affectedSopClassUid: context.abstractSyntax,
        hasDataset: false,
      },
      undefined,
    );
    return answer.status ?? -1;
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
    options: { timeoutMs?: number; moveOriginator?: { aeTitle: string; messageId: number } } = {},
  ): Promise<Command> {
    const context = this.findContext(sopClassUid, transferSyntax);
    if (!context)
      throw new Error(`no accepted presentation context for ${sopClassUid} in ${transferSyntax}`);
    const messageId = this.nextMessageId();
    const answer = this.response(messageId, undefined, options.timeoutMs);
    const command: Command = {
      commandField: CommandField.CStoreRq,
      messageId,
      priority: 0,
      affectedSopClassUid: sopClassUid,
      affectedSopInstanceUid: sopInstanceUid,
      hasDataset: true,
      moveOriginatorAe: options.moveOriginator?.aeTitle,
      moveOriginatorMessageId: options.moveOriginator?.messageId,
    };
    return this.#exchange(context.id, command, dataset, messageId, answer);
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

/** Run `work` on an open association, then release it; abort it when `work` fails. */
export async function useAssociation<T>(
  client: ClientAssociation,
  work: (client: ClientAssociation) => Promise<T>,
): Promise<T> {
  try {
    const result = await work(client);
    await client.release();
    return result;
  } catch (error) {
    await client.abort().catch(() => undefined);
    throw error;
  }
}
