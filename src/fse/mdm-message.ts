/**
 * The HL7 v2.5 MDM message that tells the regional image gateway about a report's images
 * (see docs/fse-notification.md, "HL7 to the regional image gateway"): MDM^T02 when a report's
 * images are all held, MDM^T10 when a replaced report's are, MDM^T11 when a report is
 * cancelled. The gateway reads the accession number from OBX-5.1 of the first OBX with OBX-2 =
 * RP, the structure code from PV1-3.4.1 and the control id from MSH-10; it decodes US-ASCII.
 */
import { formatHl7Time } from '../hl7/ack.js';
import { DEFAULT_DELIMITERS, escapeValue } from '../hl7/encoding.js';
import type { GatewaySettings } from './gateway-settings.js';

export type MdmTrigger = 'T02' | 'T10' | 'T11';

export interface MdmInput {
  trigger: MdmTrigger;
  /** MSH-10. */
  messageId: string;
  /** MSH-7, EVN-2, TXA-4: when the notification was enqueued (the same at every attempt). */
  time: Date;
  settings: GatewaySettings;
  /** TXA-12.1 (and TXA-13.1 for T10): codDocumentoDipartimentale. */
  documentId: string;
  /** PID-3 with type PI (and PID-3.4 its issuer), when known. */
  patientId?: string | undefined;
  issuerOfPatientId?: string | undefined;
  /** PID-3 with assigning authority RIS, when known. */
  risId?: string | undefined;
  /** One RP OBX each, in order. */
  accessionNumbers: readonly string[];
}

/**
 * Text as the gateway can read it: letters with accents lose them (è → e), any other character
 * outside printable ASCII becomes `?`, and the HL7 delimiters are escaped (\F\ \S\ \T\ \R\ \E\).
 */
export function asciiValue(text: string): string {
  const plain = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[\r\n\t]/g, ' ')
    .replace(/[^\x20-\x7E]/g, '?');
  return escapeValue(plain, DEFAULT_DELIMITERS);
}

/** Components joined with `^`, each made ASCII and escaped; trailing empty ones dropped. */
function composite(...values: Array<string | undefined>): string {
  const parts = values.map((value) => (value === undefined ? '' : asciiValue(value)));
  while (parts.length > 0 && parts.at(-1) === '') parts.pop();
  return parts.join('^');
}

function segment(name: string, fields: Record<number, string>): string {
  const last = Math.max(...Object.keys(fields).map(Number));
  const parts = [name];
  for (let i = 1; i <= last; i++) parts.push(fields[i] ?? '');
  return parts.join('|');
}

/** The message's segments, each ended by CR. */
export function buildMdm(input: MdmInput): string {
  const { settings, trigger } = input;
  const time = formatHl7Time(input.time);
  const pid3 = [
    ...(input.patientId
      ? [composite(input.patientId, '', '', input.issuerOfPatientId ?? '', 'PI')]
      : []),
    ...(input.risId ? [composite(input.risId, '', '', 'RIS')] : []),
  ].join('~');
  // MSH-1 is the field separator itself, so MSH-2 is the first field written after it.
  const header = [
    'MSH',
    '^~\\&',
    composite(settings.sendingApplication),
    composite(settings.sendingFacility),
    composite(settings.receivingApplication),
    composite(settings.receivingFacility),
    time,
    '',
    `MDM^${trigger}^MDM_T02`,
    asciiValue(input.messageId),
    'P',
    '2.5',
  ].join('|');
  const document = composite(input.documentId);
  const segments = [
    header,
    segment('EVN', { 1: trigger, 2: time }),
    segment('PID', { 1: '1', 3: pid3 }),
    // Patient class U (unknown): the gateway does not read it, and the bridge does not know it.
    segment('PV1', { 1: '1', 2: 'U', 3: `^^^${asciiValue(settings.structureCode)}` }),
    segment('TXA', {
      1: '1',
      2: 'DI',
      3: 'TX',
      4: time,
      12: document,
      13: trigger === 'T10' ? document : '',
      17: 'AU',
      19: trigger === 'T11' ? 'CA' : 'AV',
    }),
    ...input.accessionNumbers.map((accession, i) =>
      segment('OBX', {
        1: String(i + 1),
        2: 'RP',
        3: 'ACCNUM^Accession number^L',
        5: composite(accession),
        11: 'F',
      }),
    ),
  ];
  return segments.map((s) => `${s}\r`).join('');
}
