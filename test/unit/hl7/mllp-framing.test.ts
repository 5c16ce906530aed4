import { describe, expect, it } from 'vitest';
import { type MllpEvent, MllpDecoder, frame } from '../../../src/hl7/mllp-framing.js';
import { noise, seededRandom } from '../../helpers/mllp.js';

const MESSAGE = Buffer.from(
  'MSH|^~\\&|RIS|ASLTO3|FSEBRIDGE|ASLTO3|2025||MDM^T02|X1|P|2.5\rPID|1\r',
);

function messages(events: MllpEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'message' ? [e.bytes.toString('latin1')] : []));
}

describe('MllpDecoder', () => {
  it('returns the bytes between the start block and the end block', () => {
    const decoder = new MllpDecoder(1024);
    expect(decoder.push(frame(MESSAGE))).toEqual([{ type: 'message', bytes: MESSAGE }]);
    expect(decoder.inFrame).toBe(false);
  });

  it('reassembles a frame split at every byte', () => {
    const decoder = new MllpDecoder(1024);
    const events: MllpEvent[] = [];
    for (const byte of Buffer.concat([frame(MESSAGE), frame(MESSAGE)]))
      events.push(...decoder.push(Buffer.of(byte)));
    expect(messages(events)).toEqual([MESSAGE.toString('latin1'), MESSAGE.toString('latin1')]);
    expect(events).toHaveLength(2);
  });

  it('splits several frames in one chunk, skipping whitespace between them', () => {
    const decoder = new MllpDecoder(1024);
    const chunk = Buffer.concat([
      frame(MESSAGE),
      Buffer.from('\r\n \t'),
      frame(Buffer.from('MSH|2')),
    ]);
    expect(messages(decoder.push(chunk))).toEqual([MESSAGE.toString('latin1'), 'MSH|2']);
  });

  it('reports other bytes outside frames as garbage and drops them', () => {
    const decoder = new MllpDecoder(1024);
    const events = decoder.push(
      Buffer.concat([Buffer.from('GET / HTTP/1.1\r\n'), frame(MESSAGE), Buffer.from('xyz')]),
    );
    expect(events).toEqual([
      { type: 'garbage', size: 'GET/HTTP/1.1'.length },
      { type: 'message', bytes: MESSAGE },
      { type: 'garbage', size: 3 },
    ]);
  });

  it('ends a frame at a lone FS too', () => {
    const decoder = new MllpDecoder(1024);
    const events = decoder.push(
      Buffer.concat([Buffer.of(0x0b), MESSAGE, Buffer.of(0x1c), frame(MESSAGE)]),
    );
    expect(messages(events)).toHaveLength(2);
    expect(events.some((e) => e.type === 'garbage')).toBe(false);
  });

  it('drops an unfinished frame when a new start block comes', () => {
    const decoder = new MllpDecoder(1024);
    const events = decoder.push(
      Buffer.concat([Buffer.of(0x0b), Buffer.from('MSH|half'), frame(MESSAGE)]),
    );
    expect(events).toEqual([
      { type: 'restarted', dropped: 8 },
      { type: 'message', bytes: MESSAGE },
    ]);
  });

  it('holds no more than the limit of a larger frame, keeps its head and counts its size', () => {
    const decoder = new MllpDecoder(100, 32);
    const big = Buffer.concat([MESSAGE, Buffer.alloc(10_000, 0x41)]);
    const events: MllpEvent[] = [];
    const framed = frame(big);
    for (let i = 0; i < framed.length; i += 7) {
      events.push(...decoder.push(framed.subarray(i, i + 7)));
      if (decoder.inFrame) expect(decoder.frameSize).toBeLessThanOrEqual(big.length);
    }
    expect(events).toEqual([
      { type: 'oversized', head: MESSAGE.subarray(0, 32), size: big.length },
    ]);
    expect(messages(decoder.push(frame(MESSAGE)))).toEqual([MESSAGE.toString('latin1')]);
  });

  it('keeps the same head of an oversized frame however TCP splits it, the limit below the head size', () => {
    const big = Buffer.concat([MESSAGE, Buffer.alloc(300, 0x41)]);
    for (const [payload, maxFrameBytes, headBytes] of [
      [MESSAGE, 16, 4096],
      [MESSAGE, 16, 40],
      [big, 64, 4096],
      [big, 64, 200],
    ] as const) {
      const framed = frame(payload);
      const expected: MllpEvent[] = [
        {
          type: 'oversized',
          head: payload.subarray(0, Math.min(headBytes, payload.length)),
          size: payload.length,
        },
      ];
      expect(new MllpDecoder(maxFrameBytes, headBytes).push(framed)).toEqual(expected);
      for (let at = 1; at < framed.length; at++) {
        const decoder = new MllpDecoder(maxFrameBytes, headBytes);
        const events = [
          ...decoder.push(framed.subarray(0, at)),
          ...decoder.push(framed.subarray(at)),
        ];
        expect(events).toEqual(expected);
      }
      const next = seededRandom(7);
      for (let n = 0; n < 200; n++) {
        const decoder = new MllpDecoder(maxFrameBytes, headBytes);
        const events: MllpEvent[] = [];
        let i = 0;
        while (i < framed.length) {
          const size = 1 + Math.floor(next() * 40);
          events.push(...decoder.push(framed.subarray(i, i + size)));
          i += size;
        }
        expect(events).toEqual(expected);
      }
    }
  });

  it('accepts a frame of exactly the limit', () => {
    const decoder = new MllpDecoder(MESSAGE.length);
    expect(messages(decoder.push(frame(MESSAGE)))).toHaveLength(1);
    expect(new MllpDecoder(MESSAGE.length - 1).push(frame(MESSAGE))[0]!.type).toBe('oversized');
  });

  it('reports an empty frame as an empty message', () => {
    expect(new MllpDecoder(10).push(Buffer.of(0x0b, 0x1c, 0x0d))).toEqual([
      { type: 'message', bytes: Buffer.alloc(0) },
    ]);
  });

  it('never throws on random input, stays bounded, and recovers at the next frame', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const next = seededRandom(seed);
      const decoder = new MllpDecoder(256, 64);
      for (let n = 0; n < 40; n++) {
        const chunk = noise(next, 1 + Math.floor(next() * 600), 0.02);
        for (const event of decoder.push(chunk)) {
          if (event.type === 'message') expect(event.bytes.length).toBeLessThanOrEqual(256);
          if (event.type === 'oversized') expect(event.head.length).toBeLessThanOrEqual(64);
        }
      }
      // Whatever state it was left in, an end block then a whole frame are read exactly.
      decoder.push(Buffer.of(0x1c, 0x0d));
      expect(decoder.push(frame(MESSAGE.subarray(0, 60)))).toEqual([
        { type: 'message', bytes: MESSAGE.subarray(0, 60) },
      ]);
    }
  });

  it('reads the bytes fed one event at a time, so that a reader can stop between frames', () => {
    const decoder = new MllpDecoder(1024);
    decoder.feed(Buffer.concat([frame(MESSAGE), Buffer.from('xy'), frame(Buffer.from('MSH|2'))]));
    decoder.feed(frame(Buffer.from('MSH|3')));
    expect(decoder.next()).toEqual({ type: 'message', bytes: MESSAGE });
    expect(decoder.unread).toBe(true);
    const read: MllpEvent[] = [];
    for (let event = decoder.next(); event; event = decoder.next()) read.push(event);
    expect(read).toEqual([
      { type: 'garbage', size: 2 },
      { type: 'message', bytes: Buffer.from('MSH|2') },
      { type: 'message', bytes: Buffer.from('MSH|3') },
    ]);
    expect(decoder.unread).toBe(false);
  });

  it('looks at each byte a bounded number of times and copies it at most once, whatever the input', () => {
    const SIZE = 80_000;
    const repeat = (unit: string): Buffer =>
      Buffer.from(unit.repeat(Math.ceil(SIZE / unit.length)), 'latin1').subarray(0, SIZE);
    const inputs: Record<string, Buffer> = {
      'tiny frames': repeat('\x0bX\x1c\r'),
      'frames ended by a lone FS': repeat('\x0bX\x1c'),
      'start blocks only': repeat('\x0bX'),
      'end blocks only': repeat('X\x1c'),
      'garbage between start blocks': repeat('X\x1cY\x0b'),
      noise: noise(seededRandom(3), SIZE, 0.05),
    };
    for (const [name, input] of Object.entries(inputs)) {
      for (const chunkSize of [SIZE, 65_536, 1000]) {
        const decoder = new MllpDecoder(256, 64);
        let events = 0;
        for (let at = 0; at < input.length; at += chunkSize)
          events += decoder.push(input.subarray(at, at + chunkSize)).length;
        expect(events, name).toBeGreaterThan(0);
        // Once for each delimiter's search, once for the garbage count.
        expect(
          decoder.bytesScanned,
          `${name} read ${chunkSize} bytes at a time`,
        ).toBeLessThanOrEqual(3 * input.length);
        expect(decoder.bytesCopied, name).toBeLessThanOrEqual(input.length);
      }
    }
  });
});
