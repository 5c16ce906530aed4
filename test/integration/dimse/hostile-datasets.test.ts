import { deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_NESTING } from '../../../src/dicom/dataset-walker.js';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import {
  connectClient,
  expectNothingStored,
  spoolFiles,
  waitForLog,
} from '../../helpers/dimse-checks.js';
import { EXPLICIT_LE, IMPLICIT_LE, VERIFICATION } from '../../helpers/raw-peer.js';

/*
 * Datasets built to exhaust the daemon rather than to be stored: a deflated dataset that
 * inflates far beyond the instance size limit, sequences nested without end, and a 1 MB value
 * that is all padding. Each is refused (or stored) for that instance alone; the association and
 * the daemon go on serving, and nothing is left behind.
 */

const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
const DEFLATED_LE = '1.2.840.10008.1.2.1.99';
const MAX_INSTANCE_BYTES = 1024 * 1024;

function element(tag: number, vr: string, value: Buffer, explicit: boolean): Buffer {
  const long = ['OB', 'SQ', 'UN', 'UT'].includes(vr);
  const header = Buffer.alloc(explicit && !long ? 8 : explicit ? 12 : 8);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  if (!explicit) header.writeUInt32LE(value.length, 4);
  else {
    header.write(vr, 4, 'latin1');
    if (long) header.writeUInt32LE(value.length, 8);
    else header.writeUInt16LE(value.length, 6);
  }
  return Buffer.concat([header, value]);
}

const uid = (value: string): Buffer => Buffer.from(value.length % 2 ? `${value}\0` : value);

/** The key elements of an instance, in tag order around `middle` (group 0010 to 0018). */
function instance(sopInstanceUid: string, middle: Buffer, explicit: boolean): Buffer {
  return Buffer.concat([
    element(0x00080016, 'UI', uid(SECONDARY_CAPTURE), explicit),
    element(0x00080018, 'UI', uid(sopInstanceUid), explicit),
    middle,
    element(0x0020000d, 'UI', uid(`${sopInstanceUid}.1`), explicit),
    element(0x0020000e, 'UI', uid(`${sopInstanceUid}.2`), explicit),
  ]);
}

/** (0008,1115) holding `levels` sequences of undefined length, each in an item of the one above. */
function nestedSequences(levels: number): Buffer {
  const open = Buffer.from('08001511' + '53510000' + 'ffffffff' + 'feff00e0' + 'ffffffff', 'hex');
  const close = Buffer.from('feff0de0' + '00000000' + 'feffdde0' + '00000000', 'hex');
  return Buffer.concat([...Array<Buffer>(levels).fill(open), ...Array<Buffer>(levels).fill(close)]);
}

describe('hostile datasets', () => {
  let bridge: TestBridge;

  beforeAll(async () => {
    bridge = await startBridge({ ingest: { maxInstanceBytes: MAX_INSTANCE_BYTES } });
  });

  afterAll(async () => {
    await disposeBridge(bridge);
  });

  async function store(
    sopInstanceUid: string,
    transferSyntax: string,
    dataset: Buffer,
  ): Promise<number> {
    const client = await connectClient(bridge, {
      contexts: [
        { abstractSyntax: SECONDARY_CAPTURE, transferSyntaxes: [transferSyntax] },
        { abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] },
      ],
    });
    try {
      const response = await client.store(
        SECONDARY_CAPTURE,
        sopInstanceUid,
        transferSyntax,
        dataset,
      );
      expect(await client.echo()).toBe(0x0000);
      return response.status ?? -1;
    } finally {
      await client.release();
    }
  }

  it('refuses (0xA700) a deflated dataset that inflates beyond the instance size limit', async () => {
    const sopInstanceUid = '1.2.826.0.1.3680043.10.511.1';
    // 64 MB of zeros deflate to about 64 KB: well under the limit on the wire.
    const pixels = element(0x7fe00010, 'OB', Buffer.alloc(64 * MAX_INSTANCE_BYTES), true);
    const dataset = deflateRawSync(
      Buffer.concat([instance(sopInstanceUid, Buffer.alloc(0), true), pixels]),
    );
    expect(dataset.length).toBeLessThan(MAX_INSTANCE_BYTES);
    expect(await store(sopInstanceUid, DEFLATED_LE, dataset)).toBe(0xa700);
    const refusal = await waitForLog(
      bridge,
      (line) =>
        line.msg === 'instance refused; nothing kept' && line.sopInstanceUid === sopInstanceUid,
      'refusal of the inflating dataset',
    );
    expect(refusal.reason).toMatch(/larger than 1048576 bytes once inflated/);
    await expectNothingStored(bridge);
  });

  it(`refuses (0xC000) sequences nested deeper than ${MAX_NESTING} levels, and stores ${MAX_NESTING}`, async () => {
    const deep = '1.2.826.0.1.3680043.10.511.2';
    expect(
      await store(deep, EXPLICIT_LE, instance(deep, nestedSequences(MAX_NESTING + 1), true)),
    ).toBe(0xc000);
    const refusal = await waitForLog(
      bridge,
      (line) => line.msg === 'instance refused; nothing kept' && line.sopInstanceUid === deep,
      'refusal of the nested dataset',
    );
    expect(refusal.reason).toMatch(new RegExp(`nested deeper than ${MAX_NESTING} levels`));
    await expectNothingStored(bridge);

    const allowed = '1.2.826.0.1.3680043.10.511.3';
    expect(
      await store(allowed, EXPLICIT_LE, instance(allowed, nestedSequences(MAX_NESTING), true)),
    ).toBe(0x0000);
    expect(bridge.app.index.findInstance(allowed)).toBeDefined();
  });

  it('stores an instance whose patient name is 1 MB of padding and one letter, trimmed', async () => {
    const sopInstanceUid = '1.2.826.0.1.3680043.10.511.4';
    const name = Buffer.from(`${' '.repeat(MAX_INSTANCE_BYTES - 200)}X `);
    const dataset = instance(sopInstanceUid, element(0x00100010, 'PN', name, false), false);
    expect(await store(sopInstanceUid, IMPLICIT_LE, dataset)).toBe(0x0000);
    expect(bridge.app.index.getStudy(`${sopInstanceUid}.1`)?.patientName).toBe('X');
    expect(await spoolFiles(bridge)).toEqual([]);
  });
});
