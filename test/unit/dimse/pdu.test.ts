import { describe, expect, it } from 'vitest';
import {
  APPLICATION_CONTEXT,
  AbortReason,
  AbortSource,
  PcResult,
  PduError,
  PduType,
  RejectResult,
  RejectSource,
  RejectUserReason,
  decodeAbort,
  decodeAssociateAc,
  decodeAssociateRj,
  decodeAssociateRq,
  encodeAbort,
  encodeAssociateAc,
  encodeAssociateRj,
  encodeAssociateRq,
  encodePDataHeader,
  encodeReleaseRp,
  encodeReleaseRq,
  type AssociateAc,
  type AssociateRq,
  type UserInformation,
} from '../../../src/dimse/pdu.js';

const CT = '1.2.840.10008.5.1.4.1.1.2'; // 25 characters: odd
const MR = '1.2.840.10008.5.1.4.1.1.4'; // odd
const VERIFICATION = '1.2.840.10008.1.1'; // 17: odd
const IMPLICIT = '1.2.840.10008.1.2'; // 17: odd
const EXPLICIT = '1.2.840.10008.1.2.1'; // 19: odd
const JPEG_LS = '1.2.840.10008.1.2.4.80'; // 22: even

function user(overrides: Partial<UserInformation> = {}): UserInformation {
  return {
    maxPduLength: 16384,
    implementationClassUid: '1.2.826.0.1.3680043.2.1143.107.104.103.115.2.8.4', // odd
    implementationVersionName: 'GDCM 3.0.21',
    roles: [],
    asyncOps: undefined,
    ...overrides,
  };
}

function rq(overrides: Partial<AssociateRq> = {}): AssociateRq {
  return {
    calledAe: 'FSEBRIDGE',
    callingAe: 'STORESCU',
    applicationContext: APPLICATION_CONTEXT,
    contexts: [
      { id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT] },
      { id: 3, abstractSyntax: CT, transferSyntaxes: [JPEG_LS, EXPLICIT, IMPLICIT] },
      { id: 255, abstractSyntax: MR, transferSyntaxes: [EXPLICIT] },
    ],
    user: user(),
    ...overrides,
  };
}

/** The PDU header: type, reserved, 32-bit big-endian body length; returns the body. */
function body(pdu: Buffer, type: number): Buffer {
  expect(pdu.readUInt8(0)).toBe(type);
  expect(pdu.readUInt8(1)).toBe(0);
  expect(pdu.readUInt32BE(2)).toBe(pdu.length - 6);
  return pdu.subarray(6);
}

/** Build an item (type, reserved, 16-bit length). */
function item(type: number, content: Buffer | string): Buffer {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'latin1') : content;
  const header = Buffer.alloc(4);
  header.writeUInt8(type, 0);
  header.writeUInt16BE(bytes.length, 2);
  return Buffer.concat([header, bytes]);
}

/** A hand-built A-ASSOCIATE-RQ body: fixed fields then `items`. */
function rqBody(items: Buffer[], version = 1): Buffer {
  const fixed = Buffer.alloc(68);
  fixed.writeUInt16BE(version, 0);
  fixed.write('FSEBRIDGE'.padEnd(16), 4, 'latin1');
  fixed.write('TESTSCU'.padEnd(16), 20, 'latin1');
  return Buffer.concat([fixed, ...items]);
}

function maxLength(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value, 0);
  return item(0x51, bytes);
}

describe('A-ASSOCIATE-RQ', () => {
  it('round-trips contexts, transfer syntaxes in order, AE titles and user information', () => {
    const original = rq();
    const decoded = decodeAssociateRq(body(encodeAssociateRq(original), PduType.AssociateRq));
    expect(decoded).toEqual(original);
  });

  it('round-trips role selection, the asynchronous operations window and an unlimited max PDU', () => {
    const original = rq({
      user: user({
        maxPduLength: 0,
        roles: [
          { sopClassUid: CT, scu: true, scp: false },
          { sopClassUid: MR, scu: false, scp: true },
          { sopClassUid: VERIFICATION, scu: true, scp: true },
        ],
        asyncOps: { invoked: 5, performed: 1 },
      }),
    });
    const decoded = decodeAssociateRq(body(encodeAssociateRq(original), PduType.AssociateRq));
    expect(decoded.user).toEqual(original.user);
  });

  it('round-trips the largest max PDU length and no implementation version name', () => {
    const original = rq({
      user: user({ maxPduLength: 0xffffffff, implementationVersionName: undefined }),
    });
    expect(decodeAssociateRq(body(encodeAssociateRq(original), PduType.AssociateRq)).user).toEqual(
      original.user,
    );
  });

  it('writes the fixed fields: protocol version 1 and AE titles space-padded to 16 bytes', () => {
    const encoded = body(encodeAssociateRq(rq()), PduType.AssociateRq);
    expect(encoded.readUInt16BE(0)).toBe(1);
    expect(encoded.toString('latin1', 4, 20)).toBe('FSEBRIDGE       ');
    expect(encoded.toString('latin1', 20, 36)).toBe('STORESCU        ');
    expect(encoded.subarray(36, 68).equals(Buffer.alloc(32))).toBe(true);
    expect(encoded.readUInt8(68)).toBe(0x10);
    expect(encoded.toString('latin1', 72, 72 + APPLICATION_CONTEXT.length)).toBe(
      APPLICATION_CONTEXT,
    );
  });

  it('encodes odd-length UIDs unpadded (PS3.5 9.1: no padding in network negotiation)', () => {
    const encoded = encodeAssociateRq(
      rq({ contexts: [{ id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT] }] }),
    );
    const abstract = encoded.indexOf(Buffer.from(VERIFICATION, 'latin1'));
    expect(encoded.readUInt8(abstract - 4)).toBe(0x30);
    expect(encoded.readUInt16BE(abstract - 2)).toBe(VERIFICATION.length);
  });

  it('decodes UIDs padded to even length with a NUL or a space, and AE titles with trailing spaces', () => {
    const context = item(
      0x20,
      Buffer.concat([
        Buffer.from([7, 0, 0, 0]),
        item(0x30, `${VERIFICATION}\0`),
        item(0x40, `${IMPLICIT} `),
        item(0x40, `${EXPLICIT}\0`),
      ]),
    );
    const decoded = decodeAssociateRq(
      rqBody([
        item(0x10, `${APPLICATION_CONTEXT}\0`),
        context,
        item(
          0x50,
          Buffer.concat([maxLength(32768), item(0x52, '1.2.3.4.5\0'), item(0x55, 'ODDVERSION ')]),
        ),
      ]),
    );
    expect(decoded.calledAe).toBe('FSEBRIDGE');
    expect(decoded.callingAe).toBe('TESTSCU');
    expect(decoded.applicationContext).toBe(APPLICATION_CONTEXT);
    expect(decoded.contexts).toEqual([
      { id: 7, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT, EXPLICIT] },
    ]);
    expect(decoded.user.implementationClassUid).toBe('1.2.3.4.5');
    expect(decoded.user.implementationVersionName).toBe('ODDVERSION');
    expect(decoded.user.maxPduLength).toBe(32768);
  });

  it('ignores user information sub-items it does not know (extended negotiation, user identity)', () => {
    const decoded = decodeAssociateRq(
      rqBody([
        item(0x10, APPLICATION_CONTEXT),
        item(
          0x50,
          Buffer.concat([
            maxLength(0),
            item(0x52, '1.2.3'),
            item(0x56, Buffer.alloc(9)),
            item(0x58, Buffer.from([1, 0, 0, 2, 0x41, 0x42, 0, 0])),
          ]),
        ),
      ]),
    );
    expect(decoded.user).toEqual({
      maxPduLength: 0,
      implementationClassUid: '1.2.3',
      implementationVersionName: undefined,
      roles: [],
      asyncOps: undefined,
    });
  });

  it('truncates an implementation version name longer than 16 characters', () => {
    const decoded = decodeAssociateRq(
      body(
        encodeAssociateRq(
          rq({ user: user({ implementationVersionName: 'A_VERY_LONG_VERSION_NAME' }) }),
        ),
        PduType.AssociateRq,
      ),
    );
    expect(decoded.user.implementationVersionName).toBe('A_VERY_LONG_VERS');
  });
});

describe('A-ASSOCIATE-AC', () => {
  it('round-trips results, the chosen transfer syntax and user information with roles', () => {
    const original: AssociateAc = {
      calledAe: 'FSEBRIDGE',
      callingAe: 'GDCMSCU',
      applicationContext: APPLICATION_CONTEXT,
      contexts: [
        { id: 1, result: PcResult.Acceptance, transferSyntax: EXPLICIT },
        { id: 3, result: PcResult.AbstractSyntaxNotSupported, transferSyntax: IMPLICIT },
        { id: 5, result: PcResult.TransferSyntaxesNotSupported, transferSyntax: JPEG_LS },
      ],
      user: user({
        maxPduLength: 262144,
        roles: [{ sopClassUid: CT, scu: true, scp: false }],
        implementationVersionName: 'PACSFSEBRIDGE01',
      }),
    };
    const decoded = decodeAssociateAc(body(encodeAssociateAc(original), PduType.AssociateAc));
    expect(decoded).toEqual(original);
  });

  it('puts the result in the third byte of the presentation context item', () => {
    const encoded = encodeAssociateAc({
      calledAe: 'A',
      callingAe: 'B',
      applicationContext: APPLICATION_CONTEXT,
      contexts: [
        { id: 9, result: PcResult.TransferSyntaxesNotSupported, transferSyntax: IMPLICIT },
      ],
      user: user(),
    });
    const at = encoded.indexOf(Buffer.from([0x21, 0]));
    expect(encoded.subarray(at + 4, at + 8)).toEqual(
      Buffer.from([9, 0, PcResult.TransferSyntaxesNotSupported, 0]),
    );
  });
});

describe('A-ASSOCIATE-RJ, A-RELEASE and A-ABORT', () => {
  it('round-trips a rejection', () => {
    const rj = {
      result: RejectResult.Permanent,
      source: RejectSource.ServiceUser,
      reason: RejectUserReason.CalledAeNotRecognized,
    };
    const encoded = encodeAssociateRj(rj);
    expect(encoded).toEqual(Buffer.from([0x03, 0, 0, 0, 0, 4, 0, 1, 1, 7]));
    expect(decodeAssociateRj(body(encoded, PduType.AssociateRj))).toEqual(rj);
  });

  it('round-trips an abort', () => {
    const abort = { source: AbortSource.ServiceProvider, reason: AbortReason.UnexpectedPdu };
    const encoded = encodeAbort(abort);
    expect(encoded).toEqual(Buffer.from([0x07, 0, 0, 0, 0, 4, 0, 0, 2, 2]));
    expect(decodeAbort(body(encoded, PduType.Abort))).toEqual(abort);
  });

  it('encodes release request and response with a 4-byte reserved body', () => {
    expect(encodeReleaseRq()).toEqual(Buffer.from([0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0]));
    expect(encodeReleaseRp()).toEqual(Buffer.from([0x06, 0, 0, 0, 0, 4, 0, 0, 0, 0]));
  });

  it('encodes a P-DATA-TF header for one PDV', () => {
    expect(encodePDataHeader(5, true, true, 100)).toEqual(
      Buffer.from([0x04, 0, 0, 0, 0, 106, 0, 0, 0, 102, 5, 3]),
    );
    expect(encodePDataHeader(7, false, false, 0)).toEqual(
      Buffer.from([0x04, 0, 0, 0, 0, 6, 0, 0, 0, 2, 7, 0]),
    );
    expect(encodePDataHeader(1, false, true, 0x10000)[11]).toBe(2);
  });
});

describe('decode errors throw PduError', () => {
  const goodUser = item(0x50, Buffer.concat([maxLength(0), item(0x52, '1.2.3')]));
  const goodContext = item(
    0x20,
    Buffer.concat([Buffer.from([1, 0, 0, 0]), item(0x30, VERIFICATION), item(0x40, IMPLICIT)]),
  );

  it('accepts the hand-built reference body', () => {
    expect(
      decodeAssociateRq(rqBody([item(0x10, APPLICATION_CONTEXT), goodContext, goodUser])).contexts,
    ).toHaveLength(1);
  });

  it('rejects an A-ASSOCIATE body shorter than its fixed fields', () => {
    expect(() => decodeAssociateRq(Buffer.alloc(67))).toThrow(PduError);
    expect(() => decodeAssociateAc(Buffer.alloc(10))).toThrow(PduError);
    expect(() => decodeAssociateRq(Buffer.alloc(0))).toThrow(PduError);
  });

  it('rejects an item whose length runs past the end of the PDU', () => {
    const whole = rqBody([item(0x10, APPLICATION_CONTEXT), goodContext, goodUser]);
    expect(() => decodeAssociateRq(whole.subarray(0, whole.length - 1))).toThrow(PduError);
    expect(() => decodeAssociateRq(whole.subarray(0, whole.length - 3))).toThrow(PduError);
    // A sub-item running past its enclosing item is caught too.
    const badSub = Buffer.concat([Buffer.from([1, 0, 0, 0]), item(0x30, VERIFICATION)]);
    badSub.writeUInt16BE(VERIFICATION.length + 1, 6);
    expect(() =>
      decodeAssociateRq(rqBody([item(0x10, APPLICATION_CONTEXT), item(0x20, badSub), goodUser])),
    ).toThrow(PduError);
  });

  it('rejects an item header cut short', () => {
    const whole = rqBody([item(0x10, APPLICATION_CONTEXT), goodUser, Buffer.from([0x20, 0])]);
    expect(() => decodeAssociateRq(whole)).toThrow(/item header runs past the end/);
  });

  it('rejects a missing application context or user information item', () => {
    expect(() => decodeAssociateRq(rqBody([goodContext, goodUser]))).toThrow(PduError);
    expect(() => decodeAssociateRq(rqBody([item(0x10, APPLICATION_CONTEXT), goodContext]))).toThrow(
      PduError,
    );
  });

  it('rejects an unsupported protocol version and an unexpected item type', () => {
    expect(() => decodeAssociateRq(rqBody([item(0x10, APPLICATION_CONTEXT), goodUser], 2))).toThrow(
      PduError,
    );
    let error: unknown;
    try {
      decodeAssociateRq(
        rqBody([item(0x10, APPLICATION_CONTEXT), item(0x21, Buffer.alloc(4)), goodUser]),
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PduError);
    expect((error as PduError).reason).toBe(AbortReason.UnexpectedPduParameter);
  });

  it('rejects a maximum length sub-item that is not 4 bytes', () => {
    const badUser = item(0x50, Buffer.concat([item(0x51, Buffer.alloc(2)), item(0x52, '1.2.3')]));
    expect(() => decodeAssociateRq(rqBody([item(0x10, APPLICATION_CONTEXT), badUser]))).toThrow(
      PduError,
    );
  });

  it('rejects a role selection sub-item whose UID runs past it', () => {
    const role = Buffer.concat([
      Buffer.from([0, 30]),
      Buffer.from(CT, 'latin1'),
      Buffer.from([1, 0]),
    ]);
    const badUser = item(
      0x50,
      Buffer.concat([maxLength(0), item(0x52, '1.2.3'), item(0x54, role)]),
    );
    expect(() => decodeAssociateRq(rqBody([item(0x10, APPLICATION_CONTEXT), badUser]))).toThrow(
      PduError,
    );
  });

  it('rejects an empty role selection sub-item at the end of the PDU with a PduError', () => {
    // No room even for the 2-byte UID length: must be a PduError like every other malformed item.
    const badUser = item(
      0x50,
      Buffer.concat([maxLength(0), item(0x52, '1.2.3'), item(0x54, Buffer.alloc(0))]),
    );
    expect(() => decodeAssociateRq(rqBody([item(0x10, APPLICATION_CONTEXT), badUser]))).toThrow(
      PduError,
    );
  });

  it('rejects a presentation context item too short for its id and result fields', () => {
    for (const length of [0, 1, 3]) {
      const short = item(0x20, Buffer.alloc(length, 1));
      expect(
        () => decodeAssociateRq(rqBody([item(0x10, APPLICATION_CONTEXT), short, goodUser])),
        `RQ ${length}`,
      ).toThrow(PduError);
      const acBody = rqBody([
        item(0x10, APPLICATION_CONTEXT),
        item(0x21, Buffer.alloc(length, 1)),
        goodUser,
      ]);
      expect(() => decodeAssociateAc(acBody), `AC ${length}`).toThrow(PduError);
    }
  });

  it('rejects A-ASSOCIATE-RJ and A-ABORT bodies that are not 4 bytes', () => {
    expect(() => decodeAssociateRj(Buffer.alloc(3))).toThrow(PduError);
    expect(() => decodeAssociateRj(Buffer.alloc(5))).toThrow(PduError);
    expect(() => decodeAbort(Buffer.alloc(0))).toThrow(PduError);
    expect(() => decodeAbort(Buffer.alloc(6))).toThrow(PduError);
  });
});
