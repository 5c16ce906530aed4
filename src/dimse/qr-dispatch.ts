import type { Association, DatasetSink, IncomingCommand } from './association.js';
import { qrServiceOf } from '../dicom/sop-class.js';
import { ClientAssociation } from './client.js';
import { CommandField } from './command.js';
import type { RoleSelection } from './pdu.js';
import { serveFind, serveGet, serveMove, type QrOperation } from './qr-scp.js';
import type { QrService } from './qr-service.js';
import { collectingSink } from './sinks.js';

/** Largest C-FIND/C-MOVE/C-GET identifier accepted. */
const MAX_IDENTIFIER_BYTES = 1024 * 1024;

/** What a query/retrieve request needs from the association it arrives on. */
export interface QrSession {
  association: Association;
  /** Sends C-STOREs back to the requestor (C-GET) and takes their responses. */
  requestor: ClientAssociation;
  /** Operations in progress by message id, so C-CANCEL can reach them. */
  operations: Map<number, AbortController>;
  service: QrService;
  /** Run `work` after the requests that came before it have been answered. */
  enqueue(work: () => Promise<void>): void;
}

/**
 * C-FIND, C-MOVE, C-GET: gather the identifier, then serve the request in turn with the
 * association's other requests. Returns the sink for the identifier.
 */
export function receiveQrRequest(
  session: QrSession,
  message: IncomingCommand,
  context: { abstractSyntax: string; transferSyntax: string },
  who: { callingAe: string; calledAe: string },
): DatasetSink {
  const { command } = message;
  const { association } = session;
  const model = qrServiceOf(context.abstractSyntax)!.model;
  const controller = new AbortController();
  const messageId = command.messageId ?? 0;
  session.operations.set(messageId, controller);
  const serve =
    command.commandField === CommandField.CFindRq
      ? serveFind
      : command.commandField === CommandField.CMoveRq
        ? serveMove
        : serveGet;
  return collectingSink(
    MAX_IDENTIFIER_BYTES,
    (identifier) => {
      const operation: QrOperation = {
        request: { ...who, model },
        command,
        identifier,
        transferSyntax: context.transferSyntax,
        signal: controller.signal,
        respond: (response, dataset) =>
          association.sendMessage(message.contextId, response, dataset),
        requestor: session.requestor,
        service: session.service,
        log: association.log,
      };
      session.enqueue(() =>
        serve(operation)
          .catch((error: unknown) =>
            association.log.warn(
              { err: (error as Error).message },
              'query/retrieve operation ended early',
            ),
          )
          .finally(() => session.operations.delete(messageId)),
      );
    },
    (error) => association.abort(undefined, error.message),
  );
}

/**
 * The association seen from the other side: the bridge sends C-STORE sub-operations of a C-GET
 * to the requestor on the storage contexts where the requestor took the SCP role.
 */
export function requestorOf(
  association: Association,
  accepted: ReadonlyMap<number, { abstractSyntax: string; transferSyntax: string }>,
  roles: readonly RoleSelection[],
  who: { callingAe: string; calledAe: string },
): ClientAssociation {
  const scpClasses = new Set(roles.filter((r) => r.scp).map((r) => r.sopClassUid));
  const contexts = [...accepted]
    .filter(([, pc]) => scpClasses.has(pc.abstractSyntax))
    .map(([id, pc]) => ({ id, ...pc }));
  return new ClientAssociation(association, contexts, Promise.resolve(), {
    callingAe: who.calledAe,
    calledAe: who.callingAe,
  });
}
