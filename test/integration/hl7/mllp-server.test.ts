import { afterEach, describe, expect, it, vi } from 'vitest';
import { Hl7Error } from '../../../src/hl7/errors.js';
import { parseHl7 } from '../../../src/hl7/message.js';
import {
  CODICE_FISCALE,
  PACS_PATIENT_ID,
  mdm,
  msh,
  pid,
  pv1,
  txa,
  obxText,
} from '../../helpers/hl7-messages.js';
import { RawPeer, type TestListener, ackOf, startListener } from '../../helpers/mllp.js';

let listener: TestListener | undefined;
const peers: RawPeer[] = [];

async function start(options: Parameters<typeof startListener>[0] = {}): Promise<TestListener> {
  listener = await startListener(options);
  return listener;
}

async function peer(): Promise<RawPeer> {
  const connected = await RawPeer.connect(listener!.port);
  peers.push(connected);
  return connected;
}

/** Still serving: a good message on a new connection is answered AA. */
async function expectServing(controlId = `OK${Date.now()}`): Promise<void> {
  const client = await peer();
  client.send(mdm({ controlId }));
  expect(ackOf(await client.nextFrame())).toMatchObject({ code: 'AA', controlId });
  client.close();
}

afterEach(async () => {
  for (const p of peers.splice(0)) p.close();
  await listener?.server.close(1000);
  listener = undefined;
});

describe('MLLP listener', () => {
  it('answers AA to a good MDM^T02 and hands its report event over', async () => {
    const { events } = await start();
    const client = await peer();
    client.send(mdm());
    const ack = await client.nextFrame();
    const parsed = parseHl7(ack);
    expect(parsed.header).toMatchObject({
      messageType: 'ACK',
      triggerEvent: 'T02',
      sendingApplication: 'FSEBRIDGE',
      receivingApplication: 'RIS_ELCO',
      receivingFacility: 'ASLTO3',
      version: '2.5',
    });
    expect(ackOf(ack)).toEqual({ code: 'AA', controlId: 'RIS000123456', reason: '' });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'signed', patientId: PACS_PATIENT_ID });
  });

  it('answers pipelined messages in the order they came, on one connection', async () => {
    await start({
      sink: (event) => new Promise((r) => setTimeout(r, event.messageControlId === 'M1' ? 50 : 0)),
    });
    const client = await peer();
    client.write(
      Buffer.concat(
        ['M1', 'M2', 'M3'].map((id) => Buffer.from(`\x0b${mdm({ controlId: id })}\x1c\r`)),
      ),
    );
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(ackOf(await client.nextFrame()).controlId);
    expect(ids).toEqual(['M1', 'M2', 'M3']);
  });

  it('answers AE with the reason for a message without an RP OBX, and keeps the connection', async () => {
    const { events } = await start();
    const client = await peer();
    client.send(mdm({ controlId: 'NO-RP', segments: [pid(), pv1(), txa(), obxText()] }));
    expect(ackOf(await client.nextFrame())).toEqual({
      code: 'AE',
      controlId: 'NO-RP',
      reason: 'no OBX with OBX-2 = RP (accession number)',
    });
    client.send(mdm({ controlId: 'AFTER' }));
    expect(ackOf(await client.nextFrame())).toMatchObject({ code: 'AA', controlId: 'AFTER' });
    expect(events.map((e) => e.messageControlId)).toEqual(['AFTER']);
  });

  it('answers AR to an unknown facility and to an unsupported message type', async () => {
    await start();
    const client = await peer();
    client.send(mdm({ sendingFacility: 'ASLCN1', controlId: 'F1' }));
    expect(ackOf(await client.nextFrame())).toEqual({
      code: 'AR',
      controlId: 'F1',
      reason: 'unknown sending facility "ASLCN1"',
    });
    client.send(mdm({ type: 'ADT^A01^ADT_A01', controlId: 'F2' }));
    expect(ackOf(await client.nextFrame())).toMatchObject({ code: 'AR', controlId: 'F2' });
  });

  it('answers a control character escaped in MSH-9 with an ACK that holds none raw', async () => {
    await start();
    const client = await peer();
    for (const [trigger, controlId] of [
      ['\\X1C\\', 'FS1'],
      ['\\X0B\\', 'VT1'],
    ]) {
      client.send(mdm({ type: `MDM^${trigger}^MDM_T02`, controlId }));
      const ack = await client.nextFrame();
      const bytes = [...Buffer.from(ack, 'latin1')];
      expect(bytes.filter((b) => (b < 0x20 && b !== 0x0d) || b === 0x7f)).toEqual([]);
      expect(ackOf(ack)).toMatchObject({ code: 'AR', controlId });
      expect(parseHl7(ack).msh.field(9).raw).toBe(`ACK^${trigger}^ACK`);
    }
    client.send(mdm({ controlId: 'GOOD' }));
    expect(ackOf(await client.nextFrame())).toMatchObject({ code: 'AA', controlId: 'GOOD' });
  });

  it('answers AR, echoing what MSH it can read, to a frame that does not parse', async () => {
    await start();
    const client = await peer();
    client.send(`${msh({ controlId: 'BROKEN' })}\rthis is not a segment\r`);
    expect(ackOf(await client.nextFrame())).toEqual({
      code: 'AR',
      controlId: 'BROKEN',
      reason: 'segment 2 does not start with a segment name',
    });
    client.send(`${msh({ controlId: 'CS', charset: 'EBCDIC' })}\r`);
    expect(ackOf(await client.nextFrame())).toMatchObject({ code: 'AR', controlId: 'CS' });
    client.send(mdm({ controlId: 'GOOD' }));
    expect(ackOf(await client.nextFrame())).toMatchObject({ code: 'AA', controlId: 'GOOD' });
  });

  it('answers AR with MSA-2 empty to garbage inside a frame, and to an empty frame', async () => {
    await start();
    const client = await peer();
    client.send(Buffer.from([0x00, 0xff, 0x13, 0x37, 0x7f, 0x80, 0x41]));
    const ack = await client.nextFrame();
    expect(ackOf(ack)).toEqual({
      code: 'AR',
      controlId: '',
      reason: 'message does not start with an MSH segment',
    });
    expect(ack.startsWith('MSH|^~\\&|FSEBRIDGE|ASR|||')).toBe(true);
    client.send('');
    expect(ackOf(await client.nextFrame())).toMatchObject({ code: 'AR', reason: 'empty message' });
    client.send(mdm({ controlId: 'GOOD' }));
    expect(ackOf(await client.nextFrame())).toMatchObject({ code: 'AA', controlId: 'GOOD' });
  });

  it('drops bytes outside frames (bad framing, garbage), logs them, and reads the next frame', async () => {
    const { logs } = await start();
    const client = await peer();
    // A message without its start block, then binary garbage, then a well-framed message.
    client.write(`${mdm({ controlId: 'UNFRAMED' })}\x1c\r`);
    client.write(Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x1c, 0x0d, 0x0a]));
    client.send(mdm({ controlId: 'FRAMED' }));
    expect(ackOf(await client.nextFrame())).toMatchObject({ code: 'AA', controlId: 'FRAMED' });
    const dropped = logs.find((line) => line.msg === 'HL7 bytes outside a frame dropped');
    expect(dropped?.garbageBytes).toBeGreaterThan(100);
    await expect(client.nextFrame(300)).rejects.toThrow('no ACK in time');
  });

  it('drops an unfinished frame when a new one starts', async () => {
    const { logs } = await start();
    const client = await peer();
    client.write(`\x0b${mdm({ controlId: 'CUT' }).slice(0, 80)}`);
    client.send(mdm({ controlId: 'WHOLE' }));
    expect(ackOf(await client.nextFrame())).toMatchObject({ code: 'AA', controlId: 'WHOLE' });
    expect(logs.some((line) => line.msg === 'HL7 frame restarted before its end: dropped')).toBe(
      true,
    );
    await expect(client.nextFrame(300)).rejects.toThrow('no ACK in time');
  });

  it('answers AR to an oversized message whose MSH is readable, and keeps serving', async () => {
    const { events } = await start({ maxMessageBytes: 4096 });
    const client = await peer();
    const big = mdm({
      controlId: 'BIG',
      segments: [pid(), pv1(), txa(), obxText('x'.repeat(50_000))],
    });
    client.send(big);
    expect(ackOf(await client.nextFrame())).toEqual({
      code: 'AR',
      controlId: 'BIG',
      reason: `message of ${Buffer.byteLength(big)} bytes exceeds the limit of 4096 bytes`,
    });
    client.send(mdm({ controlId: 'SMALL' }));
    expect(ackOf(await client.nextFrame())).toMatchObject({ code: 'AA', controlId: 'SMALL' });
    expect(events.map((e) => e.messageControlId)).toEqual(['SMALL']);
  });

  it('closes the connection on an oversized frame without a readable MSH, and keeps serving', async () => {
    await start({ maxMessageBytes: 4096 });
    const client = await peer();
    client.send(Buffer.alloc(20_000, 0x41));
    await expect(client.nextFrame()).rejects.toThrow('connection closed without an ACK');
    await expectServing();
  });

  it('cuts off a frame that never ends long past the limit', async () => {
    const { logs } = await start({ maxMessageBytes: 1024 });
    const client = await peer();
    client.write(`\x0b${msh()}\r`);
    for (let i = 0; i < 20; i++) client.write(Buffer.alloc(1024, 0x42));
    await client.closed;
    expect(
      logs.some((line) => line.msg === 'HL7 connection closed: too many bytes without a frame end'),
    ).toBe(true);
    await expectServing();
  });

  it('closes a connection that stops in the middle of a frame after the idle timeout', async () => {
    const { logs } = await start({ idleTimeoutMs: 300 });
    const client = await peer();
    const sent = Date.now();
    client.write(`\x0b${mdm().slice(0, 100)}`);
    const closedAt = await client.closed;
    expect(closedAt - sent).toBeGreaterThanOrEqual(250);
    expect(closedAt - sent).toBeLessThan(3000);
    expect(logs.find((line) => line.msg === 'HL7 connection idle: closing it')?.inFrame).toBe(true);
    await vi.waitFor(() => {
      const closed = logs.find(
        (line) => line.msg === 'HL7 connection closed with bytes that were not a whole message',
      );
      expect(closed?.unfinishedFrameBytes).toBe(100);
    });
    await expectServing();
  });

  it('keeps a connection open while its message is being processed, then times it out when silent', async () => {
    await start({ idleTimeoutMs: 200, sink: () => new Promise((r) => setTimeout(r, 600)) });
    const client = await peer();
    client.send(mdm({ controlId: 'SLOW' }));
    expect(ackOf(await client.nextFrame(3000))).toMatchObject({ code: 'AA', controlId: 'SLOW' });
    const answered = Date.now();
    const closedAt = await client.closed;
    expect(closedAt - answered).toBeGreaterThanOrEqual(150);
  });

  it('closes connections beyond the limit at once while every one is busy, and accepts again when one closes', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered = 0;
    await start({
      maxConnections: 3,
      sink: () => {
        entered++;
        return held;
      },
    });
    const open = [await peer(), await peer(), await peer()];
    for (const [i, client] of open.entries()) client.send(mdm({ controlId: `C${i}` }));
    // Each connection has a message being processed: none is idle.
    await vi.waitFor(() => expect(entered).toBe(3));
    const extra = await peer();
    extra.send(mdm({ controlId: 'EXTRA' }));
    await expect(extra.nextFrame()).rejects.toThrow('connection closed without an ACK');
    release();
    for (const client of open)
      expect(ackOf(await client.nextFrame())).toMatchObject({ code: 'AA' });
    open[0]!.close();
    await open[0]!.closed;
    await vi.waitFor(() => expect(listener!.server.connectionCount).toBe(2));
    await expectServing();
    expect(
      listener!.logs.some(
        (line) => line.msg === 'HL7 connection refused: too many open connections',
      ),
    ).toBe(true);
  });

  it('serves many connections at once', async () => {
    const { events } = await start({ maxConnections: 64 });
    const clients = await Promise.all(Array.from({ length: 40 }, () => peer()));
    const acks = await Promise.all(
      clients.map(async (client, i) => {
        client.send(mdm({ controlId: `MANY${i}` }));
        return ackOf(await client.nextFrame());
      }),
    );
    expect(acks.every((ack, i) => ack.code === 'AA' && ack.controlId === `MANY${i}`)).toBe(true);
    expect(events).toHaveLength(40);
  });

  it("answers AR 207 when the sink fails, and the sink's own AE when it refuses", async () => {
    await start({
      sink: (event) => {
        if (event.messageControlId === 'FAIL')
          return Promise.reject(new Error(`disk full for ${event.patientId}`));
        if (event.messageControlId === 'REFUSE')
          return Promise.reject(new Hl7Error('document not known', { ack: 'AE', code: 204 }));
        return Promise.resolve();
      },
    });
    const client = await peer();
    client.send(mdm({ controlId: 'FAIL' }));
    const failed = await client.nextFrame();
    expect(ackOf(failed)).toEqual({
      code: 'AR',
      controlId: 'FAIL',
      reason: 'application internal error',
    });
    expect(failed).not.toContain(PACS_PATIENT_ID);
    client.send(mdm({ controlId: 'REFUSE' }));
    expect(ackOf(await client.nextFrame())).toEqual({
      code: 'AE',
      controlId: 'REFUSE',
      reason: 'document not known',
    });
    expect(listener!.logs.some((line) => line.msg === 'HL7 handler failed')).toBe(true);
  });

  it('writes no patient data to its logs', async () => {
    const { logText } = await start();
    const client = await peer();
    client.send(mdm());
    await client.nextFrame();
    client.send(mdm({ segments: [pid(), pv1(), txa()] }));
    await client.nextFrame();
    const text = logText();
    expect(text).toContain('HL7 message accepted');
    expect(text).toContain('HL7 message refused');
    for (const secret of [
      CODICE_FISCALE,
      PACS_PATIENT_ID,
      'ROSSI',
      'MARIO',
      '19800101',
      'VIA ROMA',
    ])
      expect(text).not.toContain(secret);
  });

  it('refuses invalid options, naming them', async () => {
    await expect(start({ maxMessageBytes: 0 })).rejects.toThrow(
      'MLLP option maxMessageBytes must be an integer from 64 to 1073741824: value was 0',
    );
    await expect(start({ maxFramesPerRead: 0.5 })).rejects.toThrow(
      'MLLP option maxFramesPerRead must be an integer from 1 to 9007199254740991: value was 0.5',
    );
    await expect(start({ firstMessageTimeoutMs: 0 })).rejects.toThrow(
      'MLLP option firstMessageTimeoutMs must be an integer from 1 to 2147483647: value was 0',
    );
  });
});
