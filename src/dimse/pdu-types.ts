/** PS3.8 upper-layer PDU types, result and reason codes, and the decoded shapes. */

export const PduType = {
  AssociateRq: 0x01,
  AssociateAc: 0x02,
  AssociateRj: 0x03,
  PData: 0x04,
  ReleaseRq: 0x05,
  ReleaseRp: 0x06,
  Abort: 0x07,
} as const;

export const APPLICATION_CONTEXT = '1.2.840.10008.3.1.1.1';

/** A-ASSOCIATE-RJ result (PS3.8 Table 9-21). */
export const RejectResult = { Permanent: 1, Transient: 2 } as const;
/** A-ASSOCIATE-RJ source. */
export const RejectSource = {
  ServiceUser: 1,
  ServiceProviderAcse: 2,
  ServiceProviderPresentation: 3,
} as const;
/** A-ASSOCIATE-RJ reasons when the source is the service user. */
export const RejectUserReason = {
  NoReason: 1,
  ApplicationContextNotSupported: 2,
  CallingAeNotRecognized: 3,
  CalledAeNotRecognized: 7,
} as const;
/** A-ASSOCIATE-RJ reasons when the source is the presentation service provider. */
export const RejectProviderReason = { TemporaryCongestion: 1, LocalLimitExceeded: 2 } as const;

/** A-ABORT source (PS3.8 Table 9-26). */
export const AbortSource = { ServiceUser: 0, ServiceProvider: 2 } as const;
/** A-ABORT reason when the source is the service provider. */
export const AbortReason = {
  NotSpecified: 0,
  UnrecognizedPdu: 1,
  UnexpectedPdu: 2,
  UnrecognizedPduParameter: 4,
  UnexpectedPduParameter: 5,
  InvalidPduParameterValue: 6,
} as const;

/** Presentation context result in an A-ASSOCIATE-AC (PS3.8 Table 9-18). */
export const PcResult = {
  Acceptance: 0,
  UserRejection: 1,
  NoReason: 2,
  AbstractSyntaxNotSupported: 3,
  TransferSyntaxesNotSupported: 4,
} as const;

export interface ProposedContext {
  id: number;
  abstractSyntax: string;
  transferSyntaxes: string[];
}

export interface AcceptedContext {
  id: number;
  result: number;
  /** The transfer syntax chosen; meaningful only when `result` is acceptance. */
  transferSyntax: string;
}

/** SCP/SCU role selection sub-item (PS3.7 D.3.3.4). */
export interface RoleSelection {
  sopClassUid: string;
  scu: boolean;
  scp: boolean;
}

export interface UserInformation {
  /** Largest P-DATA-TF PDU the sender of this item can receive; 0 means unlimited. */
  maxPduLength: number;
  implementationClassUid: string;
  implementationVersionName: string | undefined;
  roles: RoleSelection[];
  /** Asynchronous operations window (invoked, performed), when proposed. */
  asyncOps: { invoked: number; performed: number } | undefined;
}

export interface AssociateRq {
  calledAe: string;
  callingAe: string;
  applicationContext: string;
  contexts: ProposedContext[];
  user: UserInformation;
}

export interface AssociateAc {
  calledAe: string;
  callingAe: string;
  applicationContext: string;
  contexts: AcceptedContext[];
  user: UserInformation;
}

export interface AssociateRj {
  result: number;
  source: number;
  reason: number;
}

export interface Abort {
  source: number;
  reason: number;
}

/** A PDU that cannot be decoded; the association must be aborted with `reason`. */
export class PduError extends Error {
  override readonly name = 'PduError';
  constructor(
    message: string,
    readonly reason: number = AbortReason.InvalidPduParameterValue,
  ) {
    super(message);
  }
}
