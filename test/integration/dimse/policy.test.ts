import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssociationRejectedError } from '../../../src/dimse/client.js';
import {
  BRIDGE_AE,
  TEST_PEERS,
  disposeBridge,
  startBridge,
  type TestBridge,
} from '../../helpers/bridge.js';
import {
  connectClient,
  echoStatus,
  expectNothingStored,
  settle,
  waitForLog,
} from '../../helpers/dimse-checks.js';
import { RawPeer, rawAssociate, rawEcho } from '../../helpers/raw-peer.js';
import { SAMPLES_DIR } from '../../helpers/samples.js';
import { runTool } from '../../helpers/tools.js';

/*
 * Who may associate (issue acceptance list, "AE policy"): an unknown calling AE, a wrong called
 * AE, and an allowed AE title connecting from another host than the one configured for it are
 * rejected with A-ASSOCIATE-RJ, permanent, service user, reason 3 (calling AE not recognized) or
 * 7 (called AE not recognized); nothing is stored and the log names who tried.
 */

/** Only connects from 127.0.0.2. */
const FAR_PEER = 'FARPEER';
/** Only connects from 127.0.0.1. */
const NEAR_PEER = 'NEARPEER';
const UNKNOWN_AE = 'INTRUDER';
const CT_SMALL = join(SAMPLES_DIR, 'single', 'CT_small.dcm');

const CALLING_AE_NOT_RECOGNIZED = { result: 1, source: 1, reason: 3 };
const CALLED_AE_NOT_RECOGNIZED = { result: 1, source: 1, reason: 7 };

let bridge: TestBridge;

beforeAll(async () => {
  bridge = await startBridge({
    dicom: {
      allowedPeers: [
        ...TEST_PEERS.map((aeTitle) => ({ aeTitle })),
        { aeTitle: FAR_PEER, host: '127.0.0.2' },
        { aeTitle: NEAR_PEER, host: '127.0.0.1' },
      ],
    },
  });
});

afterAll(async () => {
  await disposeBridge(bridge);
});

/** Open an association with our SCU; the rejection it got, or a failure if it was accepted. */
async function rejectionFor(callingAe: string, calledAe: string): Promise<unknown> {
  const result = await settle(connectClient(bridge, { callingAe, calledAe }));
  if (result.ok) {
    await result.value.release();
    throw new Error(`association ${callingAe} -> ${calledAe} was accepted`);
  }
  expect(result.error).toBeInstanceOf(AssociationRejectedError);
  return (result.error as AssociationRejectedError).rejection;
}

/** The 'association rejected' log line for this calling AE (waits for it). */
function rejectionLog(callingAe: string, calledAe: string, address?: string) {
  return waitForLog(
    bridge,
    (line) =>
      line.msg === 'association rejected' &&
      line.callingAe === callingAe &&
      line.calledAe === calledAe &&
      (address === undefined || line.address === address),
    `association rejected for ${callingAe} -> ${calledAe}`,
  );
}

function echoscu(callingAe: string, calledAe = BRIDGE_AE) {
  return runTool('echoscu', [
    '-aet',
    callingAe,
    '-aec',
    calledAe,
    '127.0.0.1',
    String(bridge.port),
  ]);
}

function storescu(callingAe: string, calledAe = BRIDGE_AE) {
  return runTool('storescu', [
    '-aet',
    callingAe,
    '-aec',
    calledAe,
    '127.0.0.1',
    String(bridge.port),
    CT_SMALL,
  ]);
}

describe('AE policy', () => {
  it('rejects an unknown calling AE title with RJ 1/1/3 and logs who tried', async () => {
    expect(await rejectionFor(UNKNOWN_AE, BRIDGE_AE)).toEqual(CALLING_AE_NOT_RECOGNIZED);
    const line = await rejectionLog(UNKNOWN_AE, BRIDGE_AE);
    expect(line.level).toBe('warn');
    expect(line.address).toBe('127.0.0.1');
    await expectNothingStored(bridge);
    expect(await echoStatus(bridge)).toBe(0x0000);
  });

  it('rejects a called AE title that is not the bridge with RJ 1/1/7 and logs who tried', async () => {
    expect(await rejectionFor('TESTSCU', 'NOTTHEBRIDGE')).toEqual(CALLED_AE_NOT_RECOGNIZED);
    await rejectionLog('TESTSCU', 'NOTTHEBRIDGE');
    await expectNothingStored(bridge);
  });

  it('rejects an allowed AE title connecting from another host than its own with RJ 1/1/3', async () => {
    // FARPEER is allowed from 127.0.0.2 only; our SCU connects from 127.0.0.1.
    expect(await rejectionFor(FAR_PEER, BRIDGE_AE)).toEqual(CALLING_AE_NOT_RECOGNIZED);
    const line = await rejectionLog(FAR_PEER, BRIDGE_AE, '127.0.0.1');
    expect(String(line.reason)).toMatch(/host/);

    // NEARPEER is allowed from 127.0.0.1 only; a raw peer connects from 127.0.0.2.
    const peer = await RawPeer.connect(bridge.port, { localAddress: '127.0.0.2' });
    try {
      const answer = await rawAssociate(peer, { callingAe: NEAR_PEER, calledAe: BRIDGE_AE });
      expect(answer).toEqual({ kind: 'rejected', rejection: CALLING_AE_NOT_RECOGNIZED });
      await peer.waitClosed();
    } finally {
      peer.destroy();
    }
    await rejectionLog(NEAR_PEER, BRIDGE_AE, '127.0.0.2');
    await expectNothingStored(bridge);
  });

  it('accepts an AE title from the host it is configured for', async () => {
    // NEARPEER from 127.0.0.1, with our SCU.
    expect(await echoStatus(bridge, NEAR_PEER)).toBe(0x0000);

    // FARPEER from 127.0.0.2, with a raw peer bound to that address.
    const peer = await RawPeer.connect(bridge.port, { localAddress: '127.0.0.2' });
    try {
      expect(peer.localAddress).toBe('127.0.0.2');
      const answer = await rawAssociate(peer, { callingAe: FAR_PEER, calledAe: BRIDGE_AE });
      expect(answer.kind).toBe('accepted');
      const context = answer.kind === 'accepted' ? answer.contexts[0]! : undefined;
      expect(context?.result).toBe(0);
      expect(await rawEcho(peer, context!.id)).toBe(0x0000);
    } finally {
      peer.destroy();
    }
    await waitForLog(
      bridge,
      (line) =>
        line.msg === 'association accepted' &&
        line.callingAe === FAR_PEER &&
        line.address === '127.0.0.2',
      'FARPEER accepted from 127.0.0.2',
    );
  });

  it('makes DCMTK echoscu and storescu fail for each kind of rejection, storing nothing', async () => {
    const cases = [
      { callingAe: UNKNOWN_AE, calledAe: BRIDGE_AE, reason: /Calling AE Title Not Recognized/i },
      { callingAe: 'ECHOSCU', calledAe: 'NOTTHEBRIDGE', reason: /Called AE Title Not Recognized/i },
      { callingAe: FAR_PEER, calledAe: BRIDGE_AE, reason: /Calling AE Title Not Recognized/i },
    ];
    for (const { callingAe, calledAe, reason } of cases) {
      const echo = await echoscu(callingAe, calledAe);
      const echoOutput = echo.stdout + echo.stderr;
      expect(echo.code, `echoscu ${callingAe} -> ${calledAe}: ${echoOutput}`).not.toBe(0);
      expect(echoOutput).toMatch(/Association Rejected/i);
      expect(echoOutput).toMatch(/Rejected Permanent/i);
      expect(echoOutput).toMatch(reason);

      const store = await storescu(callingAe, calledAe);
      const storeOutput = store.stdout + store.stderr;
      expect(store.code, `storescu ${callingAe} -> ${calledAe}: ${storeOutput}`).not.toBe(0);
      expect(storeOutput).toMatch(/Association Rejected/i);
      expect(storeOutput).toMatch(reason);
      await rejectionLog(callingAe, calledAe);
    }
    await expectNothingStored(bridge);

    // The positive control: the same tools with an allowed AE title work.
    const echo = await echoscu(NEAR_PEER);
    expect(echo.code, echo.stdout + echo.stderr).toBe(0);
  });
});
