/**
 * The C-STORE sub-operations of a C-MOVE, on associations of their own with the destination.
 */
import type { Logger } from 'pino';
import { conversionsFor } from '../dicom/transcode.js';
import { openAssociation, type ClientAssociation, type ClientOptions } from './client.js';
import type { MoveDestination, RetrieveInstance, Transcoding } from './qr-service.js';
import {
  asStoredContexts,
  conversionContexts,
  sendInstance,
  type SendOptions,
  type SubOperationResult,
} from './store-scu.js';

export interface MoveSenderOptions {
  destination: MoveDestination;
  /** The AE title the requestor called: the bridge calls the destination with it. */
  callingAe: string;
  transcoding: Transcoding;
  connectTimeoutMs: number;
  log: Logger;
}

/**
 * Sends the instances of a C-MOVE to its destination: first on an association proposing each
 * instance's stored syntax alone, so that whatever the destination accepts goes as received;
 * then, when it refused some as stored, on a second association proposing what those can be
 * converted into (a peer offered both in one context may choose the conversion). The first
 * association is released before the second is opened: a destination serving one association at
 * a time (storescp) would not accept the second otherwise.
 */
export class MoveSender {
  /** The instances in the order they are sent: those the destination took as stored first. */
  readonly order: RetrieveInstance[];
  readonly #first: ClientAssociation;
  readonly #direct: ReadonlySet<RetrieveInstance>;
  /** What the second association proposes, for the instances the first did not take. */
  readonly #conversions: ClientOptions['contexts'];
  readonly #options: MoveSenderOptions;
  #second: Promise<ClientAssociation | Error> | undefined;

  private constructor(
    first: ClientAssociation,
    instances: readonly RetrieveInstance[],
    options: MoveSenderOptions,
  ) {
    this.#first = first;
    this.#options = options;
    const direct = instances.filter((i) => first.findContext(i.sopClassUid, i.transferSyntaxUid));
    this.#direct = new Set(direct);
    const refused = instances.filter((i) => !this.#direct.has(i));
    this.order = [...direct, ...refused];
    this.#conversions = conversionContexts(refused, options.transcoding.policy);
  }

  /** Open the first association; rejects when the destination cannot be reached. */
  static async open(
    instances: readonly RetrieveInstance[],
    options: MoveSenderOptions,
  ): Promise<MoveSender> {
    const first = await connect(options, asStoredContexts(instances));
    return new MoveSender(first, instances, options);
  }

  /** One sub-operation; never throws (see `sendInstance`). */
  async send(
    instance: RetrieveInstance,
    options: Omit<SendOptions, 'transcoding'>,
  ): Promise<SubOperationResult> {
    const { transcoding } = this.#options;
    const sendOptions = { ...options, transcoding };
    // Not convertible: sendInstance says why, without a second association.
    const convertible = conversionsFor(instance.transferSyntaxUid, transcoding.policy);
    if (this.#direct.has(instance) || convertible.targets.length === 0)
      return sendInstance(this.#first, instance, sendOptions);
    this.#second ??= this.#first
      .release()
      .catch(() => this.#first.abort())
      .then(() => connect(this.#options, this.#conversions))
      .catch((error: unknown) => error as Error);
    const second = await this.#second;
    if (second instanceof Error)
      return { outcome: 'failed', detail: `cannot reach the destination again: ${second.message}` };
    return sendInstance(second, instance, sendOptions);
  }

  /**
   * Release the association in use, without waiting: a destination that is also the requestor
   * may answer the release only once its C-MOVE is over (gdcmscu does), and the requestor's
   * association must not wait on it.
   */
  close(): void {
    const release = async (client: ClientAssociation): Promise<void> => {
      await client.release().catch(() => client.abort());
    };
    if (!this.#second) void release(this.#first);
    else
      void this.#second.then((second) => {
        if (!(second instanceof Error)) void release(second);
      });
  }
}

function connect(
  options: MoveSenderOptions,
  contexts: ClientOptions['contexts'],
): Promise<ClientAssociation> {
  const { destination } = options;
  return openAssociation({
    host: destination.host,
    port: destination.port,
    callingAe: options.callingAe,
    calledAe: destination.aeTitle,
    contexts,
    connectTimeoutMs: options.connectTimeoutMs,
    log: options.log,
  });
}
