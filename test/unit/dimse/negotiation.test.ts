import { describe, expect, it } from 'vitest';
import { negotiateContexts } from '../../../src/dimse/negotiation.js';
import { PcResult } from '../../../src/dimse/pdu.js';

const CT = '1.2.840.10008.5.1.4.1.1.2';
const MR = '1.2.840.10008.5.1.4.1.1.4';
const VERIFICATION = '1.2.840.10008.1.1';
const FIND = '1.2.840.10008.5.1.4.1.2.2.1';
const IMPLICIT = '1.2.840.10008.1.2';
const EXPLICIT = '1.2.840.10008.1.2.1';
const BIG_ENDIAN = '1.2.840.10008.1.2.2';
const JPEG_LS = '1.2.840.10008.1.2.4.80';
const JPEG_2000 = '1.2.840.10008.1.2.4.90';
const JPEG_XL = '1.2.840.10008.1.2.4.110'; // not supported by the bridge
const UNKNOWN_TS = '1.2.3.4.5.6';

const supported = (uid: string): boolean => [CT, MR, VERIFICATION].includes(uid);

describe('presentation context negotiation', () => {
  it('picks the first supported transfer syntax in the proposer order', () => {
    const result = negotiateContexts(
      [
        { id: 1, abstractSyntax: CT, transferSyntaxes: [JPEG_LS, EXPLICIT, IMPLICIT] },
        { id: 3, abstractSyntax: CT, transferSyntaxes: [IMPLICIT, EXPLICIT] },
        {
          id: 5,
          abstractSyntax: MR,
          transferSyntaxes: [JPEG_XL, UNKNOWN_TS, BIG_ENDIAN, JPEG_2000],
        },
      ],
      supported,
      [],
    );
    expect(result.contexts).toEqual([
      { id: 1, result: PcResult.Acceptance, transferSyntax: JPEG_LS },
      { id: 3, result: PcResult.Acceptance, transferSyntax: IMPLICIT },
      { id: 5, result: PcResult.Acceptance, transferSyntax: BIG_ENDIAN },
    ]);
    expect([...result.accepted]).toEqual([
      [1, { abstractSyntax: CT, transferSyntax: JPEG_LS }],
      [3, { abstractSyntax: CT, transferSyntax: IMPLICIT }],
      [5, { abstractSyntax: MR, transferSyntax: BIG_ENDIAN }],
    ]);
  });

  it('rejects an unsupported abstract syntax with result 3', () => {
    const result = negotiateContexts(
      [{ id: 7, abstractSyntax: FIND, transferSyntaxes: [IMPLICIT] }],
      supported,
      [],
    );
    expect(result.contexts).toEqual([{ id: 7, result: 3, transferSyntax: IMPLICIT }]);
    expect(result.accepted.size).toBe(0);
  });

  it('rejects a context with no supported transfer syntax with result 4', () => {
    const result = negotiateContexts(
      [{ id: 9, abstractSyntax: CT, transferSyntaxes: [JPEG_XL, UNKNOWN_TS] }],
      supported,
      [],
    );
    expect(result.contexts).toEqual([{ id: 9, result: 4, transferSyntax: JPEG_XL }]);
    expect(result.accepted.size).toBe(0);
  });

  it('answers every context, in order, when results are mixed', () => {
    const result = negotiateContexts(
      [
        { id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT] },
        { id: 3, abstractSyntax: FIND, transferSyntaxes: [EXPLICIT] },
        { id: 5, abstractSyntax: MR, transferSyntaxes: [UNKNOWN_TS] },
        { id: 7, abstractSyntax: MR, transferSyntaxes: [] },
      ],
      supported,
      [],
    );
    expect(result.contexts.map((pc) => [pc.id, pc.result])).toEqual([
      [1, PcResult.Acceptance],
      [3, PcResult.AbstractSyntaxNotSupported],
      [5, PcResult.TransferSyntaxesNotSupported],
      [7, PcResult.TransferSyntaxesNotSupported],
    ]);
    expect([...result.accepted.keys()]).toEqual([1]);
  });

  it('lets the requestor be SCU for supported classes and never takes the SCU role itself', () => {
    const result = negotiateContexts(
      [{ id: 1, abstractSyntax: CT, transferSyntaxes: [IMPLICIT] }],
      supported,
      [
        { sopClassUid: CT, scu: true, scp: true },
        { sopClassUid: MR, scu: false, scp: true },
        { sopClassUid: FIND, scu: true, scp: false },
      ],
    );
    expect(result.roles).toEqual([
      { sopClassUid: CT, scu: true, scp: false },
      { sopClassUid: MR, scu: false, scp: false },
    ]);
  });
});
