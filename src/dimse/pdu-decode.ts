/** Decoding of PS3.8 association PDUs; a malformed one throws `PduError`. */
import {
  AbortReason,
  PduError,
  type Abort,
  type AcceptedContext,
  type AssociateAc,
  type AssociateRj,
  type AssociateRq,
  type ProposedContext,
  type UserInformation,
} from './pdu-types.js';
import { trimEnd } from '../dicom/padding.js';

/** UIDs in items may be padded with a NUL or a space. */
function readUid(body: Buffer, start: number, end: number): string {
  return trimEnd(body.toString('latin1', start, end));
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
