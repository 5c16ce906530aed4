import { connect } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mdm } from '../../helpers/hl7-messages.js';
import {
  RawPeer,
  type TestListener,
  ackOf,
  gate,
  noise,
  seededRandom,
  startListener,
} from '../../helpers/mllp.js';

let listener: TestListener | undefined;
const peers: RawPeer[] = [];

async function peer(): Promise<RawPeer> {
  const connected = await RawPeer.connect(listener!.port);
  peers.push(connected);
  return connected;
}

function refused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
  });
}

afterEach(async () => {
  for (const p of peers.splice(0)) p.close();
  await listener?.server.close(1000);
  listener = undefined;
});

describe('MLLP listener shutdown', () => {
  it('answers the message in progress, then closes; new connections are refused', async () => {
    const held = gate();
    listener = await startListener({ sink: held.sink });
    const busy = await peer();
    const idle = await peer();
    busy.send(mdm({ controlId: 'IN-FLIGHT' }));
    await held.entered;
    const closing = listener.server.close(5000);
    // The idle connection goes at once; the busy one waits for its answer.
    await idle.closed;
    expect(await refused(listener.port)).toBe('ECONNREFUSED');
    let closed = false;
    void closing.then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(false);
    held.release();
    expect(ackOf(await busy.nextFrame())).toMatchObject({ code: 'AA', controlId: 'IN-FLIGHT' });
    await busy.closed;
    await closing;
    expect(listener.events.map((e) => e.messageControlId)).toEqual(['IN-FLIGHT']);
    expect(listener.server.close(5000)).toBe(closing);
  });

  it('does not take new frames while shutting down', async () => {
    const held = gate();
    listener = await startListener({ sink: held.sink });
    const client = await peer();
    client.send(mdm({ controlId: 'FIRST' }));
    await held.entered;
    const closing = listener.server.close(5000);
    client.send(mdm({ controlId: 'LATE' }));
    await vi.waitFor(() =>
      expect(
        listener!.logs.some((l) => l.msg.startsWith('HL7 frame received while shutting down')),
      ).toBe(true),
    );
    held.release();
    expect(ackOf(await client.nextFrame())).toMatchObject({ controlId: 'FIRST' });
    await expect(client.nextFrame()).rejects.toThrow('connection closed without an ACK');
    await closing;
    expect(listener.events.map((e) => e.messageControlId)).toEqual(['FIRST']);
  });

  it('closes connections when the drain time is over, and returns once the handler has', async () => {
    const held = gate();
    listener = await startListener({ sink: held.sink });
    const client = await peer();
    client.send(mdm({ controlId: 'STUCK' }));
    await held.entered;
    const begun = Date.now();
    let closed = false;
    const closing = listener.server.close(200).then(() => (closed = true));
    await client.closed;
    expect(Date.now() - begun).toBeGreaterThanOrEqual(180);
    expect(
      listener.logs.some(
        (l) =>
          l.msg === 'HL7 shutdown timeout: closing connections with messages still in progress',
      ),
    ).toBe(true);
    expect(closed).toBe(false);
    held.release();
    await closing;
  });

  it('closes at once when nothing is connected', async () => {
    listener = await startListener();
    const begun = Date.now();
    await listener.server.close(5000);
    expect(Date.now() - begun).toBeLessThan(1000);
  });
});

describe('MLLP listener under random input', () => {
  it('survives random bytes and broken frames on many connections, then still answers AA', async () => {
    listener = await startListener({ maxMessageBytes: 2048, idleTimeoutMs: 2000 });
    const good = Buffer.from(mdm());
    const next = seededRandom(20250114);
    for (let round = 0; round < 30; round++) {
      const client = await peer();
      for (let n = 0; n < 8; n++) {
        // Sometimes the start of a good message in the noise.
        if (n % 3 === 0)
          client.write(
            Buffer.concat([Buffer.of(0x0b), good.subarray(0, Math.floor(next() * good.length))]),
          );
        client.write(noise(next, 1 + Math.floor(next() * 3000)));
      }
      if (round % 2 === 0) client.close();
      else client.socket.end();
    }
    const client = await peer();
    client.send(mdm({ controlId: 'AFTER-FUZZ' }));
    expect(ackOf(await client.nextFrame())).toMatchObject({ code: 'AA', controlId: 'AFTER-FUZZ' });
    await vi.waitFor(() => expect(listener!.server.connectionCount).toBe(1));
    expect(listener.logs.some((l) => l.level >= 50)).toBe(false);
  });
});
