import { decodeIdentifier } from '../dicom/identifier-decode.js';
import type { Logger } from 'pino';
import {
  IdentifierError,
  encodeIdentifier,
  identifierOf,
  type Identifier,
  type IdentifierEncoding,
} from '../dicom/identifier.js';
import { TransferSyntax } from '../dicom/transfer-syntax.js';
import type { ClientAssociation } from './client.js';
import { CommandField, type Command } from './command.js';
import { QrRefusal, type QrRequest, type QrService, type RetrieveInstance } from './qr-service.js';
import { Status, formatStatus } from './status.js';
import { MoveSender } from './move-sender.js';
import { sendInstance, type SubOperationResult } from './store-scu.js';

/** One query/retrieve request being served on an association. */
export interface QrOperation {
  request: QrRequest;
  command: Command;
  /** The identifier bytes, in the transfer syntax of the request's context. */
  identifier: Buffer;
  transferSyntax: string;
  /** Aborted by C-CANCEL or when the association closes. */
  signal: AbortSignal;
  /** Send a response on the request's context. */
  respond(response: Command, dataset?: Buffer): Promise<void>;
  /** Sends C-STOREs back to the requestor on this association (C-GET). */
  requestor: ClientAssociation;
  service: QrService;
  log: Logger;
}

const RESPONSE_FIELD: Record<number, number> = {
  [CommandField.CFindRq]: CommandField.CFindRsp,
  [CommandField.CMoveRq]: CommandField.CMoveRsp,
  [CommandField.CGetRq]: CommandField.CGetRsp,
};

function encodingOf(op: QrOperation): IdentifierEncoding {
  return { explicitVr: op.transferSyntax !== TransferSyntax.ImplicitVrLittleEndian };
}

function response(op: QrOperation, status: number, extra: Partial<Command> = {}): Command {
  return {
    commandField: RESPONSE_FIELD[op.command.commandField]!,
    messageIdBeingRespondedTo: op.command.messageId ?? 0,
    affectedSopClassUid: op.command.affectedSopClassUid,
    hasDataset: false,
    status,
    ...extra,
  };
}

/** Decode the identifier, or answer the failure and return undefined. */
async function identifierOrFail(op: QrOperation): Promise<Identifier | undefined> {
  try {
    return decodeIdentifier(op.identifier, encodingOf(op));
  } catch (error) {
    const comment = error instanceof IdentifierError ? error.message : 'undecodable identifier';
    op.log.warn({ err: comment }, 'query/retrieve identifier refused');
    await op.respond(
      response(op, Status.IdentifierDoesNotMatchSopClass, { errorComment: comment.slice(0, 64) }),
    );
    return undefined;
  }
}

async function refuse(op: QrOperation, error: unknown, fallbackStatus: number): Promise<void> {
  const status = error instanceof QrRefusal ? error.status : fallbackStatus;
  const comment = (error as Error).message;
  op.log.warn({ status: formatStatus(status), err: comment }, 'query/retrieve request refused');
  await op.respond(response(op, status, { errorComment: comment.slice(0, 64) }));
}

/** C-FIND: one pending response per match, then success (or cancel). */
export async function serveFind(op: QrOperation): Promise<void> {
  const identifier = await identifierOrFail(op);
  if (!identifier) return;
  let matches: Identifier[];
  try {
    matches = op.service.find(op.request, identifier);
  } catch (error) {
    await refuse(op, error, Status.UnableToProcess);
    return;
  }
  let sent = 0;
  for (const match of matches) {
    // Let a C-CANCEL that has arrived be read: answers are written without waiting otherwise.
    if (sent > 0) await new Promise((resolve) => setImmediate(resolve));
    if (op.signal.aborted) break;
    await op.respond(
      response(op, Status.Pending, { hasDataset: true }),
      encodeIdentifier(match, encodingOf(op)),
    );
    sent++;
  }
  const final = sent < matches.length ? Status.Cancel : Status.Success;
  op.log.info(
    {
      callingAe: op.request.callingAe,
      matches: matches.length,
      sent,
      cancelled: final === Status.Cancel,
    },
    'C-FIND answered',
  );
  await op.respond(response(op, final));
}

interface Tally {
  remaining: number;
  completed: number;
  failed: number;
  warning: number;
  failedUids: string[];
}

/**
 * Run the sub-operations of a C-MOVE or C-GET: a pending response after each, a final one with
 * the counts (0xB000 and the failed SOP Instance UIDs when any failed, 0xFE00 when cancelled).
 */
async function runSubOperations(
  op: QrOperation,
  instances: RetrieveInstance[],
  send: (instance: RetrieveInstance) => Promise<SubOperationResult>,
): Promise<void> {
  const tally: Tally = {
    remaining: instances.length,
    completed: 0,
    failed: 0,
    warning: 0,
    failedUids: [],
  };
  const counts = (): Partial<Command> => ({
    completed: tally.completed,
    failed: tally.failed,
    warning: tally.warning,
  });
  for (const instance of instances) {
    if (op.signal.aborted) break;
    const result = await send(instance);
    tally.remaining--;
    tally[result.outcome]++;
    if (result.convertedTo)
      op.log.info(
        {
          sopInstanceUid: instance.sopInstanceUid,
          storedAs: instance.transferSyntaxUid,
          sentAs: result.convertedTo,
        },
        'instance sent converted',
      );
    if (result.outcome !== 'completed')
      op.log.warn(
        { sopInstanceUid: instance.sopInstanceUid, outcome: result.outcome, detail: result.detail },
        'sub-operation did not complete',
      );
    if (result.outcome === 'failed') tally.failedUids.push(instance.sopInstanceUid);
    if (tally.remaining > 0 && !op.signal.aborted)
      await op.respond(response(op, Status.Pending, { remaining: tally.remaining, ...counts() }));
  }
  const summary = { callingAe: op.request.callingAe, ...counts(), remaining: tally.remaining };
  if (op.signal.aborted && tally.remaining > 0) {
    op.log.info(summary, 'retrieve cancelled');
    await op.respond(response(op, Status.Cancel, { remaining: tally.remaining, ...counts() }));
    return;
  }
  op.log.info(summary, 'retrieve finished');
  if (tally.failed === 0 && tally.warning === 0) {
    await op.respond(response(op, Status.Success, counts()));
    return;
  }
  // PS3.4 C.4.2.1.4.1: the identifier of a final response with failures lists them.
  const failedList = identifierOf({});
  if (tally.failedUids.length > 0)
    failedList.set(0x00080058, { tag: 0x00080058, vr: 'UI', value: tally.failedUids.join('\\') });
  await op.respond(
    response(op, Status.SubOperationsCompleteWithFailures, {
      ...counts(),
      hasDataset: failedList.size > 0,
    }),
    failedList.size > 0 ? encodeIdentifier(failedList, encodingOf(op)) : undefined,
  );
}

async function selectOrRefuse(
  op: QrOperation,
  identifier: Identifier,
  outOfResources: number,
): Promise<{ instances: RetrieveInstance[]; release: () => void } | undefined> {
  const release = op.service.acquireRetrieveSlot();
  if (!release) {
    await refuse(
      op,
      new QrRefusal(outOfResources, 'too many retrieves in progress'),
      outOfResources,
    );
    return undefined;
  }
  try {
    return { instances: op.service.select(op.request, identifier), release };
  } catch (error) {
    release();
    await refuse(op, error, Status.UnableToProcess);
    return undefined;
  }
}

/** C-MOVE: the selected instances go to a configured destination on a new association. */
export async function serveMove(op: QrOperation): Promise<void> {
  const identifier = await identifierOrFail(op);
  if (!identifier) return;
  const destinationAe = op.command.moveDestination ?? '';
  const destination = op.service.moveDestination(destinationAe);
  if (!destination) {
    await refuse(
      op,
      new QrRefusal(
        Status.MoveDestinationUnknown,
        `move destination ${destinationAe} is not configured`,
      ),
      Status.MoveDestinationUnknown,
    );
    return;
  }
  const selected = await selectOrRefuse(op, identifier, Status.OutOfResourcesMove);
  if (!selected) return;
  try {
    if (selected.instances.length === 0) {
      await op.respond(response(op, Status.Success, { completed: 0, failed: 0, warning: 0 }));
      return;
    }
    let sender: MoveSender;
    try {
      sender = await MoveSender.open(selected.instances, {
        destination,
        callingAe: op.request.calledAe,
        transcoding: op.service.transcoding,
        connectTimeoutMs: op.service.sendTimeoutMs,
        log: op.log,
      });
    } catch (error) {
      const comment = `cannot reach ${destinationAe} at ${destination.host}:${destination.port}: ${(error as Error).message}`;
      op.log.warn({ err: comment }, 'C-MOVE destination unreachable');
      await op.respond(
        response(op, Status.UnableToProcess, {
          errorComment: comment.slice(0, 64),
          failed: selected.instances.length,
          completed: 0,
          warning: 0,
        }),
      );
      return;
    }
    try {
      await runSubOperations(op, sender.order, (instance) =>
        sender.send(instance, {
          timeoutMs: op.service.sendTimeoutMs,
          moveOriginator: { aeTitle: op.request.callingAe, messageId: op.command.messageId ?? 0 },
          signal: op.signal,
        }),
      );
    } finally {
      sender.close();
    }
  } finally {
    selected.release();
  }
}

/** C-GET: the selected instances go back to the requestor on this association. */
export async function serveGet(op: QrOperation): Promise<void> {
  const identifier = await identifierOrFail(op);
  if (!identifier) return;
  const selected = await selectOrRefuse(op, identifier, Status.OutOfResourcesGet);
  if (!selected) return;
  try {
    await runSubOperations(op, selected.instances, (instance) =>
      sendInstance(op.requestor, instance, {
        transcoding: op.service.transcoding,
        timeoutMs: op.service.sendTimeoutMs,
        signal: op.signal,
      }),
    );
  } finally {
    selected.release();
  }
}
