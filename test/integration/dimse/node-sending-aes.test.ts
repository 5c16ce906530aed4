import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BRIDGE_AE, disposeBridge, type TestBridge } from '../../helpers/bridge.js';
import { waitForLog } from '../../helpers/dimse-checks.js';
import { RawPeer, rawAssociate, rawEcho } from '../../helpers/raw-peer.js';
import { adminCall, startAdminBridge } from '../admin/admin-fixture.js';

/*
 * The AE titles a PACS node sends from (`sendingAeTitles`) may associate without an allowed-peer
 * entry, but only from the node's host: from any other address they are rejected with
 * A-ASSOCIATE-RJ permanent, service user, calling AE not recognized (1/1/3), like an allowed
 * peer from the wrong host. Holds for nodes from the configuration and for nodes edited later.
 */

const CALLING_AE_NOT_RECOGNIZED = { result: 1, source: 1, reason: 3 };
/** Sends from 127.0.0.2 only. */
const FAR_SENDER = 'FARPACS_SND';
/** Sends from 127.0.0.1 only. */
const NEAR_SENDER = 'NEARPACS_SND';

let bridge: TestBridge;

beforeAll(async () => {
  bridge = await startAdminBridge({
    // No allowed peers: the node's sending AE titles are the only way in.
    dicom: { allowedPeers: [] },
    pacs: {
      nodes: [
        {
          name: 'far',
          aeTitle: 'FARPACS',
          host: '127.0.0.2',
          port: 104,
          sendingAeTitles: [FAR_SENDER],
        },
        {
          name: 'near',
          aeTitle: 'NEARPACS',
          host: '127.0.0.1',
          port: 104,
          sendingAeTitles: [NEAR_SENDER],
        },
      ],
    },
  });
});

afterAll(async () => {
  await disposeBridge(bridge);
});

/** Associate as `callingAe` from `localAddress`; an accepted association is checked with a C-ECHO. */
async function associateFrom(
  callingAe: string,
  localAddress: string,
): Promise<{ kind: 'accepted'; echo: number } | { kind: 'rejected'; rejection: unknown }> {
  const peer = await RawPeer.connect(bridge.port, { localAddress });
  try {
    expect(peer.localAddress).toBe(localAddress);
    const answer = await rawAssociate(peer, { callingAe, calledAe: BRIDGE_AE });
    if (answer.kind === 'rejected') {
      await peer.waitClosed();
      return { kind: 'rejected', rejection: answer.rejection };
    }
    expect(answer.kind).toBe('accepted');
    const context = answer.kind === 'accepted' ? answer.contexts[0]! : undefined;
    return { kind: 'accepted', echo: await rawEcho(peer, context!.id) };
  } finally {
    peer.destroy();
  }
}

function rejectionLog(callingAe: string, address: string) {
  return waitForLog(
    bridge,
    (line) =>
      line.msg === 'association rejected' &&
      line.callingAe === callingAe &&
      line.address === address,
    `association rejected for ${callingAe} from ${address}`,
  );
}

describe("a PACS node's sending AE titles", () => {
  it("are accepted from the node's host", async () => {
    expect(await associateFrom(FAR_SENDER, '127.0.0.2')).toEqual({ kind: 'accepted', echo: 0 });
    expect(await associateFrom(NEAR_SENDER, '127.0.0.1')).toEqual({ kind: 'accepted', echo: 0 });
  });

  it('are rejected from another address with RJ 1/1/3', async () => {
    expect(await associateFrom(FAR_SENDER, '127.0.0.1')).toEqual({
      kind: 'rejected',
      rejection: CALLING_AE_NOT_RECOGNIZED,
    });
    const line = await rejectionLog(FAR_SENDER, '127.0.0.1');
    expect(String(line.reason)).toMatch(/host/);

    expect(await associateFrom(NEAR_SENDER, '127.0.0.2')).toEqual({
      kind: 'rejected',
      rejection: CALLING_AE_NOT_RECOGNIZED,
    });
    await rejectionLog(NEAR_SENDER, '127.0.0.2');
  });

  it("follow the node's host when an administrator moves it", async () => {
    const moved = await adminCall(bridge.app.reporting.httpPort, 'PUT', '/admin/api/nodes/near', {
      aeTitle: 'NEARPACS',
      host: '127.0.0.2',
      port: 104,
      sendingAeTitles: [NEAR_SENDER],
    });
    expect(moved.status).toBe(200);
    expect(await associateFrom(NEAR_SENDER, '127.0.0.1')).toEqual({
      kind: 'rejected',
      rejection: CALLING_AE_NOT_RECOGNIZED,
    });
    expect(await associateFrom(NEAR_SENDER, '127.0.0.2')).toEqual({ kind: 'accepted', echo: 0 });
  });
});
