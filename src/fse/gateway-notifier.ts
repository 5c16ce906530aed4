/**
 * Sends FSE notifications to the regional image gateway as HL7 MDM messages over MLLP (see
 * docs/fse-notification.md): `GatewayNotifier.send` builds the message of a stored outbox item
 * (`mdm-message.ts`), sends it on a connection of its own and judges the acknowledgement.
 */
import type { FacilitySetting } from '../hl7/facilities.js';
import { exchange, readAck } from '../hl7/mllp-client.js';
import type { GatewayContext } from './fse-messages.js';
import type { DeliveryOutcome } from './fse-notifier.js';
import {
  GatewaySettingsError,
  settingsFor,
  type GatewayConfig,
  type GatewaySettings,
} from './gateway-settings.js';
import { buildMdm, type MdmTrigger } from './mdm-message.js';
import type { OutboxItem } from './outbox-entry.js';

export interface GatewayNotifierOptions {
  gateway: GatewayConfig;
  /** Facilities whose `gateway` settings override `gateway`'s for their reports. */
  facilities: readonly FacilitySetting[];
  /** Longest wait for the acknowledgement, connection included, per attempt. */
  timeoutMs: number;
}

/** The fields of a notification's payload the message is made of. */
interface PayloadFields {
  codCL: string;
  codDocumentoDipartimentale: string;
  patientId?: string;
  issuerOfPatientId?: string;
  accessionNumbers?: Array<{ accessionNumber: string }>;
  hl7?: GatewayContext;
}

/**
 * How an acknowledgement code is judged: AA (and CA) delivered; AE, AR (and CE, CR) final, as
 * the gateway answers them to what it will refuse again (no RP OBX, an unrouted message type or
 * sending application); anything else is no acknowledgement the bridge can trust, also final.
 */
export function classifyAck(code: string): 'delivered' | 'final' {
  return code === 'AA' || code === 'CA' ? 'delivered' : 'final';
}

export class GatewayNotifier {
  readonly #options: GatewayNotifierOptions;

  constructor(options: GatewayNotifierOptions) {
    this.#options = options;
  }

  /** Where it sends, for logs. */
  get description(): { host: string; port: number; timeoutMs: number } {
    const { host, port } = this.#options.gateway;
    return { host, port, timeoutMs: this.#options.timeoutMs };
  }

  /**
   * The message of an outbox item, as sent at every attempt: MSH-10 is the item's message
   * control id and MSH-7 the time it was enqueued; the settings are those configured now.
   *
   * @throws GatewaySettingsError when no structure code is configured for its report.
   */
  messageOf(item: Pick<OutboxItem, 'kind' | 'payload' | 'messageId' | 'createdAt'>): string {
    const payload = JSON.parse(item.payload) as PayloadFields;
    const context = payload.hl7 ?? {};
    const trigger: MdmTrigger =
      item.kind === 'report-cancelled' ? 'T11' : (context.reportVersion ?? 1) > 1 ? 'T10' : 'T02';
    const settings: GatewaySettings = settingsFor(
      { codCL: payload.codCL, facility: context.facility },
      this.#options.gateway,
      this.#options.facilities,
    );
    return buildMdm({
      trigger,
      messageId: item.messageId,
      time: item.createdAt,
      settings,
      documentId: payload.codDocumentoDipartimentale,
      patientId: context.patientId ?? payload.patientId,
      issuerOfPatientId: context.issuerOfPatientId ?? payload.issuerOfPatientId,
      risId: context.risId,
      accessionNumbers: (payload.accessionNumbers ?? []).map((a) => a.accessionNumber),
    });
  }

  /**
   * One attempt. Never throws: every failure is an outcome. No acknowledgement within the
   * timeout, a connection refused, reset or closed, or an answer that is no acknowledgement of
   * this message is retried; AE and AR are final, with the gateway's text as `detail`.
   */
  async send(
    item: Pick<OutboxItem, 'kind' | 'payload' | 'messageId' | 'createdAt'>,
    signal?: AbortSignal,
  ): Promise<DeliveryOutcome> {
    if (signal?.aborted) return { result: 'aborted' };
    let text: string;
    try {
      text = this.messageOf(item);
    } catch (error) {
      if (!(error instanceof GatewaySettingsError)) throw error;
      return { result: 'final', reason: error.message };
    }
    const { host, port } = this.#options.gateway;
    const timeoutMs = this.#options.timeoutMs;
    const outcome = await exchange({ host, port, timeoutMs }, Buffer.from(text, 'ascii'), signal);
    switch (outcome.kind) {
      case 'aborted':
        return { result: 'aborted' };
      case 'timeout':
        return { result: 'retry', reason: `no acknowledgement within ${timeoutMs} ms` };
      case 'failed':
        return { result: 'retry', reason: `MLLP exchange failed: ${outcome.reason}` };
      case 'answer':
        return judge(outcome.bytes, item.messageId);
    }
  }
}

function judge(bytes: Buffer, messageId: string): DeliveryOutcome {
  let ack: ReturnType<typeof readAck>;
  try {
    ack = readAck(bytes);
  } catch (error) {
    return { result: 'retry', reason: `the answer is no acknowledgement: ${describe(error)}` };
  }
  if (ack.controlId !== messageId)
    return {
      result: 'retry',
      reason: `the acknowledgement is for another message (MSA-2 ${JSON.stringify(ack.controlId.slice(0, 40))})`,
    };
  if (classifyAck(ack.code) === 'delivered') return { result: 'delivered' };
  return {
    result: 'final',
    reason: `acknowledged ${ack.code.slice(0, 8)}`,
    ...(ack.text === '' ? {} : { detail: ack.text.slice(0, 1000) }),
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
