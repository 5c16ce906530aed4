import { TRANSCODE_TARGETS, canTranscode, transcodeUncompressed } from '../dicom/transcode.js';
import type { ClientAssociation, ClientOptions } from './client.js';
import type { RetrieveInstance } from './qr-service.js';
import { Status, formatStatus } from './status.js';

/** PS3.8 allows 128 presentation contexts per association. */
const MAX_CONTEXTS = 128;

/** How one C-STORE sub-operation ended, counted as PS3.4 counts them. */
export interface SubOperationResult {
  outcome: 'completed' | 'warning' | 'failed';
  /** Why it failed or warned, for the log. */
  detail?: string;
}

export interface SendOptions {
  /** Re-encode an explicit VR instance (native pixels) when the peer refuses its own syntax. */
  transcode: boolean;
  timeoutMs: number;
  /** For C-MOVE sub-operations: who asked for the move. */
  moveOriginator?: { aeTitle: string; messageId: number };
}

/**
 * The presentation contexts to propose for sending `instances`: one per SOP class and stored
 * transfer syntax, so each instance can go out as received; with transcoding, one more per SOP
 * class of a transcodable instance (see `canTranscode`) offering the syntaxes it can be
 * re-encoded into.
 */
export function proposeStorageContexts(
  instances: readonly RetrieveInstance[],
  transcode: boolean,
): ClientOptions['contexts'] {
  const seen = new Set<string>();
  const contexts: ClientOptions['contexts'] = [];
  const add = (abstractSyntax: string, transferSyntaxes: string[]): void => {
    const key = `${abstractSyntax}|${transferSyntaxes.join(',')}`;
    if (seen.has(key) || contexts.length >= MAX_CONTEXTS) return;
    seen.add(key);
    contexts.push({ abstractSyntax, transferSyntaxes });
  };
  for (const instance of instances) add(instance.sopClassUid, [instance.transferSyntaxUid]);
  if (transcode) {
    for (const instance of instances)
      if (canTranscode(instance.transferSyntaxUid))
        add(instance.sopClassUid, [...TRANSCODE_TARGETS]);
  }
  return contexts;
}

async function readAll(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

/**
 * Send one stored instance with C-STORE: its dataset bytes as received, on a context with its
 * own transfer syntax; only when the peer accepted none, and transcoding is allowed, an
 * explicit VR instance with native pixels re-encoded into a syntax it accepted (implicit VR and
 * compressed instances never are). Never throws: the outcome says how the sub-operation counts.
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
      const target =
        options.transcode && canTranscode(transferSyntaxUid)
          ? TRANSCODE_TARGETS.find((ts) => client.findContext(sopClassUid, ts))
          : undefined;
      if (!target)
        return {
          outcome: 'failed',
          detail: `${client.calledAe} accepted no presentation context for ${sopClassUid} in ${transferSyntaxUid}`,
        };
      dataset = transcodeUncompressed(
        await readAll(await instance.open()),
        transferSyntaxUid,
        target,
      );
      syntax = target;
    }
    const response = await client.store(sopClassUid, sopInstanceUid, syntax, dataset, {
      timeoutMs: options.timeoutMs,
      moveOriginator: options.moveOriginator,
    });
    const status = response.status ?? -1;
    if (status === Status.Success) return { outcome: 'completed' };
    // PS3.4 B.2.3: 0xB000, 0xB006 and 0xB007 are warnings: the instance was stored.
    if (status === 0xb000 || status === 0xb006 || status === 0xb007)
      return { outcome: 'warning', detail: `status ${formatStatus(status)}` };
    return {
      outcome: 'failed',
      detail: `status ${formatStatus(status)}${response.errorComment ? `: ${response.errorComment}` : ''}`,
    };
  } catch (error) {
    return { outcome: 'failed', detail: (error as Error).message };
  }
}
