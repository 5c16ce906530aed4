import { afterEach, describe, expect, it } from 'vitest';
import { WARNINGS_PER_CONNECTION } from '../../../src/hl7/mllp-warnings.js';
import { BRIDGE_AE, type TestBridge, disposeBridge, startBridge } from '../../helpers/bridge.js';
import { mdm } from '../../helpers/hl7-messages.js';
import { RawPeer, type TestListener, ackOf, startListener } from '../../helpers/mllp.js';
import { runTool, waitFor } from '../../helpers/tools.js';

/** The smallest frame there is: one byte that is not an HL7 message, answered AR. */
const TINY_FRAME = '\x0bX\x1c\r';
const PER_FRAME_WARNINGS = new Set([
  'HL7 message refused',
  'HL7 bytes outside a frame dropped',
  'HL7 frame restarted before its end: dropped',
]);

function tinyFrames(count: number): Buffer {
  return Buffer.from(TINY_FRAME.repeat(count), 'latin1');
}

let bridge: TestBridge | undefined;
let listener: TestListener | undefined;
const peers: RawPeer[] = [];

async function peer(port: number): Promise<RawPeer> {
  const connected = await RawPeer.connect(port);
  peers.push(connected);
  return connected;
}

afterEach(async () => {
  for (const p of peers.splice(0)) p.close();
  await listener?.server.close(1000);
  listener = undefined;
  await disposeBridge(bridge);
  bridge = undefined;
});

describe('MLLP listener under a flood of frames', () => {
  it('answers a C-ECHO while it works through 20 000 tiny frames sent in one write, then answers every frame', async () => {
    const total = 20_000;
    bridge = await startBridge({
      hl7: {
        enabled: true,
        host: '127.0.0.1',
        port: 0,
        maxFramesPerRead: 1_000_000,
        maxFramesPerConnection: 1_000_000,
        firstMessageTimeoutMs: 3_600_000,
      },
    });
    const flood = await peer(bridge.app.reporting.hl7Port!);
    flood.write(tinyFrames(total));
    // The first answer: the frames are being worked through.
    expect(ackOf(await flood.nextFrame(170_000)).code).toBe('AR');

    const echo = await runTool(
      'echoscu',
      ['-aet', 'ECHOSCU', '-aec', BRIDGE_AE, '127.0.0.1', String(bridge.port)],
      { timeoutMs: 60_000 },
    );
    const answeredBeforeEcho = flood.framesReceived;
    expect(echo.code, echo.stderr).toBe(0);
    expect(answeredBeforeEcho).toBeLessThan(total);

    await waitFor(() => flood.framesReceived === total, 170_000, 'every frame answered');
    const warnings = bridge.logs.filter(
      (line) => line.level === 'warn' && line.component === 'hl7',
    );
    expect(warnings.filter((line) => PER_FRAME_WARNINGS.has(line.msg ?? ''))).toHaveLength(
      WARNINGS_PER_CONNECTION,
    );
    expect(warnings.length).toBeLessThanOrEqual(WARNINGS_PER_CONNECTION + 1);

    flood.close();
    await waitFor(
      () =>
        bridge!.logs.some(
          (line) => line.msg === 'HL7 warnings on this connection counted and not logged',
        ),
      20_000,
      'the summary of the warnings not logged',
    );
    expect(
      bridge.logs.find(
        (line) => line.msg === 'HL7 warnings on this connection counted and not logged',
      ),
    ).toMatchObject({ notLogged: total - WARNINGS_PER_CONNECTION });
  }, 400_000);

  it('closes a connection sending more frames in one read than allowed, once those before are answered', async () => {
    listener = await startListener({ maxFramesPerRead: 50 });
    const client = await peer(listener.port);
    client.write(tinyFrames(400));
    await client.closed;
    expect(client.framesReceived).toBe(50);
    expect(
      listener.logs.find((line) =>
        line.msg.startsWith('HL7 connection closed: more frames in one read'),
      ),
    ).toMatchObject({ framesInRead: 51, maxFramesPerRead: 50, level: 40 });
    const other = await peer(listener.port);
    other.send(mdm({ controlId: 'AFTER' }));
    expect(ackOf(await other.nextFrame())).toMatchObject({ code: 'AA', controlId: 'AFTER' });
  });

  it('closes a connection that has carried more frames than allowed, answering those before', async () => {
    listener = await startListener({ maxFramesPerConnection: 3 });
    const client = await peer(listener.port);
    for (const controlId of ['F1', 'F2', 'F3']) {
      client.send(mdm({ controlId }));
      expect(ackOf(await client.nextFrame())).toMatchObject({ code: 'AA', controlId });
    }
    client.send(mdm({ controlId: 'F4' }));
    await expect(client.nextFrame()).rejects.toThrow('connection closed without an ACK');
    expect(listener.events.map((event) => event.messageControlId)).toEqual(['F1', 'F2', 'F3']);
    expect(
      listener.logs.find((line) =>
        line.msg.startsWith('HL7 connection closed: more frames on one connection'),
      ),
    ).toMatchObject({ frames: 4, maxFramesPerConnection: 3 });
  });

  it('logs the first warnings of a connection one by one, counts the next, and logs again after a message is accepted', async () => {
    listener = await startListener();
    const client = await peer(listener.port);
    const refused = (): number =>
      listener!.logs.filter((line) => line.msg === 'HL7 message refused').length;
    client.write(tinyFrames(300));
    await waitFor(() => client.framesReceived === 300, 60_000, '300 answers');
    expect(refused()).toBe(WARNINGS_PER_CONNECTION);

    client.send(mdm({ controlId: 'GOOD' }));
    await waitFor(() => client.framesReceived === 301, 20_000, 'the answer to a good message');
    expect(
      listener.logs.find(
        (line) => line.msg === 'HL7 warnings on this connection counted and not logged',
      ),
    ).toMatchObject({
      notLogged: 300 - WARNINGS_PER_CONNECTION,
      byMessage: { 'HL7 message refused': 300 - WARNINGS_PER_CONNECTION },
    });
    client.write(tinyFrames(1));
    await waitFor(() => client.framesReceived === 302, 20_000, 'the answer to one more frame');
    expect(refused()).toBe(WARNINGS_PER_CONNECTION + 1);
  });
});
