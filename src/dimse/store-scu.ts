import { readWhole } from '../dicom/part10-stream.js';
import { CONVERSION_TARGETS, conversionsFor, type TranscodingPolicy } from '../dicom/transcode.js';
import type { ClientAssociation, ClientOptions } from './client.js';
import type { RetrieveInstance, Transcoding } from './qr-service.js';
import { Status, formatStatus } from './status.js';

/** PS3.8 allows 128 presentation contexts per association. */
const MAX_CONTEXTS = 128;

/** How one C-STORE sub-operation ended, counted as PS3.4 counts them. */
export interface SubOperationResult {
  outcome: 'completed' | 'warning' | 'failed';
  /** Why it failed or warned, for the log. */
  detail?: string;
  /** The transfer syntax it was sent in, when not the stored one. */
  convertedTo?: string;
}

export interface SendOptions {
  /** What the peer gets when it refuses the instance's own syntax. */
  transcoding: Transcoding;
  timeoutMs: number;
  /** For C-MOVE sub-operations: who asked for the move. */
  moveOriginator?: { aeTitle: string; messageId: number };
  /** Gives up a conversion under way (C-CANCEL, the association gone). */
  signal?: AbortSignal;
}

function contextList(): {
  contexts: ClientOptions['contexts'];
  add(abstractSyntax: string, transferSyntaxes: string[]): void;
} {
  const seen = new Set<string>();
  const contexts: ClientOptions['contexts'] = [];
  return {
    contexts,
    add(abstractSyntax, transferSyntaxes) {
      const key = `${abstractSyntax}|${transferSyntaxes.join(',')}`;
      if (seen.has(key) || contexts.length >= MAX_CONTEXTS) return;
      seen.add(key);
      contexts.push({ abstractSyntax, transferSyntaxes });
    },
  };
}

/**
 * The presentation contexts to propose for sending `instances` as stored: one per SOP class and
 * stored transfer syntax, each holding that syntax alone, so that a peer accepting it takes the
 * instance as received.
 */
export function asStoredContexts(
  instances: readonly RetrieveInstance[],
): ClientOptions['contexts'] {
  const list = contextList();
  for (const instance of instances) list.add(instance.sopClassUid, [instance.transferSyntaxUid]);
  return list.contexts;
}

/**
 * The presentation contexts to propose for sending `instances` that a peer did not accept as
 * stored: one per SOP class with an instance that can be converted (see `conversionsFor`),
 * offering the syntaxes conversions produce. One per class: gdcmscu 3.0 reads every instance of
 * a SOP class in the syntax of its last accepted context.
 */
export function conversionContexts(
  instances: readonly RetrieveInstance[],
  policy: TranscodingPolicy,
): ClientOptions['contexts'] {
  const list = contextList();
  for (const instance of instances)
    if (conversionsFor(instance.transferSyntaxUid, policy).targets.length > 0)
      list.add(instance.sopClassUid, [...CONVERSION_TARGETS]);
  return list.contexts;
}

/**
 * Send one stored instance with C-STORE: its dataset bytes as received, on a context with its
 * own transfer syntax; only when the peer accepted none, the instance converted into a syntax it
 * accepted, as the transcoding policy allows (re-encoded, or decompressed). Never throws: the
 * outcome says how the sub-operation counts, and why it failed.
 */
export async function sendInstance(
  client: ClientAssociation,
  instance: RetrieveInstance,
  options: SendOptions,
): Promise<SubOperationResult> {
  const { sopClassUid, sopInstanceUid, transferSyntaxUid } = instance;
  try {
    let syntax = transferSyntaxUid;
    let dataset: Buffer | AsyncIterable<Buffer>;
    if (client.findContext(sopClassUid, transferSyntaxUid)) {
      dataset = await instance.open();
    } else {
      const refused = `${client.calledAe} accepted no presentation context for ${sopClassUid} in ${transferSyntaxUid}`;
      const conversions = conversionsFor(transferSyntaxUid, options.transcoding.policy);
      if ('refusal' in conversions)
        return { outcome: 'failed', detail: `${refused}, and ${conversions.refusal}` };
      const target = conversions.targets.find((ts) => client.findContext(sopClassUid, ts));
      if (!target)
        return {
          outcome: 'failed',
          detail: `${refused} or in ${conversions.targets.join(' or ')}`,
        };
      dataset = await options.transcoding.convert(
        await readWhole(await instance.open()),
        transferSyntaxUid,
        target,
        options.signal,
      );
      syntax = target;
    }
    const response = await client.store(sopClassUid, sopInstanceUid, syntax, dataset, {
      timeoutMs: options.timeoutMs,
      moveOriginator: options.moveOriginator,
    });
    const status = response.status ?? -1;
    const converted = syntax === transferSyntaxUid ? {} : { convertedTo: syntax };
    if (status === Status.Success) return { outcome: 'completed', ...converted };
    // PS3.4 B.2.3: 0xB000, 0xB006 and 0xB007 are warnings: the instance was stored.
    if (status === 0xb000 || status === 0xb006 || status === 0xb007)
      return { outcome: 'warning', detail: `status ${formatStatus(status)}`, ...converted };
    return {
      outcome: 'failed',
      detail: `status ${formatStatus(status)}${response.errorComment ? `: ${response.errorComment}` : ''}`,
      ...converted,
    };
  } catch (error) {
    return { outcome: 'failed', detail: (error as Error).message };
  }
}
