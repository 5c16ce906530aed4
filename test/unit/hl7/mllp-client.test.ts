import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { exchange, readAck } from '../../../src/hl7/mllp-client.js';

let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A raw TCP peer on a free port; `onFrame` gets each connection's bytes once a frame ended. */
async function peer(onFrame: (socket: Socket, received: Buffer) => void): Promise<number> {
  server = createServer((socket) => {
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.includes(Buffer.of(0x1c, 0x0d))) onFrame(socket, received);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server!.address() as AddressInfo).port;
}

const options = (port: number, timeoutMs = 2_000) => ({ host: '127.0.0.1', port, timeoutMs });

describe('an MLLP exchange', () => {
  it('sends one framed message and returns the answer frame, even when it comes in pieces', async () => {
    let sent: Buffer | undefined;
    const port = await peer((socket, received) => {
      sent = received;
      socket.write(Buffer.of(0x0b, 0x4d, 0x53));
      setImmediate(() => socket.write(Buffer.from('H|ok\x1c\r', 'latin1')));
    });
    const outcome = await exchange(options(port), Buffer.from('MSH|x'));
    expect(sent).toEqual(Buffer.from('\x0bMSH|x\x1c\r', 'latin1'));
    expect(outcome).toEqual({ kind: 'answer', bytes: Buffer.from('MSH|ok') });
  });

  it('says timeout when no answer comes, and failed when the peer closes or sends too much', async () => {
    const silent = await peer(() => undefined);
    expect(await exchange(options(silent, 100), Buffer.from('MSH|x'))).toEqual({
      kind: 'timeout',
    });
    await new Promise((resolve) => server!.close(resolve));
    const closing = await peer((socket) => socket.end());
    expect(await exchange(options(closing), Buffer.from('MSH|x'))).toEqual({
      kind: 'failed',
      reason: 'connection closed before an answer',
    });
    await new Promise((resolve) => server!.close(resolve));
    const flooding = await peer((socket) => socket.write(Buffer.alloc(300, 0x41)));
    expect(
      await exchange({ ...options(flooding), maxAnswerBytes: 100 }, Buffer.from('MSH|x')),
    ).toEqual({ kind: 'failed', reason: 'answer larger than 100 bytes' });
  });

  it('stops when the caller aborts', async () => {
    const silent = await peer(() => undefined);
    const controller = new AbortController();
    const pending = exchange(options(silent), Buffer.from('MSH|x'), controller.signal);
    controller.abort();
    expect(await pending).toEqual({ kind: 'aborted' });
  });
});

describe('reading an acknowledgement', () => {
  const msh = 'MSH|^~\\&|O3DPACS|REGIONE|RIS|ASLTO3|20250114093006||ACK^T02^ACK|H1|P|2.5\r';

  it('reads AA and MSA-2', () => {
    expect(readAck(Buffer.from(`${msh}MSA|AA|0123\r`))).toEqual({
      code: 'AA',
      controlId: '0123',
      text: '',
    });
  });

  it('reads the error text of the v2.5 layout (ERR-3.9)', () => {
    const ack = `${msh}MSA|AR|0123\rERR|||207^Application internal error^HL70357^^^^^^Required OBX segment missing (OBX-2=RP)|E\r`;
    expect(readAck(Buffer.from(ack))).toEqual({
      code: 'AR',
      controlId: '0123',
      text: '207 Application internal error: Required OBX segment missing (OBX-2=RP)',
    });
  });

  it('reads the error text of the layout before v2.5 (ERR-1.4.5), not repeating MSA-3', () => {
    const ack = `${msh.replace('|2.5', '|2.4')}MSA|AE|0123|Application internal error\rERR|^^^207&Application internal error&HL70357&&ca.uhn.hl7v2.HL7Exception: bad\r`;
    expect(readAck(Buffer.from(ack)).text).toBe(
      '207 Application internal error: ca.uhn.hl7v2.HL7Exception: bad',
    );
  });

  it('reads ERR-8 and MSA-3 when that is where the text is', () => {
    const ack = `${msh}MSA|AE|0123|TXA segment is missing\rERR||TXA^1|100^Segment sequence error^HL70357|E||||TXA segment is missing\r`;
    expect(readAck(Buffer.from(ack)).text).toBe(
      '100 Segment sequence error: TXA segment is missing',
    );
  });

  it('refuses an answer without MSA-1', () => {
    expect(() => readAck(Buffer.from(`${msh}MSA||0123\r`))).toThrow(/MSA-1/);
    expect(() => readAck(Buffer.from('not HL7'))).toThrow();
  });
});
