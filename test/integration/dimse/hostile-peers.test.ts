import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAssociation } from '../../../src/dimse/client.js';
import { MIN_PEER_MAX_PDU } from '../../../src/dimse/association.js';
import { CommandField, encodeCommand } from '../../../src/dimse/command.js';
import { PduType } from '../../../src/dimse/pdu.js';
import { BRIDGE_AE, disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { echoStatus, expectNothingStored, quietLog, settle } from '../../helpers/dimse-checks.js';
import { EXPLICIT_LE, RawPeer, pDataPdus, rawAssociate } from '../../helpers/raw-peer.js';
import { CT_IMAGE_STORAGE } from '../../helpers/synthetic.js';
import { gate, startTestStoreScp, type TestStoreScp } from '../../helpers/test-store-scp.js';

/*
 * Peers that break the protocol in ways that once held the bridge up or brought it down: a
 * C-STORE request without its dataset, a maximum PDU length too small to carry data, and a
 * C-STORE destination that never answers (its timed-out answers used to be left unhandled,
 * which ends a Node process; vitest fails the run on such a rejection).
 */

let bridge: TestBridge;

beforeAll(async () => {
  bridge = await startBridge();
});
afterAll(() => disposeBridge(bridge));

describe('hostile peers of the SCP', () => {
  it('aborts an association whose C-STORE request announces no dataset, and serves on', async () => {
    const peer = await RawPeer.connect(bridge.port);
    try {
      const answer = await rawAssociate(peer, {
        callingAe: 'TESTSCU',
        calledAe: BRIDGE_AE,
        contexts: [{ abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [EXPLICIT_LE] }],
      });
      expect(answer.kind).toBe('accepted');
      const command = encodeCommand({
        commandField: CommandField.CStoreRq,
        messageId: 1,
        priority: 0,
        affectedSopClassUid: CT_IMAGE_STORAGE,
        affectedSopInstanceUid: '1.2.826.0.1.3680043.10.512.1',
        hasDataset: false,
      });
      await peer.write(pDataPdus(1, true, command, 8000));
      await peer.waitClosed();
      expect(peer.aborts()).toHaveLength(1);
    } finally {
      peer.destroy();
    }
    expect(await echoStatus(bridge)).toBe(0x0000);
    await expectNothingStored(bridge);
  });

  it(`aborts a set-up whose maximum PDU length is below ${MIN_PEER_MAX_PDU}, and accepts 0 (no limit)`, async () => {
    for (const maxPduLength of [1, 6, MIN_PEER_MAX_PDU - 1]) {
      const peer = await RawPeer.connect(bridge.port);
      try {
        const answer = await rawAssociate(peer, {
          callingAe: 'TESTSCU',
          calledAe: BRIDGE_AE,
          maxPduLength,
        });
        expect(answer.kind, `max PDU ${maxPduLength}`).toBe('other');
        expect(answer.kind === 'other' && answer.pdu?.type).toBe(PduType.Abort);
      } finally {
        peer.destroy();
      }
    }
    for (const maxPduLength of [0, MIN_PEER_MAX_PDU]) {
      const peer = await RawPeer.connect(bridge.port);
      try {
        const answer = await rawAssociate(peer, {
          callingAe: 'TESTSCU',
          calledAe: BRIDGE_AE,
          maxPduLength,
        });
        expect(answer.kind, `max PDU ${maxPduLength}`).toBe('accepted');
      } finally {
        peer.destroy();
      }
    }
    expect(await echoStatus(bridge)).toBe(0x0000);
  });
});

describe('a C-STORE destination that never answers', () => {
  let silent: TestStoreScp;
  // Held shut until the end: the destination answers nothing while the test runs.
  const answers = gate();

  beforeAll(async () => {
    silent = await startTestStoreScp({
      aeTitle: 'SILENT',
      callers: ['FSEBRIDGE'],
      answer: () => answers.wait.then(() => ({ status: 0x0000 })),
    });
  });
  afterAll(async () => {
    answers.open();
    await silent.close();
  });

  it('fails each instance in turn, with nothing left to fail later', async () => {
    const client = await openAssociation({
      host: '127.0.0.1',
      port: silent.port,
      callingAe: 'FSEBRIDGE',
      calledAe: 'SILENT',
      contexts: [{ abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [EXPLICIT_LE] }],
      connectTimeoutMs: 5_000,
      log: quietLog,
    });
    const store = (n: number): ReturnType<typeof client.store> =>
      client.store(
        CT_IMAGE_STORAGE,
        `1.2.826.0.1.3680043.10.512.2.${n}`,
        EXPLICIT_LE,
        Buffer.alloc(1024),
        {
          timeoutMs: 300,
        },
      );
    const first = await settle(store(1));
    expect(first.ok).toBe(false);
    expect(String(!first.ok && first.error)).toMatch(/no response from SILENT within 300 ms/);
    const second = await settle(store(2));
    expect(second.ok).toBe(false);
    // Long enough for any timer armed for the second instance to have fired.
    await new Promise((resolve) => setTimeout(resolve, 900));
    await client.abort();
  });
});
