/**
 * Who the HL7 notifications to the regional image gateway say they are from and for: the
 * values of MSH-3 to MSH-6 and the structure code of PV1-3.4. `fse.gateway` gives them for
 * every report; a facility of `hl7.facilities` may override any of them for its reports
 * (`gateway` in its entry). See docs/fse-notification.md.
 */
import type { FacilitySetting } from '../hl7/facilities.js';

/** The values of one facility's messages to the gateway. */
export interface GatewaySettings {
  /** PV1-3.4.1: the ASR structure the gateway knows (its `knownNodeToStructAsr` key). */
  structureCode: string;
  /** MSH-3.1: must be one of the gateway's accepted sending applications. */
  sendingApplication: string;
  /** MSH-4.1. */
  sendingFacility: string;
  /** MSH-5.1. */
  receivingApplication: string;
  /** MSH-6.1. */
  receivingFacility: string;
}

export const GATEWAY_SETTING_KEYS: readonly (keyof GatewaySettings)[] = [
  'structureCode',
  'sendingApplication',
  'sendingFacility',
  'receivingApplication',
  'receivingFacility',
];

/** `fse.gateway`: where the gateway listens, and the settings of reports without overrides. */
export interface GatewayConfig extends GatewaySettings {
  /** Host name or address of the gateway's MLLP listener; '' leaves notifications queued. */
  host: string;
  port: number;
}

/** The gateway stores the structure code in 20 characters. */
const MAX_LENGTH: Record<keyof GatewaySettings, number> = {
  structureCode: 20,
  sendingApplication: 180,
  sendingFacility: 180,
  receivingApplication: 180,
  receivingFacility: 180,
};

/**
 * Why a setting cannot go into a message, or undefined when it can: printable ASCII (what the
 * gateway decodes), none of the HL7 delimiters, no space at either end, within its length.
 */
export function gatewayValueProblem(
  key: keyof GatewaySettings,
  value: unknown,
): string | undefined {
  const max = MAX_LENGTH[key];
  if (typeof value !== 'string' || value.length > max)
    return `must be a string of at most ${max} characters`;
  if (!/^[\x20-\x7E]*$/.test(value) || /[|^~\\&]/.test(value))
    return 'must be printable ASCII without | ^ ~ \\ &';
  if (value !== value.trim()) return 'must not start or end with spaces';
  return undefined;
}

/** A report's settings cannot be resolved: the message names what to configure. */
export class GatewaySettingsError extends Error {
  override readonly name = 'GatewaySettingsError';
}

/**
 * The settings of a report's messages: the overrides of its facility over `defaults`. The
 * facility is the one the report came from (`facility`, MSH-4 of the RIS message) or, for a
 * report without one (HTTP API), the only facility with the report's codCL.
 *
 * @throws GatewaySettingsError when no structure code results.
 */
export function settingsFor(
  report: { codCL: string; facility?: string | undefined },
  defaults: GatewaySettings,
  facilities: readonly FacilitySetting[],
): GatewaySettings {
  const named =
    report.facility === undefined
      ? undefined
      : facilities.find((f) => f.sendingFacility === report.facility);
  const sameCl = facilities.filter((f) => f.codCL === report.codCL);
  const facility = named ?? (sameCl.length === 1 ? sameCl[0] : undefined);
  const settings = { ...defaults, ...facility?.gateway };
  if (settings.structureCode === '')
    throw new GatewaySettingsError(
      `no structure code for ${facility ? `facility ${facility.sendingFacility}` : `codCL ${report.codCL}`}: set fse.gateway.structureCode or the facility's gateway.structureCode`,
    );
  return settings;
}

/** `fse` as far as choosing and checking the transport goes. */
export interface TransportConfig {
  transport: 'hl7' | 'http';
  notifyUrl: string;
  gateway: GatewayConfig;
}

/**
 * Checks the transport settings together: values that can go into a message, one transport's
 * address set while the other is chosen, and, once the gateway's host is set, what every
 * message needs (a port, a sending application, a structure code for every facility).
 *
 * @throws Error naming the key.
 */
export function checkTransportConfig(
  fse: TransportConfig,
  facilities: readonly FacilitySetting[],
): void {
  const gateway = fse.gateway;
  for (const key of GATEWAY_SETTING_KEYS) {
    const problem = gatewayValueProblem(key, gateway[key]);
    if (problem)
      throw new Error(`fse.gateway.${key} ${problem}: value was ${JSON.stringify(gateway[key])}`);
  }
  if (!/^[A-Za-z0-9.:-]{0,253}$/.test(gateway.host))
    throw new Error(
      `fse.gateway.host must be a host name or an IP address: value was ${JSON.stringify(gateway.host)}`,
    );
  if (fse.transport === 'hl7' && fse.notifyUrl !== '')
    throw new Error(
      'fse.notifyUrl is set but fse.transport is hl7: set fse.transport to http (BRIDGE_FSE_TRANSPORT) to notify over HTTP, or leave fse.notifyUrl empty',
    );
  if (fse.transport === 'http' && gateway.host !== '')
    throw new Error(
      'fse.gateway.host is set but fse.transport is http: set fse.transport to hl7 (BRIDGE_FSE_TRANSPORT) to notify the gateway, or leave fse.gateway.host empty',
    );
  if (gateway.host === '') return;
  if (gateway.port < 1)
    throw new Error(`fse.gateway.port must be 1-65535 when fse.gateway.host is set: value was 0`);
  if (gateway.sendingApplication === '')
    throw new Error('fse.gateway.sendingApplication is required when fse.gateway.host is set');
  if (gateway.structureCode !== '') return;
  const without = facilities.find((f) => !f.gateway?.structureCode);
  if (facilities.length === 0 || without)
    throw new Error(
      `fse.gateway.structureCode is required when fse.gateway.host is set${without ? ` (facility ${without.sendingFacility} has no gateway.structureCode)` : ''}`,
    );
}
