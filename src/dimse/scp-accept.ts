import type { Logger } from 'pino';
import { qrServiceOf } from '../dicom/sop-class.js';
import type { AePolicy } from './ae-policy.js';
import type { Association } from './association.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './implementation.js';
import { negotiateContexts, type NegotiationResult } from './negotiation.js';
import {
  APPLICATION_CONTEXT,
  RejectProviderReason,
  RejectResult,
  RejectSource,
  RejectUserReason,
  encodeAssociateAc,
  encodeAssociateRj,
  type AssociateRj,
  type AssociateRq,
} from './pdu.js';
import { QR_TRANSFER_SYNTAXES } from './qr-scu.js';

const QR_SYNTAXES: ReadonlySet<string> = new Set(QR_TRANSFER_SYNTAXES);

export interface AcceptContext {
  policy: AePolicy;
  maxAssociations: number;
  maxPduLength: number;
  /** Associations open now, and whether the server is shutting down. */
  load(): { open: number; closing: boolean };
  isSupported(sopClassUid: string): boolean;
  /** Query/retrieve is served: its contexts and the requestor's SCP role can be accepted. */
  qrEnabled: boolean;
  rejected(why: string): void;
}

/**
 * Answer an A-ASSOCIATE-RQ: A-ASSOCIATE-RJ for an unknown application context, a peer the AE
 * policy refuses, or one association too many; otherwise A-ASSOCIATE-AC with the negotiated
 * presentation contexts and roles, which are returned.
 */
export function answerAssociateRq(
  association: Association,
  rq: AssociateRq,
  address: string | undefined,
  log: Logger,
  context: AcceptContext,
): NegotiationResult | undefined {
  const who = { callingAe: rq.callingAe, calledAe: rq.calledAe, address };
  const reject = (why: string, rejection: AssociateRj): undefined => {
    context.rejected(why);
    association.sendAndClose(encodeAssociateRj(rejection), 'aborted-by-us');
    return undefined;
  };
  if (rq.applicationContext !== APPLICATION_CONTEXT) {
    log.warn(
      { ...who, applicationContext: rq.applicationContext },
      'association rejected: unknown application context',
    );
    return reject('unknown application context', {
      result: RejectResult.Permanent,
      source: RejectSource.ServiceUser,
      reason: RejectUserReason.ApplicationContextNotSupported,
    });
  }
  const decision = context.policy.check(rq.calledAe, rq.callingAe, address ?? '');
  if (!decision.allowed) {
    log.warn({ ...who, reason: decision.why }, 'association rejected');
    return reject(decision.why, decision.rejection);
  }
  const { open, closing } = context.load();
  if (closing || open >= context.maxAssociations) {
    log.warn(
      { ...who, open, max: context.maxAssociations },
      'association rejected: too many open associations',
    );
    return reject('too many open associations', {
      result: RejectResult.Transient,
      source: RejectSource.ServiceProviderPresentation,
      reason: RejectProviderReason.LocalLimitExceeded,
    });
  }
  const negotiated = negotiateContexts(
    rq.contexts,
    (uid) => context.isSupported(uid),
    rq.user.roles,
    {
      acceptsTransferSyntax: (uid, ts) => !qrServiceOf(uid) || QR_SYNTAXES.has(ts),
      acceptRequestorScp: context.qrEnabled,
    },
  );
  association.sendPdu(
    encodeAssociateAc({
      calledAe: rq.calledAe,
      callingAe: rq.callingAe,
      applicationContext: APPLICATION_CONTEXT,
      contexts: negotiated.contexts,
      user: {
        maxPduLength: context.maxPduLength,
        implementationClassUid: IMPLEMENTATION_CLASS_UID,
        implementationVersionName: IMPLEMENTATION_VERSION_NAME,
        roles: negotiated.roles,
        asyncOps: undefined,
      },
    }),
  );
  log.info(
    { ...who, accepted: negotiated.accepted.size, proposed: rq.contexts.length },
    'association accepted',
  );
  return negotiated;
}
