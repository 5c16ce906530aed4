import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandField, encodeCommand } from '../../../src/dimse/command.js';
import {
  PduType,
  encodeAbort,
  encodePDataHeader,
  encodeReleaseRq,
} from '../../../src/dimse/pdu.js';
import { BRIDGE_AE, disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import {
  connectClient,
  echoStatus,
  expectNothingStored,
  objectFiles,
  spoolFiles,
  waitForLog,
} from '../../helpers/dimse-checks.js';
import {
  EXPLICIT_LE,
  IMPLICIT_LE,
  RawPeer,
  VERIFICATION,
  pDataPdus,
  rawAssociate,
  rawEcho,
} from '../../helpers/raw-peer.js';
import { SAMPLES_DIR, sampleFacts, type SampleFacts } from '../../helpers/samples.js';
import { storedDataset } from '../../helpers/stored.js';
import { CT_IMAGE_STORAGE, syntheticDataset, syntheticUids } from '../../helpers/synthetic.js';
import { SPOOL_BATCH_BYTES } from '../../../src/ingest/spool-writer.js';
import { waitFor } from '../../helpers/tools.js';

/*
 * Peers that break the upper-layer protocol (issue acceptance list, "protocol abuse"): garbage
 * bytes, a PDU longer than the bridge advertised, an unknown PDU type, P-DATA before the
 * association, a peer vanishing in the middle of a dataset. Each time the bridge drops that
 * peer (A-ABORT where it can), keeps nothing, and goes on serving everyone else.
 */

const MAX_PDU = 16384;

let bridge: TestBridge;
let ct: SampleFacts;

/**
 * A CT instance larger than one spool write: part of it sent is on the spool, which is how
 * these tests see that the bridge is receiving before they break the transfer off.
 */
const side = Math.ceil(Math.sqrt(SPOOL_BATCH_BYTES));
const large = {
  sopClassUid: CT_IMAGE_STORAGE,
  sopInstanceUid: syntheticUids({ study: 7, series: 1, instance: 1 }).sop,
  transferSyntaxUid: EXPLICIT_LE,
  dataset: syntheticDataset({ study: 7, series: 1, instance: 1, rows: side, columns: side }),
};
/** What is sent of `large` before the transfer breaks off: more than one spool write. */
const partial = large.dataset.subarray(0, SPOOL_BATCH_BYTES + 10_000);

beforeAll(async () => {
  bridge = await startBridge({ dicom: { maxPduLength: MAX_PDU } });
  ct = await sampleFacts(join(SAMPLES_DIR, 'single', 'CT_small.dcm'));
});

afterAll(async () => {
  await disposeBridge(bridge);
});

/** A raw peer with an established association (Verification and CT Image Storage proposed). */
async function establishedPeer(): Promise<{ peer: RawPeer; verificationId: number; ctId: number }> {
  const peer = await RawPeer.connect(bridge.port);
  const answer = await rawAssociate(peer, {
    callingAe: 'TESTSCU',
    calledAe: BRIDGE_AE,
    contexts: [
      { abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] },
      { abstractSyntax: ct.sopClassUid, transferSyntaxes: [EXPLICIT_LE] },
    ],
  });
  if (answer.kind !== 'accepted')
    throw new Error(`association not accepted: ${JSON.stringify(answer)}`);
  expect(answer.peerMaxPdu).toBe(MAX_PDU);
  return { peer, verificationId: 1, ctId: 3 };
}

/** The bridge keeps serving: a C-ECHO on a new association succeeds. */
async function expectStillServing(): Promise<void> {
  expect(await echoStatus(bridge)).toBe(0x0000);
}

/** A C-STORE-RQ for `instance` (CT_small unless named), as command P-DATA-TF PDUs on context `ctId`. */
function storeCommandPdus(
  ctId: number,
  instance: { sopClassUid: string; sopInstanceUid: string } = ct,
): Buffer {
  const command = encodeCommand({
    commandField: CommandField.CStoreRq,
    messageId: 1,
    priority: 0,
    affectedSopClassUid: instance.sopClassUid,
    affectedSopInstanceUid: instance.sopInstanceUid,
    hasDataset: true,
  });
  return pDataPdus(ctId, true, command, 8000);
}

describe('protocol abuse', () => {
  it('drops a peer that sends garbage instead of an A-ASSOCIATE-RQ', async () => {
    const peer = await RawPeer.connect(bridge.port);
    try {
      await peer.write(Buffer.from('GET / HTTP/1.1\r\nHost: bridge\r\n\r\n', 'latin1'));
      await peer.waitClosed();
      // Anything the bridge said before closing may only be an A-ABORT.
      expect(peer.pdus.map((pdu) => pdu.type).filter((type) => type !== PduType.Abort)).toEqual([]);
    } finally {
      peer.destroy();
    }
    await waitForLog(
      bridge,
      (line) =>
        line.msg === 'protocol error; aborting association' && /0x47/.test(String(line.err)),
      'protocol error for garbage',
    );
    await expectStillServing();
    await expectNothingStored(bridge);
  });

  it('drops a peer whose A-ASSOCIATE-RQ claims an absurd length', async () => {
    const peer = await RawPeer.connect(bridge.port);
    try {
      await peer.write(Buffer.from([PduType.AssociateRq, 0, 0xff, 0xff, 0xff, 0xf0, 0, 1, 0, 0]));
      await peer.waitClosed();
      expect(peer.pdus.map((pdu) => pdu.type).filter((type) => type !== PduType.Abort)).toEqual([]);
    } finally {
      peer.destroy();
    }
    await expectStillServing();
  });

  it('aborts an association on a P-DATA-TF longer than the negotiated maximum', async () => {
    const { peer, ctId } = await establishedPeer();
    try {
      await peer.write(storeCommandPdus(ctId));
      // One PDU of 1 MiB of dataset, where the bridge advertised 16 KiB.
      const oversized = 1024 * 1024;
      const header = encodePDataHeader(ctId, false, true, oversized);
      await peer
        .write(Buffer.concat([header, ct.dataset.subarray(0, 4096)]))
        .catch(() => undefined);
      await peer.waitClosed();
      const aborts = peer.aborts();
      expect(aborts).toHaveLength(1);
      expect(aborts[0]!.source).toBe(2);
      expect(peer.pdus.at(-1)?.type).toBe(PduType.Abort);
    } finally {
      peer.destroy();
    }
    await expectStillServing();
    await expectNothingStored(bridge);
  });

  it('aborts an association on an unknown PDU type (0x09) with reason unrecognized-PDU', async () => {
    const { peer, verificationId } = await establishedPeer();
    try {
      // A working association first, so the abort is about the PDU and nothing else.
      expect(await rawEcho(peer, verificationId)).toBe(0x0000);
      await peer.write(Buffer.from([0x09, 0, 0, 0, 0, 4, 0, 0, 0, 0]));
      await peer.waitClosed();
      expect(peer.aborts()).toEqual([{ source: 2, reason: 1 }]);
    } finally {
      peer.destroy();
    }
    await expectStillServing();
  });

  it('aborts a peer that sends P-DATA-TF before any association', async () => {
    const peer = await RawPeer.connect(bridge.port);
    try {
      const command = encodeCommand({
        commandField: CommandField.CEchoRq,
        messageId: 1,
        affectedSopClassUid: VERIFICATION,
        hasDataset: false,
      });
      await peer.write(pDataPdus(1, true, command, 8000));
      await peer.waitClosed();
      expect(peer.pdus.map((pdu) => pdu.type)).toEqual([PduType.Abort]);
    } finally {
      peer.destroy();
    }
    await waitForLog(
      bridge,
      (line) =>
        line.msg === 'protocol error; aborting association' &&
        /outside an established association/.test(String(line.err)),
      'P-DATA before association logged',
    );
    await expectStillServing();
  });

  it('keeps nothing when the peer sends A-ABORT in the middle of a dataset', async () => {
    const { peer, ctId } = await establishedPeer();
    try {
      await peer.write(storeCommandPdus(ctId, large));
      await peer.write(pDataPdus(ctId, false, partial, 8000, false));
      await waitFor(
        async () => (await spoolFiles(bridge)).length === 1,
        10_000,
        'a spool file for the partial instance',
      );
      await peer.write(encodeAbort({ source: 0, reason: 0 }));
      await peer.waitClosed();
      // No answer to an aborted C-STORE, and no A-ABORT back.
      expect(peer.unread()).toEqual([]);
    } finally {
      peer.destroy();
    }
    await waitForLog(
      bridge,
      (line) => line.msg === 'association closed' && line.reason === 'aborted-by-peer',
      'abort by the peer logged',
    );
    await expectNothingStored(bridge);
    await expectStillServing();
  });

  it('aborts when the peer asks for release in the middle of a dataset, keeping nothing', async () => {
    const { peer, ctId } = await establishedPeer();
    try {
      await peer.write(storeCommandPdus(ctId));
      await peer.write(pDataPdus(ctId, false, ct.dataset.subarray(0, 10_000), 8000, false));
      await peer.write(encodeReleaseRq());
      await peer.waitClosed();
      expect(peer.unread().map((pdu) => pdu.type)).toEqual([PduType.Abort]);
    } finally {
      peer.destroy();
    }
    await expectNothingStored(bridge);
    await expectStillServing();
  });

  it('keeps nothing when the peer disappears in the middle of a dataset, and serves on', async () => {
    const client = await connectClient(bridge, {
      contexts: [
        { abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] },
        { abstractSyntax: large.sopClassUid, transferSyntaxes: [large.transferSyntaxUid] },
      ],
    });
    const context = client.findContext(large.sopClassUid, large.transferSyntaxUid)!;
    expect(context).toBeDefined();
    await client.send(context.id, {
      commandField: CommandField.CStoreRq,
      messageId: client.nextMessageId(),
      priority: 0,
      affectedSopClassUid: large.sopClassUid,
      affectedSopInstanceUid: large.sopInstanceUid,
      hasDataset: true,
    });
    const socket = client.association.socket;
    await new Promise<void>((resolve, reject) =>
      socket.write(pDataPdus(context.id, false, partial, 8000, false), (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    // The bridge is receiving: its spool holds the partial instance.
    await waitFor(
      async () => (await spoolFiles(bridge)).length === 1,
      10_000,
      'a spool file for the partial instance',
    );
    socket.destroy();

    await waitForLog(
      bridge,
      (line) =>
        line.msg === 'instance transfer interrupted; nothing kept' &&
        line.sopInstanceUid === large.sopInstanceUid,
      'transfer interrupted',
    );
    await expectNothingStored(bridge);
    expect(bridge.app.index.findInstance(large.sopInstanceUid)).toBeUndefined();

    // Still serving: a C-ECHO, then the same instance sent whole is stored as sent.
    await expectStillServing();
    const again = await connectClient(bridge, {
      contexts: [
        { abstractSyntax: large.sopClassUid, transferSyntaxes: [large.transferSyntaxUid] },
      ],
    });
    try {
      const response = await again.store(
        large.sopClassUid,
        large.sopInstanceUid,
        large.transferSyntaxUid,
        large.dataset,
      );
      expect(response.status).toBe(0x0000);
    } finally {
      await again.release();
    }
    const location = bridge.app.index.findInstance(large.sopInstanceUid);
    expect(location).toBeDefined();
    expect(
      (await storedDataset(bridge.app.store, location!.storageKey)).dataset.equals(large.dataset),
    ).toBe(true);
    expect(await objectFiles(bridge)).toHaveLength(1);
    expect(await spoolFiles(bridge)).toEqual([]);
  });
});

describe('silent peers', () => {
  it('drops a peer that connects and never completes an A-ASSOCIATE-RQ (ARTIM)', async () => {
    const quick = await startBridge({ dicom: { artimMs: 300 } });
    const silent = await RawPeer.connect(quick.port);
    const stalled = await RawPeer.connect(quick.port);
    try {
      // Half a PDU header, then nothing.
      await stalled.write(Buffer.from([PduType.AssociateRq, 0, 0]));
      await silent.waitClosed();
      await stalled.waitClosed();
      expect(silent.pdus).toEqual([]);
      expect(stalled.pdus.map((pdu) => pdu.type).filter((type) => type !== PduType.Abort)).toEqual(
        [],
      );
      expect(await echoStatus(quick)).toBe(0x0000);
    } finally {
      silent.destroy();
      stalled.destroy();
      await disposeBridge(quick);
    }
  });
});
