import { decodeIdentifier } from '../dicom/identifier-decode.js';
import { encodeIdentifier, type Identifier, type IdentifierEncoding } from '../dicom/identifier.js';
import { QR_SOP_CLASSES, type QrModel } from '../dicom/sop-class.js';
import { TransferSyntax } from '../dicom/transfer-syntax.js';
import type { ClientAssociation, ClientContext, IncomingStoreHandler } from './client.js';
import { CommandField, type Command } from './command.js';
import {
  DimseStatusError,
  MoveDestinationUnknownError,
  RetrieveCancelledError,
  RetrieveIncompleteError,
  SubOperationsFailedError,
  TooManyMatchesError,
  MatchesTooLargeError,
  type SubOperationCounts,
} from './errors.js';
import { Status } from './status.js';

export interface OperationOptions {
  /** Abort the association when the peer is silent this long between two responses. */
  timeoutMs?: number;
  /** Aborting sends C-CANCEL; the operation then ends with `RetrieveCancelledError`. */
  signal?: AbortSignal;
}

export interface FindOptions extends OperationOptions {
  /** More matches than this: C-CANCEL, then `TooManyMatchesError`. */
  maxMatches?: number;
  /** Enough: after this many matches send C-CANCEL and return them (no error). */
  limit?: number;
}

export interface RetrieveOptions extends OperationOptions {
  /** Each pending response's counts, as the peer reports them. */
  onProgress?: (counts: SubOperationCounts) => void;
}

/** Transfer syntaxes proposed for query/retrieve contexts (identifiers are small). */
export const QR_TRANSFER_SYNTAXES = [
  TransferSyntax.ExplicitVrLittleEndian,
  TransferSyntax.ImplicitVrLittleEndian,
];

function contextFor(client: ClientAssociation, sopClassUid: string, what: string): ClientContext {
  const context = client.findContext(sopClassUid);
  if (!context) throw new Error(`${client.calledAe} did not accept ${what} (${sopClassUid})`);
  return context;
}

function encodingOfContext(context: ClientContext): IdentifierEncoding {
  return { explicitVr: context.transferSyntax !== TransferSyntax.ImplicitVrLittleEndian };
}

/** Send C-CANCEL for `messageId` when `signal` aborts; returns the clean-up. */
function cancelOn(
  client: ClientAssociation,
  contextId: number,
  messageId: number,
  signal: AbortSignal | undefined,
): () => void {
  if (!signal) return () => undefined;
  const onAbort = (): void => void client.cancel(contextId, messageId).catch(() => undefined);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/** Bytes of C-FIND matches one query may gather (10,000 typical matches take a few MB). */
export const MAX_FIND_BYTES = 16 * 1024 * 1024;

/**
 * C-FIND: every match the peer returns, decoded. Refusals and failures become
 * `DimseStatusError`; a cancelled query `RetrieveCancelledError`.
 */
export async function cFind(
  client: ClientAssociation,
  model: QrModel,
  query: Identifier,
  options: FindOptions = {},
): Promise<Identifier[]> {
  const context = contextFor(client, QR_SOP_CLASSES[model].find, `${model} C-FIND`);
  const encoding = encodingOfContext(context);
  const messageId = client.nextMessageId();
  const matches: Identifier[] = [];
  const maxMatches = options.maxMatches ?? 10_000;
  let bytes = 0;
  let tooLarge = false;
  let tooMany = false;
  let limited = false;
  let decodeError: Error | undefined;
  // Messages go out in order (Association.sendMessage), so a C-CANCEL follows its request.
  const answer = client.request(
    context.id,
    {
      commandField: CommandField.CFindRq,
      messageId,
      priority: 0,
      affectedSopClassUid: context.abstractSyntax,
      hasDataset: true,
    },
    encodeIdentifier(query, encoding),
    {
      timeoutMs: options.timeoutMs,
      onPending: (_response, dataset) => {
        if (tooMany || tooLarge || limited || decodeError) return;
        if (!dataset) return;
        // Decoded, a match takes several times its bytes: a PACS answering with huge
        // identifiers must not exhaust the heap before the match count is reached.
        bytes += dataset.length;
        if (bytes > MAX_FIND_BYTES) {
          tooLarge = true;
          void client.cancel(context.id, messageId).catch(() => undefined);
          return;
        }
        try {
          matches.push(decodeIdentifier(dataset, encoding));
        } catch (error) {
          decodeError = error as Error;
        }
        if (matches.length > maxMatches) {
          tooMany = true;
          void client.cancel(context.id, messageId).catch(() => undefined);
        } else if (options.limit !== undefined && matches.length >= options.limit) {
          limited = true;
          void client.cancel(context.id, messageId).catch(() => undefined);
        }
      },
    },
  );
  const stopCancel = cancelOn(client, context.id, messageId, options.signal);
  try {
    const final = await answer;
    if (decodeError) throw decodeError;
    if (tooMany) throw new TooManyMatchesError(maxMatches);
    if (tooLarge) throw new MatchesTooLargeError(MAX_FIND_BYTES);
    // A peer may finish before it sees the C-CANCEL: success or cancel, the matches are enough.
    if (limited && (final.status === Status.Cancel || final.status === Status.Success))
      return matches;
    if (final.status === Status.Cancel) throw new RetrieveCancelledError(countsOf(final));
    if (final.status !== Status.Success)
      throw new DimseStatusError(final.status ?? -1, final.errorComment);
    return matches;
  } finally {
    stopCancel();
  }
}

/** Counts a response carries; absent fields count as 0. */
export function countsOf(response: Command): SubOperationCounts {
  return {
    remaining: response.remaining ?? 0,
    completed: response.completed ?? 0,
    failed: response.failed ?? 0,
    warning: response.warning ?? 0,
  };
}

/**
 * Judge a C-MOVE/C-GET final response. Only a success whose counts add up is a success:
 * failed or warning sub-operations, fewer completed than announced, refusals (0xA7xx, 0xA801,
 * 0xA9xx, 0xCxxx) and cancellation are typed errors.
 */
export function judgeRetrieve(final: Command, announced: number): SubOperationCounts {
  const counts = countsOf(final);
  switch (final.status) {
    case Status.Success:
      if (counts.failed > 0 || counts.warning > 0)
        throw new SubOperationsFailedError(final.status, counts, final.errorComment);
      if (counts.completed < announced) throw new RetrieveIncompleteError(announced, counts);
      return counts;
    case Status.SubOperationsCompleteWithFailures:
      throw new SubOperationsFailedError(final.status, counts, final.errorComment);
    case Status.Cancel:
      throw new RetrieveCancelledError(counts);
    case Status.MoveDestinationUnknown:
      throw new MoveDestinationUnknownError(final.errorComment);
    default:
      throw new DimseStatusError(final.status ?? -1, final.errorComment, counts);
  }
}

async function retrieve(
  client: ClientAssociation,
  context: ClientContext,
  command: Command,
  identifier: Identifier,
  options: RetrieveOptions,
): Promise<SubOperationCounts> {
  let announced = 0;
  // Messages go out in order (Association.sendMessage), so a C-CANCEL follows its request.
  const answer = client.request(
    context.id,
    command,
    encodeIdentifier(identifier, encodingOfContext(context)),
    {
      timeoutMs: options.timeoutMs,
      onPending: (response) => {
        const counts = countsOf(response);
        announced = Math.max(
          announced,
          counts.remaining + counts.completed + counts.failed + counts.warning,
        );
        options.onProgress?.(counts);
      },
    },
  );
  const stopCancel = cancelOn(client, context.id, command.messageId ?? 0, options.signal);
  try {
    const final = await answer;
    return judgeRetrieve(final, announced);
  } finally {
    stopCancel();
  }
}

/**
 * C-MOVE of what `identifier` selects to `destination`. Resolves with the sub-operation counts
 * of a complete success; everything else is a typed error (see `judgeRetrieve`).
 */
export function cMove(
  client: ClientAssociation,
  model: QrModel,
  destination: string,
  identifier: Identifier,
  options: RetrieveOptions = {},
): Promise<SubOperationCounts> {
  const context = contextFor(client, QR_SOP_CLASSES[model].move, `${model} C-MOVE`);
  return retrieve(
    client,
    context,
    {
      commandField: CommandField.CMoveRq,
      messageId: client.nextMessageId(),
      priority: 0,
      affectedSopClassUid: context.abstractSyntax,
      moveDestination: destination,
      hasDataset: true,
    },
    identifier,
    options,
  );
}

/**
 * C-GET of what `identifier` selects: the peer sends the instances back on this association
 * as C-STORE sub-operations, each handed to `store` and answered with its outcome. The
 * association must have been opened with storage contexts and the SCP role proposed.
 * Resolves once every sub-operation has been answered.
 */
export async function cGet(
  client: ClientAssociation,
  model: QrModel,
  identifier: Identifier,
  store: IncomingStoreHandler,
  options: RetrieveOptions = {},
): Promise<SubOperationCounts> {
  const context = contextFor(client, QR_SOP_CLASSES[model].get, `${model} C-GET`);
  client.setStoreHandler(store);
  try {
    const counts = await retrieve(
      client,
      context,
      {
        commandField: CommandField.CGetRq,
        messageId: client.nextMessageId(),
        priority: 0,
        affectedSopClassUid: context.abstractSyntax,
        hasDataset: true,
      },
      identifier,
      options,
    );
    return counts;
  } finally {
    await client.storesAnswered();
    client.setStoreHandler(undefined);
  }
}
