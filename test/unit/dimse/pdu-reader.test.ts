import { describe, expect, it } from 'vitest';
import { PduReader, type PduReaderLimits } from '../../../src/dimse/pdu-reader.js';
import {
  APPLICATION_CONTEXT,
  AbortReason,
  AbortSource,
  PduError,
  PduType,
  encodeAbort,
  encodeAssociateRq,
  encodePDataHeader,
  encodeReleaseRq,
} from '../../../src/dimse/pdu.js';

type Event =
  | { kind: 'pdu'; type: number; body: string }
  | {
      kind: 'pdv';
      contextId: number;
      command: boolean;
      last: boolean;
      data: string;
      pdvEnd: boolean;
    };

const LIMITS: PduReaderLimits = { maxPDataLength: 16384, maxControlLength: 65536 };

/** Feed `chunks` to a reader and record what it hands on. */
function read(chunks: Buffer[], limits: PduReaderLimits = LIMITS): Event[] {
  const events: Event[] = [];
  const reader = new PduReader(
    {
      onPdu: (type, body) => events.push({ kind: 'pdu', type, body: body.toString('hex') }),
      onPdvChunk: (contextId, command, last, chunk, pdvEnd) =>
        events.push({
          kind: 'pdv',
          contextId,
          command,
          last,
          data: Buffer.from(chunk).toString('hex'),
          pdvEnd,
        }),
    },
    limits,
  );
  for (const chunk of chunks) reader.push(chunk);
  return events;
}

/** Merge the chunks of each PDV (they end at `pdvEnd`), so differently split inputs compare equal. */
function merged(events: Event[]): Event[] {
  const out: Event[] = [];
  let open: Extract<Event, { kind: 'pdv' }> | undefined;
  for (const event of events) {
    if (event.kind === 'pdu') {
      expect(open, 'a PDU event never interrupts a PDV').toBeUndefined();
      out.push(event);
      continue;
    }
    if (open) {
      expect([event.contextId, event.command, event.last]).toEqual([
        open.contextId,
        open.command,
        open.last,
      ]);
      open.data += event.data;
      open.pdvEnd = event.pdvEnd;
    } else {
      open = { ...event };
    }
    if (event.pdvEnd) {
      out.push(open);
      open = undefined;
    }
  }
  expect(open, 'the last PDV ended').toBeUndefined();
  return out;
}

/** A P-DATA-TF PDU holding several PDVs. */
function pData(
  pdvs: Array<{ contextId: number; command: boolean; last: boolean; data: Buffer }>,
): Buffer {
  const items = pdvs.map((pdv) => {
    const header = Buffer.alloc(6);
    header.writeUInt32BE(pdv.data.length + 2, 0);
    header.writeUInt8(pdv.contextId, 4);
    header.writeUInt8((pdv.command ? 1 : 0) | (pdv.last ? 2 : 0), 5);
    return Buffer.concat([header, pdv.data]);
  });
  const body = Buffer.concat(items);
  const header = Buffer.alloc(6);
  header.writeUInt8(PduType.PData, 0);
  header.writeUInt32BE(body.length, 2);
  return Buffer.concat([header, body]);
}

function bytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

/** A deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STREAM = Buffer.concat([
  encodeAssociateRq({
    calledAe: 'FSEBRIDGE',
    callingAe: 'TESTSCU',
    applicationContext: APPLICATION_CONTEXT,
    contexts: [
      { id: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] },
    ],
    user: {
      maxPduLength: 16384,
      implementationClassUid: '1.2.3',
      implementationVersionName: 'X',
      roles: [],
      asyncOps: undefined,
    },
  }),
  // One command in two fragments, then a dataset over two PDUs, two PDVs in one of them.
  pData([{ contextId: 1, command: true, last: false, data: bytes(40, 1) }]),
  pData([{ contextId: 1, command: true, last: true, data: bytes(31, 2) }]),
  pData([
    { contextId: 1, command: false, last: false, data: bytes(1000, 3) },
    { contextId: 1, command: false, last: false, data: bytes(7, 4) },
  ]),
  pData([{ contextId: 1, command: false, last: false, data: Buffer.alloc(0) }]),
  Buffer.concat([encodePDataHeader(3, false, true, 500), bytes(500, 5)]),
  encodeReleaseRq(),
  encodeAbort({ source: AbortSource.ServiceUser, reason: AbortReason.NotSpecified }),
]);

describe('PduReader', () => {
  it('hands on whole control PDUs and every PDV with its flags', () => {
    const events = read([STREAM]);
    expect(
      events.map((event) =>
        event.kind === 'pdu'
          ? `pdu ${event.type}`
          : `pdv ${event.contextId} ${+event.command}${+event.last} ${event.data.length / 2} ${+event.pdvEnd}`,
      ),
    ).toEqual([
      'pdu 1',
      'pdv 1 10 40 1',
      'pdv 1 11 31 1',
      'pdv 1 00 1000 1',
      'pdv 1 00 7 1',
      'pdv 1 00 0 1',
      'pdv 3 01 500 1',
      'pdu 5',
      'pdu 7',
    ]);
    const first = events[0] as Extract<Event, { kind: 'pdu' }>;
    expect(Buffer.from(first.body, 'hex').toString('latin1', 4, 13)).toBe('FSEBRIDGE');
    expect((events[3] as Extract<Event, { kind: 'pdv' }>).data).toBe(
      bytes(1000, 3).toString('hex'),
    );
  });

  it('gives the same PDUs and PDV data when fed byte by byte', () => {
    const whole = merged(read([STREAM]));
    const single = [...STREAM].map((byte) => Buffer.from([byte]));
    const events = read(single);
    expect(merged(events)).toEqual(whole);
    // No empty chunk is handed on except the one PDV that is empty.
    expect(events.filter((event) => event.kind === 'pdv' && event.data === '')).toHaveLength(1);
    expect(events.filter((event) => event.kind === 'pdv').length).toBe(
      40 + 31 + 1000 + 7 + 1 + 500,
    );
  });

  it('gives the same PDUs and PDV data for random split points', () => {
    const whole = merged(read([STREAM]));
    for (let seed = 1; seed <= 50; seed++) {
      const next = random(seed);
      const chunks: Buffer[] = [];
      for (let offset = 0; offset < STREAM.length;) {
        const size = 1 + Math.floor(next() * 40);
        chunks.push(STREAM.subarray(offset, offset + size));
        offset += size;
      }
      expect(merged(read(chunks)), `seed ${seed}`).toEqual(whole);
    }
  });

  it('accepts a P-DATA-TF of exactly the maximum length and throws on one byte more', () => {
    const limits = { maxPDataLength: 100, maxControlLength: 65536 };
    expect(
      merged(read([Buffer.concat([encodePDataHeader(1, false, true, 94), bytes(94, 9)])], limits)),
    ).toHaveLength(1);
    let error: unknown;
    try {
      read([encodePDataHeader(1, false, true, 95)], limits);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PduError);
    expect((error as PduError).reason).toBe(AbortReason.InvalidPduParameterValue);
  });

  it('takes a maximum of 0 as no limit', () => {
    const events: number[] = [];
    const reader = new PduReader(
      { onPdu: () => undefined, onPdvChunk: (_c, _m, _l, chunk) => events.push(chunk.length) },
      { maxPDataLength: 0, maxControlLength: 1024 },
    );
    reader.push(Buffer.concat([encodePDataHeader(1, false, true, 200000), bytes(200000, 1)]));
    expect(events.reduce((a, b) => a + b, 0)).toBe(200000);
  });

  it('throws on an unknown PDU type, with reason "unrecognized PDU"', () => {
    for (const type of [0x00, 0x08, 0x10, 0xff]) {
      const pdu = Buffer.from([type, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
      let error: unknown;
      try {
        read([pdu]);
      } catch (caught) {
        error = caught;
      }
      expect(error, `type ${type}`).toBeInstanceOf(PduError);
      expect((error as PduError).reason).toBe(AbortReason.UnrecognizedPdu);
    }
  });

  it('throws on a control PDU larger than its limit', () => {
    const pdu = Buffer.from([PduType.AssociateRq, 0, 0, 1, 0, 1]);
    expect(() => read([pdu], { maxPDataLength: 0, maxControlLength: 65536 })).toThrow(PduError);
  });

  it('throws when a PDV length does not fit its P-DATA-TF', () => {
    // PDU of 20 bytes whose PDV claims 20 bytes (needs 24 with its length field).
    const overlong = Buffer.alloc(26);
    overlong.writeUInt8(PduType.PData, 0);
    overlong.writeUInt32BE(20, 2);
    overlong.writeUInt32BE(20, 6);
    expect(() => read([overlong])).toThrow(PduError);
    // A PDV length below 2 cannot hold the context id and control header.
    const tiny = Buffer.from([PduType.PData, 0, 0, 0, 0, 6, 0, 0, 0, 1, 1, 3]);
    expect(() => read([tiny])).toThrow(PduError);
    // A second PDV that runs past the end of the PDU.
    const second = pData([
      { contextId: 1, command: false, last: false, data: bytes(10, 1) },
      { contextId: 1, command: false, last: true, data: bytes(10, 2) },
    ]);
    second.writeUInt32BE(13, 6 + 16);
    expect(() => read([second])).toThrow(PduError);
    // Fed byte by byte, the same PDU fails the same way.
    expect(() => read([...overlong].map((byte) => Buffer.from([byte])))).toThrow(PduError);
  });

  it('throws at once on a P-DATA-TF with fewer bytes than a PDV header after its last PDV', () => {
    for (const extra of [1, 5]) {
      // One PDV of 10 data bytes, then `extra` stray bytes the PDU length counts.
      const pdu = Buffer.concat([
        pData([{ contextId: 1, command: false, last: true, data: bytes(10, 1) }]),
        Buffer.alloc(extra),
      ]);
      pdu.writeUInt32BE(pdu.length - 6, 2);
      // Nothing follows: the error must not wait for bytes of a next PDU.
      expect(() => read([pdu])).toThrow(/bytes after its last PDV/);
    }
  });

  it('throws on a P-DATA-TF too short to hold a PDV', () => {
    expect(() => read([Buffer.from([PduType.PData, 0, 0, 0, 0, 4, 0, 0, 0, 0])])).toThrow(PduError);
  });
});
