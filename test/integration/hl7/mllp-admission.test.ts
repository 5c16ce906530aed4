import { afterEach, describe, expect, it, vi } from 'vitest';
import { mdm } from '../../helpers/hl7-messages.js';
import { Hl7Peer } from '../../helpers/hl7-peer.js';
import { RawPeer, type TestListener, ackOf, startListener } from '../../helpers/mllp.js';

let listener: TestListener | undefined;
const peers: RawPeer[] = [];
const clients: Hl7Peer[] = [];

async function start(options: Parameters<typeof startListener>[0] = {}): Promise<TestListener> {
  listener = await startListener(options);
  return listener;
}

/** A raw connection from `localAddress`, once the listener counts it as open. */
async function peer(localAddress = '127.0.0.1'): Promise<RawPeer> {
  const before = listener!.server.connectionCount;
  const connected = await RawPeer.connect(listener!.port, localAddress);
  peers.push(connected);
  await vi.waitFor(() => expect(listener!.server.connectionCount).toBeGreaterThan(before));
  return connected;
}

afterEach(async () => {
  for (const p of peers.splice(0)) p.close();
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  await listener?.server.close(1000);
  listener = undefined;
});

describe('MLLP connection admission', () => {
  it('lets a RIS in while 16 idle connections fill the listener, closing the one idle the longest', async () => {
    await start({
      maxConnections: 16,
      maxConnectionsPerAddress: 4,
      idleTimeoutMs: 600_000,
      firstMessageTimeoutMs: 600_000,
    });
    const idle: RawPeer[] = [];
    for (const address of ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'])
      for (let i = 0; i < 4; i++) idle.push(await peer(address));
    expect(listener!.server.connectionCount).toBe(16);

    const ris = await Hl7Peer.connect(listener!.port);
    clients.push(ris);
    const ack = await ris.send(mdm({ controlId: 'RIS1' }));
    expect(ack.get('MSA.1').toString()).toBe('AA');
    expect(ack.get('MSA.2').toString()).toBe('RIS1');
    expect(listener!.events.map((event) => event.messageControlId)).toEqual(['RIS1']);

    await idle[0]!.closed;
    expect(idle.slice(1).every((p) => !p.socket.destroyed)).toBe(true);
    expect(listener!.server.connectionCount).toBe(16);
    expect(
      listener!.logs.find(
        (line) =>
          line.msg === 'HL7 connection closed: idle the longest, to make room for a new connection',
      ),
    ).toMatchObject({ connection: 1, max: 16 });
  });

  it('refuses a connection beyond the limit of its address, and serves other addresses', async () => {
    await start({ maxConnectionsPerAddress: 2 });
    const first = [await peer('127.0.0.2'), await peer('127.0.0.2')];
    const extra = await RawPeer.connect(listener!.port, '127.0.0.2');
    peers.push(extra);
    extra.send(mdm({ controlId: 'EXTRA' }));
    await expect(extra.nextFrame()).rejects.toThrow('connection closed without an ACK');
    expect(
      listener!.logs.find(
        (line) =>
          line.msg === 'HL7 connection refused: too many open connections from this address',
      ),
    ).toMatchObject({ open: 2, max: 2 });

    const other = await peer('127.0.0.3');
    other.send(mdm({ controlId: 'OTHER' }));
    expect(ackOf(await other.nextFrame())).toMatchObject({ code: 'AA', controlId: 'OTHER' });
    first[0]!.send(mdm({ controlId: 'FIRST' }));
    expect(ackOf(await first[0]!.nextFrame())).toMatchObject({ code: 'AA', controlId: 'FIRST' });
    expect(listener!.events.map((event) => event.messageControlId)).toEqual(['OTHER', 'FIRST']);
  });

  it('closes a connection that sends no readable message within the first-message timeout, and keeps one that did', async () => {
    await start({ firstMessageTimeoutMs: 300, idleTimeoutMs: 600_000 });
    const talking = await peer();
    talking.send(mdm({ controlId: 'HELLO' }));
    expect(ackOf(await talking.nextFrame())).toMatchObject({ code: 'AA', controlId: 'HELLO' });
    // Opened after `talking`: by the time they are closed, its first-message timeout is over too.
    const silent = await peer();
    const unreadable = await peer();
    unreadable.write('\x0bnot a message\x1c\r');
    expect(ackOf(await unreadable.nextFrame()).code).toBe('AR');

    await Promise.all([silent.closed, unreadable.closed]);
    const closed = listener!.logs.filter(
      (line) => line.msg === 'HL7 connection closed: no readable message since it opened',
    );
    expect(closed.map((line) => line.connection).sort()).toEqual([2, 3]);
    expect(closed[0]).toMatchObject({ firstMessageTimeoutMs: 300 });
    expect(talking.socket.destroyed).toBe(false);
    talking.send(mdm({ controlId: 'AGAIN' }));
    expect(ackOf(await talking.nextFrame())).toMatchObject({ code: 'AA', controlId: 'AGAIN' });
  }, 15_000);
});
