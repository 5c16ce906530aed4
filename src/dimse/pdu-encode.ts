/** Encoding of PS3.8 upper-layer PDUs. */
import {
  PduType,
  type Abort,
  type AssociateAc,
  type AssociateRj,
  type AssociateRq,
  type UserInformation,
} from './pdu-types.js';

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
