/**
 * PS3.8 upper-layer PDUs: encoding and decoding of the association PDUs (A-ASSOCIATE-RQ/AC/RJ,
 * A-RELEASE-RQ/RP, A-ABORT) and the P-DATA-TF header. P-DATA-TF bodies are not decoded here:
 * `PduReader` streams their PDVs without holding them whole.
 */

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

function pduHeader(type: number, bodyLength: number): Buffer {
  const header = Buffer.allocUnsafe(6);
  header.writeUInt8(type, 0);
  header.writeUInt8(0, 1);
  header.writeUInt32BE(bodyLength, 2);
  return header;
}

function item(type: number, body: Buffer): Buffer {
  const header = Buffer.allocUnsafe(4);
  header.writeUInt8(type, 0);
  header.writeUInt8(0, 1);
  header.writeUInt16BE(body.length, 2);
  return Buffer.concat([header, body]);
}

function aeField(ae: string): Buffer {
  return Buffer.from(ae.padEnd(16, ' ').slice(0, 16), 'latin1');
}

function uidItem(type: number, uid: string): Buffer {
  return item(type, Buffer.from(uid, 'latin1'));
}

function encodeUserInformation(user: UserInformation): Buffer {
  const parts: Buffer[] = [];
  const max = Buffer.allocUnsafe(4);
  max.writeUInt32BE(user.maxPduLength, 0);
  parts.push(item(0x51, max));
  parts.push(uidItem(0x52, user.implementationClassUid));
  if (user.asyncOps) {
    const ops = Buffer.allocUnsafe(4);
    ops.writeUInt16BE(user.asyncOps.invoked, 0);
    ops.writeUInt16BE(user.asyncOps.performed, 2);
    parts.push(item(0x53, ops));
  }
  for (const role of user.roles) {
    const uid = Buffer.from(role.sopClassUid, 'latin1');
    const body = Buffer.allocUnsafe(2 + uid.length + 2);
    body.writeUInt16BE(uid.length, 0);
    uid.copy(body, 2);
    body.writeUInt8(role.scu ? 1 : 0, 2 + uid.length);
    body.writeUInt8(role.scp ? 1 : 0, 3 + uid.length);
    parts.push(item(0x54, body));
  }
  if (user.implementationVersionName) {
    parts.push(item(0x55, Buffer.from(user.implementationVersionName.slice(0, 16), 'latin1')));
  }
  return item(0x50, Buffer.concat(parts));
}

function encodeAssociate(
  type: number,
  calledAe: string,
  callingAe: string,
  applicationContext: string,
  contextItems: Buffer[],
  user: UserInformation,
): Buffer {
  const fixed = Buffer.alloc(68);
  fixed.writeUInt16BE(1, 0); // protocol version 1
  aeField(calledAe).copy(fixed, 4);
  aeField(callingAe).copy(fixed, 20);
  const body = Buffer.concat([
    fixed,
    uidItem(0x10, applicationContext),
    ...contextItems,
    encodeUserInformation(user),
  ]);
  return Buffer.concat([pduHeader(type, body.length), body]);
}

export function encodeAssociateRq(rq: AssociateRq): Buffer {
  const contexts = rq.contexts.map((pc) => {
    const head = Buffer.from([pc.id, 0, 0, 0]);
    const subItems = [
      uidItem(0x30, pc.abstractSyntax),
      ...pc.transferSyntaxes.map((ts) => uidItem(0x40, ts)),
    ];
    return item(0x20, Buffer.concat([head, ...subItems]));
  });
  return encodeAssociate(
    PduType.AssociateRq,
    rq.calledAe,
    rq.callingAe,
    rq.applicationContext,
    contexts,
    rq.user,
  );
}

export function encodeAssociateAc(ac: AssociateAc): Buffer {
  const contexts = ac.contexts.map((pc) => {
    const head = Buffer.from([pc.id, 0, pc.result, 0]);
    // PS3.8 9.3.3.2: the transfer syntax sub-item is present but not significant on rejection.
    return item(0x21, Buffer.concat([head, uidItem(0x40, pc.transferSyntax)]));
  });
  return encodeAssociate(
    PduType.AssociateAc,
    ac.calledAe,
    ac.callingAe,
    ac.applicationContext,
    contexts,
    ac.user,
  );
}

export function encodeAssociateRj(rj: AssociateRj): Buffer {
  return Buffer.concat([
    pduHeader(PduType.AssociateRj, 4),
    Buffer.from([0, rj.result, rj.source, rj.reason]),
  ]);
}

export function encodeReleaseRq(): Buffer {
  return Buffer.concat([pduHeader(PduType.ReleaseRq, 4), Buffer.alloc(4)]);
}

export function encodeReleaseRp(): Buffer {
  return Buffer.concat([pduHeader(PduType.ReleaseRp, 4), Buffer.alloc(4)]);
}

export function encodeAbort(abort: Abort): Buffer {
  return Buffer.concat([
    pduHeader(PduType.Abort, 4),
    Buffer.from([0, 0, abort.source, abort.reason]),
  ]);
}

/** The header of a P-DATA-TF PDU carrying one PDV of `dataLength` bytes. */
export function encodePDataHeader(
  contextId: number,
  command: boolean,
  last: boolean,
  dataLength: number,
): Buffer {
  const header = Buffer.allocUnsafe(12);
  header.writeUInt8(PduType.PData, 0);
  header.writeUInt8(0, 1);
  header.writeUInt32BE(dataLength + 6, 2);
  header.writeUInt32BE(dataLength + 2, 6);
  header.writeUInt8(contextId, 10);
  header.writeUInt8((command ? 1 : 0) | (last ? 2 : 0), 11);
  return header;
}

/** UIDs in items may be padded with a NUL or a space. */
function readUid(body: Buffer, start: number, end: number): string {
  return body.toString('latin1', start, end).replace(/[\0 ]+$/, '');
}

interface RawItem {
  type: number;
  start: number;
  end: number;
}

function* items(body: Buffer, start: number, end: number): Generator<RawItem> {
  let offset = start;
  while (offset < end) {
    if (offset + 4 > end) throw new PduError('item header runs past the end of the PDU');
    const type = body.readUInt8(offset);
    const length = body.readUInt16BE(offset + 2);
    const itemEnd = offset + 4 + length;
    if (itemEnd > end)
      throw new PduError(`item 0x${type.toString(16)} runs past the end of the PDU`);
    yield { type, start: offset + 4, end: itemEnd };
    offset = itemEnd;
  }
}

function decodeUserInformation(body: Buffer, start: number, end: number): UserInformation {
  const user: UserInformation = {
    maxPduLength: 0,
    implementationClassUid: '',
    implementationVersionName: undefined,
    roles: [],
    asyncOps: undefined,
  };
  for (const sub of items(body, start, end)) {
    switch (sub.type) {
      case 0x51:
        if (sub.end - sub.start !== 4)
          throw new PduError('maximum length sub-item must be 4 bytes');
        user.maxPduLength = body.readUInt32BE(sub.start);
        break;
      case 0x52:
        user.implementationClassUid = readUid(body, sub.start, sub.end);
        break;
      case 0x53:
        if (sub.end - sub.start === 4) {
          user.asyncOps = {
            invoked: body.readUInt16BE(sub.start),
            performed: body.readUInt16BE(sub.start + 2),
          };
        }
        break;
      case 0x54: {
        if (sub.end - sub.start < 4) throw new PduError('role selection sub-item is too short');
        const uidLength = body.readUInt16BE(sub.start);
        if (sub.start + 2 + uidLength + 2 > sub.end)
          throw new PduError('role selection sub-item is too short');
        user.roles.push({
          sopClassUid: readUid(body, sub.start + 2, sub.start + 2 + uidLength),
          scu: body.readUInt8(sub.start + 2 + uidLength) === 1,
          scp: body.readUInt8(sub.start + 3 + uidLength) === 1,
        });
        break;
      }
      case 0x55:
        user.implementationVersionName = body.toString('latin1', sub.start, sub.end).trim();
        break;
      default:
        // Extended negotiation and user identity items are optional; an acceptor may ignore them.
        break;
    }
  }
  return user;
}

interface AssociateCommon {
  calledAe: string;
  callingAe: string;
  applicationContext: string;
  user: UserInformation;
}

function decodeAssociateCommon(
  body: Buffer,
  onContext: (raw: RawItem) => void,
  contextType: number,
): AssociateCommon {
  if (body.length < 68) throw new PduError('A-ASSOCIATE PDU is shorter than its fixed fields');
  const version = body.readUInt16BE(0);
  if ((version & 1) === 0) throw new PduError(`protocol version ${version} is not supported`);
  const common: AssociateCommon = {
    calledAe: body.toString('latin1', 4, 20).trim(),
    callingAe: body.toString('latin1', 20, 36).trim(),
    applicationContext: '',
    user: decodeUserInformation(body, 0, 0),
  };
  let sawUser = false;
  for (const raw of items(body, 68, body.length)) {
    if (raw.type === 0x10) common.applicationContext = readUid(body, raw.start, raw.end);
    else if (raw.type === contextType) onContext(raw);
    else if (raw.type === 0x50) {
      common.user = decodeUserInformation(body, raw.start, raw.end);
      sawUser = true;
    } else
      throw new PduError(
        `unexpected item 0x${raw.type.toString(16)}`,
        AbortReason.UnexpectedPduParameter,
      );
  }
  if (!common.applicationContext) throw new PduError('application context item is missing');
  if (!sawUser) throw new PduError('user information item is missing');
  return common;
}

export function decodeAssociateRq(body: Buffer): AssociateRq {
  const contexts: ProposedContext[] = [];
  const common = decodeAssociateCommon(
    body,
    (raw) => {
      if (raw.end - raw.start < 4) throw new PduError('presentation context item is too short');
      const pc: ProposedContext = {
        id: body.readUInt8(raw.start),
        abstractSyntax: '',
        transferSyntaxes: [],
      };
      for (const sub of items(body, raw.start + 4, raw.end)) {
        if (sub.type === 0x30) pc.abstractSyntax = readUid(body, sub.start, sub.end);
        else if (sub.type === 0x40) pc.transferSyntaxes.push(readUid(body, sub.start, sub.end));
      }
      contexts.push(pc);
    },
    0x20,
  );
  return { ...common, contexts };
}

export function decodeAssociateAc(body: Buffer): AssociateAc {
  const contexts: AcceptedContext[] = [];
  const common = decodeAssociateCommon(
    body,
    (raw) => {
      if (raw.end - raw.start < 4) throw new PduError('presentation context item is too short');
      const pc: AcceptedContext = {
        id: body.readUInt8(raw.start),
        result: body.readUInt8(raw.start + 2),
        transferSyntax: '',
      };
      for (const sub of items(body, raw.start + 4, raw.end)) {
        if (sub.type === 0x40) pc.transferSyntax = readUid(body, sub.start, sub.end);
      }
      contexts.push(pc);
    },
    0x21,
  );
  return { ...common, contexts };
}

export function decodeAssociateRj(body: Buffer): AssociateRj {
  if (body.length !== 4) throw new PduError('A-ASSOCIATE-RJ must have a 4-byte body');
  return { result: body.readUInt8(1), source: body.readUInt8(2), reason: body.readUInt8(3) };
}

export function decodeAbort(body: Buffer): Abort {
  if (body.length !== 4) throw new PduError('A-ABORT must have a 4-byte body');
  return { source: body.readUInt8(2), reason: body.readUInt8(3) };
}
