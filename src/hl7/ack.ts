import { randomBytes } from 'node:crypto';
import { type Charset, DEFAULT_DELIMITERS, escapeValue } from './encoding.js';
import {
  Hl7Error,
  Hl7ErrorCode,
  type Hl7ErrorCodeValue,
  type Hl7Location,
  errorCodeText,
} from './errors.js';
import type { Hl7Segment } from './message.js';

/** MSA-1 in original acknowledgement mode. */
export type AckCode = 'AA' | 'AE' | 'AR';

/** How a message is answered. */
export interface AckDecision {
  code: AckCode;
  /** Why, for AE/AR (MSA-3 and ERR); never patient data. */
  reason?: string;
  /** HL7 table 0357 code for ERR; default 207 (application internal error). */
  errorCode?: Hl7ErrorCodeValue;
  location?: Hl7Location;
}

/** The message being answered: its MSH (when readable) and charset. */
export interface AckSource {
  msh?: Hl7Segment | undefined;
  charset?: Charset | undefined;
}

export interface AckOptions {
  /** MSH-7; default now. */
  now?: Date;
  /** MSH-10 of the ACK; default a random 17-character id. */
  controlId?: string;
  /** MSH-3/MSH-4 of the ACK when the message's MSH-5/MSH-6 (us) are empty. */
  application?: string;
  facility?: string;
}

/**
 * The answer to an error: an `Hl7Error` keeps its AE/AR, code, reason and location; anything
 * else is AR 207, since it is no fault of the message (HL7 original mode: the sender may send
 * it again later, and the bridge recognises it by its control id).
 */
export function decisionFromError(error: unknown): AckDecision {
  if (error instanceof Hl7Error)
    return {
      code: error.ack,
      reason: error.reason,
      errorCode: error.code,
      location: error.location,
    };
  return {
    code: 'AR',
    reason: 'application internal error',
    errorCode: Hl7ErrorCode.ApplicationInternalError,
  };
}

/** `2.3.1` ≥ `2.3`? Missing or unreadable versions count as new. */
function versionAtLeast(version: string, minimum: string): boolean {
  const parts = version.split('.').map(Number);
  if (version === '' || parts.some((n) => !Number.isInteger(n))) return true;
  const wanted = minimum.split('.').map(Number);
  for (let i = 0; i < wanted.length; i++) {
    const have = parts[i] ?? 0;
    if (have !== wanted[i]) return have > wanted[i]!;
  }
  return true;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** An HL7 DTM in local time with its UTC offset, to the second: `20250114093005+0100`. */
export function formatHl7Time(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}` +
    `${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
  );
}

/**
 * Build the ACK of a message (segments separated and ended by CR), in the message's own
 * delimiters, version and character set: MSH with sending and receiving application and
 * facility swapped and MSH-9 `ACK^<trigger>^ACK`; MSA with MSA-2 = the message's MSH-10; for
 * AE/AR an ERR segment with the table 0357 code, location and reason (v2.5 layout, or the
 * ERR-1 layout before v2.5) and the reason in MSA-3 (for versions before 2.7, which still
 * read it). Without a readable MSH it answers in `|^~\&` v2.5 with MSA-2 empty.
 */
export function buildAck(
  source: AckSource,
  decision: AckDecision,
  options: AckOptions = {},
): string {
  const msh = source.msh;
  const d = msh?.delimiters ?? DEFAULT_DELIMITERS;
  const raw = (n: number): string => (msh ? msh.field(n).raw : '');
  const esc = (text: string): string => escapeValue(text, d);
  const version = msh?.field(12).value || '2.5';
  const trigger = msh?.field(9).component(2) ?? '';
  const messageType =
    trigger === ''
      ? 'ACK'
      : ['ACK', esc(trigger), ...(versionAtLeast(version, '2.3.1') ? ['ACK'] : [])].join(
          d.component,
        );
  const header = [
    'MSH',
    msh ? raw(2) : `${d.component}${d.repetition}${d.escape}${d.subcomponent}`,
    raw(5) || esc(options.application ?? ''),
    raw(6) || esc(options.facility ?? ''),
    raw(3),
    raw(4),
    // Escaped like every value: a sender's delimiters may include the `+`/`-` of the UTC
    // offset or the `.` of a version.
    esc(formatHl7Time(options.now ?? new Date())),
    '',
    messageType,
    esc(options.controlId ?? `A${randomBytes(8).toString('hex')}`),
    raw(11) || esc('P'),
    raw(12) || esc('2.5'),
  ];
  if (raw(18) !== '') header.push('', '', '', '', '', raw(18));
  const segments = [header.join(d.field)];
  const msa = ['MSA', decision.code, raw(10)];
  if (decision.code !== 'AA') {
    const reason = decision.reason ?? errorCodeText(decision.errorCode ?? 207);
    if (!versionAtLeast(version, '2.7')) msa.push(esc(reason.slice(0, 80)));
    segments.push(
      msa.join(d.field),
      errSegment(decision, reason, version, esc, d.component, d.subcomponent, d.field),
    );
  } else {
    segments.push(msa.join(d.field));
  }
  return segments.map((segment) => `${segment}\r`).join('');
}

function errSegment(
  decision: AckDecision,
  reason: string,
  version: string,
  esc: (text: string) => string,
  component: string,
  subcomponent: string,
  field: string,
): string {
  const code = decision.errorCode ?? Hl7ErrorCode.ApplicationInternalError;
  const where = decision.location;
  const location = where
    ? [
        where.segment,
        String(where.sequence ?? 1),
        where.field === undefined ? '' : String(where.field),
      ]
    : ['', '', ''];
  if (!versionAtLeast(version, '2.5')) {
    const ce = [String(code), esc(reason.slice(0, 200)), 'HL70357'].join(subcomponent);
    return ['ERR', [...location, ce].join(component)].join(field);
  }
  const erlParts = where
    ? [...location, '', where.component === undefined ? '' : String(where.component)]
    : [];
  while (erlParts.at(-1) === '') erlParts.pop();
  const erl = erlParts.join(component);
  const cwe = [String(code), esc(errorCodeText(code)), 'HL70357'].join(component);
  return ['ERR', '', erl, cwe, 'E', '', '', '', esc(reason.slice(0, 250))].join(field);
}
