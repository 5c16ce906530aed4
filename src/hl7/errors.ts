/** HL7 table 0357 (message error condition codes), as carried in ERR-3 of an ACK. */
export const Hl7ErrorCode = {
  SegmentSequenceError: 100,
  RequiredFieldMissing: 101,
  DataTypeError: 102,
  TableValueNotFound: 103,
  UnsupportedMessageType: 200,
  UnsupportedEventCode: 201,
  UnsupportedProcessingId: 202,
  UnsupportedVersionId: 203,
  UnknownKeyIdentifier: 204,
  DuplicateKeyIdentifier: 205,
  ApplicationRecordLocked: 206,
  ApplicationInternalError: 207,
} as const;

export type Hl7ErrorCodeValue = (typeof Hl7ErrorCode)[keyof typeof Hl7ErrorCode];

const CODE_TEXT: Record<Hl7ErrorCodeValue, string> = {
  100: 'Segment sequence error',
  101: 'Required field missing',
  102: 'Data type error',
  103: 'Table value not found',
  200: 'Unsupported message type',
  201: 'Unsupported event code',
  202: 'Unsupported processing id',
  203: 'Unsupported version id',
  204: 'Unknown key identifier',
  205: 'Duplicate key identifier',
  206: 'Application record locked',
  207: 'Application internal error',
};

/** The HL7 table 0357 text of an error code. */
export function errorCodeText(code: Hl7ErrorCodeValue): string {
  return CODE_TEXT[code];
}

/** Where in a message an error is: segment, its occurrence, field, component (1-based). */
export interface Hl7Location {
  segment: string;
  /** Occurrence of the segment in the message (1 for the first). */
  sequence?: number;
  field?: number;
  component?: number;
}

/** `PID-3`, `OBX[2]-5.1`: how a location reads in messages and logs. */
export function formatLocation(location: Hl7Location): string {
  let text = location.segment;
  if (location.sequence !== undefined && location.sequence > 1) text += `[${location.sequence}]`;
  if (location.field !== undefined) text += `-${location.field}`;
  if (location.component !== undefined) text += `.${location.component}`;
  return text;
}

export interface Hl7ErrorOptions {
  location?: Hl7Location;
  /**
   * How the sender is answered: `AR` (the message cannot be processed at all: unreadable,
   * unsupported, not ours) or `AE` (readable, but its content is wrong). Default `AR`.
   */
  ack?: 'AE' | 'AR';
  /** HL7 table 0357 code for ERR-3; default 207 (application internal error). */
  code?: Hl7ErrorCodeValue;
  cause?: unknown;
}

/**
 * A message that cannot be accepted, with the reason the sender is told (never patient data)
 * and, when known, the segment and field at fault.
 */
export class Hl7Error extends Error {
  override readonly name: string = 'Hl7Error';
  /** The reason alone, without the location; goes into the ACK. */
  readonly reason: string;
  readonly location: Hl7Location | undefined;
  readonly ack: 'AE' | 'AR';
  readonly code: Hl7ErrorCodeValue;

  constructor(reason: string, options: Hl7ErrorOptions = {}) {
    super(
      options.location ? `${reason} (${formatLocation(options.location)})` : reason,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.reason = reason;
    this.location = options.location;
    this.ack = options.ack ?? 'AR';
    this.code = options.code ?? Hl7ErrorCode.ApplicationInternalError;
  }
}
