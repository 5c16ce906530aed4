import { connect as netConnect } from 'node:net';
import type { Logger } from 'pino';
import { Association, checkPeerMaxPdu } from './association.js';
import { ClientAssociation } from './client.js';
import { AssociationClosedError, AssociationRejectedError } from './errors.js';
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
  type ProposedContext,
  type RoleSelection,
} from './pdu.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './implementation.js';

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
  /** Gives up the set-up: the connection is closed and the open rejects with its reason. */
  signal?: AbortSignal;
}

/** Open an association to a peer; rejects with `AssociationRejectedError` when refused. */
export function openAssociation(options: ClientOptions): Promise<ClientAssociation> {
  const proposed: ProposedContext[] = options.contexts.map((pc, index) => ({
    ...pc,
    id: 2 * index + 1,
  }));
  const maxPduLength = options.maxPduLength ?? 256 * 1024;
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: options.host, port: options.port, noDelay: true });
    let client: ClientAssociation | undefined;
    let settled = false;
    let markClosed!: () => void;
    const closed = new Promise<void>((r) => (markClosed = r));
    const onAbort = (): void => {
      fail(signal!.reason as Error);
      socket.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const fail = (error: Error): void => {
      if (!settled) {
        settled = true;
        signal?.removeEventListener('abort', onAbort);
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
          checkPeerMaxPdu(ac.user.maxPduLength);
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
          client = new ClientAssociation(association, accepted, closed, {
            callingAe: options.callingAe,
            calledAe: options.calledAe,
          });
          settled = true;
          signal?.removeEventListener('abort', onAbort);
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
