import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFileMeta, parseFileMeta } from '../../../src/dicom/file-meta.js';
import { identifierOf } from '../../../src/dicom/identifier.js';
import { QR_SOP_CLASSES } from '../../../src/dicom/sop-class.js';
import { TransferSyntax } from '../../../src/dicom/transfer-syntax.js';
import type { TranscodeProgress } from '../../../src/dicom/transcoder.js';
import type { ClientAssociation, IncomingStoreHandler } from '../../../src/dimse/client.js';
import { QR_TRANSFER_SYNTAXES, cGet } from '../../../src/dimse/qr-scu.js';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { pixelDataOf } from '../../helpers/dicom-compare.js';
import { connectClient } from '../../helpers/dimse-checks.js';
import { IMPLICIT_LE, VERIFICATION } from '../../helpers/raw-peer.js';
import { element, str } from '../../helpers/synthetic-image.js';
import { runTool } from '../../helpers/tools.js';

/*
 * A C-GET whose only instance, a 500-frame JPEG Lossless multi-frame, the requestor accepts in
 * Explicit VR Little Endian only: the bridge decompresses it frame by frame on a thread of its
 * own. While it does, a C-ECHO on another association is answered. The order of events proves
 * it: the echo's answer arrives after the first frame was decoded, before the last one was and
 * before the C-STORE of the instance reached the requestor.
 */

const FRAMES = 500;
const ROWS = 256;
const COLUMNS = 256;
const MULTIFRAME_WORD_SC = '1.2.840.10008.5.1.4.1.1.7.3';
const ROOT = '2.25.200448920918381862163424961123917116591';

let dir: string;
let compressed: string;
let bridge: TestBridge;

/** A 16-bit grey multi-frame of FRAMES frames, a different ramp in each, Explicit VR LE. */
function multiFrame(): Buffer {
  const us = (value: number): Buffer => Buffer.from([value & 0xff, value >> 8]);
  const frameBytes = ROWS * COLUMNS * 2;
  const pixels = Buffer.alloc(frameBytes * FRAMES);
  for (let f = 0; f < FRAMES; f++)
    for (let p = 0; p < ROWS * COLUMNS; p++)
      pixels.writeUInt16LE(
        ((p % COLUMNS) * 7 + Math.floor(p / COLUMNS) * 3 + f * 11) & 0xfff,
        f * frameBytes + 2 * p,
      );
  const pixelHeader = Buffer.alloc(12);
  pixelHeader.writeUInt32LE(0x00107fe0, 0);
  pixelHeader.write('OW', 4, 'latin1');
  pixelHeader.writeUInt32LE(pixels.length, 8);
  const dataset = Buffer.concat([
    element(0x00080016, 'UI', str(MULTIFRAME_WORD_SC, '\0')),
    element(0x00080018, 'UI', str(`${ROOT}.3`, '\0')),
    element(0x00080060, 'CS', str('OT')),
    element(0x00100020, 'LO', str('LOOP-0001')),
    element(0x0020000d, 'UI', str(`${ROOT}.1`, '\0')),
    element(0x0020000e, 'UI', str(`${ROOT}.2`, '\0')),
    element(0x00280002, 'US', us(1)),
    element(0x00280004, 'CS', str('MONOCHROME2')),
    element(0x00280008, 'IS', str(String(FRAMES))),
    element(0x00280009, 'AT', Buffer.from([0x18, 0x00, 0x63, 0x10])),
    element(0x00280010, 'US', us(ROWS)),
    element(0x00280011, 'US', us(COLUMNS)),
    element(0x00280100, 'US', us(16)),
    element(0x00280101, 'US', us(12)),
    element(0x00280102, 'US', us(11)),
    element(0x00280103, 'US', us(0)),
    pixelHeader,
    pixels,
  ]);
  return Buffer.concat([
    encodeFileMeta({
      sopClassUid: MULTIFRAME_WORD_SC,
      sopInstanceUid: `${ROOT}.3`,
      transferSyntaxUid: TransferSyntax.ExplicitVrLittleEndian,
    }),
    dataset,
  ]);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'off-loop-'));
  const native = join(dir, 'native.dcm');
  writeFileSync(native, multiFrame());
  compressed = join(dir, 'compressed.dcm');
  const made = await runTool('dcmcjpeg', ['+e1', native, compressed]);
  expect(made.code, made.stderr).toBe(0);
  rmSync(native);
  bridge = await startBridge();
  const sent = await runTool('storescu', [
    '-aet',
    'STORESCU',
    '-aec',
    'FSEBRIDGE',
    '-xs',
    '127.0.0.1',
    String(bridge.port),
    compressed,
  ]);
  expect(sent.code, sent.stderr).toBe(0);
  expect(bridge.app.index.findInstance(`${ROOT}.3`)).toBeDefined();
}, 300_000);

afterAll(async () => {
  await disposeBridge(bridge);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('decompressing a 500-frame multi-frame for a C-GET', () => {
  it('leaves the event loop free: a C-ECHO on another association is answered meanwhile', async () => {
    const echoer: ClientAssociation = await connectClient(bridge, {
      contexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }],
    });
    const getter: ClientAssociation = await connectClient(bridge, {
      contexts: [
        {
          abstractSyntax: QR_SOP_CLASSES.STUDY_ROOT.get,
          transferSyntaxes: [...QR_TRANSFER_SYNTAXES],
        },
        {
          abstractSyntax: MULTIFRAME_WORD_SC,
          transferSyntaxes: [TransferSyntax.ExplicitVrLittleEndian],
        },
      ],
      roles: [{ sopClassUid: MULTIFRAME_WORD_SC, scu: false, scp: true }],
    });
    const events: string[] = [];
    let decoded = 0;
    let echoed: Promise<number> | undefined;
    const onProgress = (progress: TranscodeProgress): void => {
      decoded = progress.decoded;
      if (progress.decoded === FRAMES) events.push('last frame decoded');
      if (echoed) return;
      events.push('first frame decoded');
      echoed = echoer.echo().then((status) => {
        events.push(`echo answered after ${decoded} of ${FRAMES} frames`);
        return status;
      });
    };
    bridge.app.transcoder.on('progress', onProgress);
    const chunks: Buffer[] = [];
    const store: IncomingStoreHandler = () => {
      events.push('C-STORE arrived');
      let answer!: (outcome: { status: number }) => void;
      const outcome = new Promise<{ status: number }>((resolve) => (answer = resolve));
      return {
        outcome,
        write: (chunk) => chunks.push(chunk) > 0,
        onDrain: () => undefined,
        end: () => answer({ status: 0 }),
        fail: () => answer({ status: 0xa700 }),
      };
    };
    try {
      const counts = await cGet(
        getter,
        'STUDY_ROOT',
        identifierOf({ QueryRetrieveLevel: 'STUDY', StudyInstanceUID: `${ROOT}.1` }),
        store,
      );
      expect(counts).toEqual({ completed: 1, failed: 0, warning: 0, remaining: 0 });
      expect(await echoed).toBe(0);
    } finally {
      bridge.app.transcoder.off('progress', onProgress);
      await Promise.all([echoer.release(), getter.release()]);
    }
    expect(events[0]).toBe('first frame decoded');
    expect(events[1]).toMatch(/^echo answered after \d+ of 500 frames$/);
    expect(events.slice(2)).toEqual(['last frame decoded', 'C-STORE arrived']);
    expect(Number(/after (\d+)/.exec(events[1]!)![1])).toBeLessThan(FRAMES);

    // What arrived is DCMTK's decompression, bit for bit.
    const received = join(dir, 'received.dcm');
    writeFileSync(
      received,
      Buffer.concat([
        encodeFileMeta({
          sopClassUid: MULTIFRAME_WORD_SC,
          sopInstanceUid: `${ROOT}.3`,
          transferSyntaxUid: TransferSyntax.ExplicitVrLittleEndian,
        }),
        ...chunks,
      ]),
    );
    const reference = join(dir, 'reference.dcm');
    const dcmdjpeg = await runTool('dcmdjpeg', [compressed, reference]);
    expect(dcmdjpeg.code, dcmdjpeg.stderr).toBe(0);
    const hash = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
    expect(hash(await pixelDataOf(received))).toBe(hash(await pixelDataOf(reference)));
    expect(parseFileMeta(readFileSync(received)).transferSyntaxUid).toBe(
      TransferSyntax.ExplicitVrLittleEndian,
    );
  }, 300_000);
});
