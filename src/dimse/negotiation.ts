import { SUPPORTED_TRANSFER_SYNTAXES } from '../dicom/transfer-syntax.js';
import { PcResult, type AcceptedContext, type ProposedContext, type RoleSelection } from './pdu.js';

export interface NegotiationResult {
  contexts: AcceptedContext[];
  /** Accepted context id → abstract syntax and transfer syntax. */
  accepted: Map<number, { abstractSyntax: string; transferSyntax: string }>;
  roles: RoleSelection[];
}

export interface NegotiationOptions {
  /** Whether a transfer syntax is acceptable for an abstract syntax (default: any supported). */
  acceptsTransferSyntax?: (abstractSyntax: string, transferSyntax: string) => boolean;
  /** Accept the requestor's proposal to act as SCP (C-GET sub-operations come back to it). */
  acceptRequestorScp?: boolean;
}

/**
 * Answer each proposed presentation context. The requestor's order of transfer syntaxes is its
 * preference, and the bridge stores what it receives, so the first supported one wins: a PACS
 * that offers its stored (compressed) syntax first sends it unchanged.
 */
export function negotiateContexts(
  proposed: ProposedContext[],
  isAbstractSyntaxSupported: (uid: string) => boolean,
  proposedRoles: RoleSelection[],
  options: NegotiationOptions = {},
): NegotiationResult {
  const acceptsSyntax = options.acceptsTransferSyntax ?? (() => true);
  const contexts: AcceptedContext[] = [];
  const accepted = new Map<number, { abstractSyntax: string; transferSyntax: string }>();
  for (const pc of proposed) {
    if (!isAbstractSyntaxSupported(pc.abstractSyntax)) {
      contexts.push({
        id: pc.id,
        result: PcResult.AbstractSyntaxNotSupported,
        transferSyntax: pc.transferSyntaxes[0] ?? '',
      });
      continue;
    }
    const transferSyntax = pc.transferSyntaxes.find(
      (ts) => SUPPORTED_TRANSFER_SYNTAXES.has(ts) && acceptsSyntax(pc.abstractSyntax, ts),
    );
    if (!transferSyntax) {
      contexts.push({
        id: pc.id,
        result: PcResult.TransferSyntaxesNotSupported,
        transferSyntax: pc.transferSyntaxes[0] ?? '',
      });
      continue;
    }
    contexts.push({ id: pc.id, result: PcResult.Acceptance, transferSyntax });
    accepted.set(pc.id, { abstractSyntax: pc.abstractSyntax, transferSyntax });
  }
  // As a storage SCP the bridge lets the requestor act as SCU. The requestor may also act as
  // storage SCP (receiving C-GET sub-operations) when the bridge serves C-GET.
  const roles = proposedRoles
    .filter((role) => isAbstractSyntaxSupported(role.sopClassUid))
    .map((role) => ({
      sopClassUid: role.sopClassUid,
      scu: role.scu,
      scp: role.scp && (options.acceptRequestorScp ?? false),
    }));
  return { contexts, accepted, roles };
}
