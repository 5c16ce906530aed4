import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyseDataset } from '../../../src/dicom/analyse.js';
import { BRIDGE_AE, disposeBridge, startBridge } from '../../helpers/bridge.js';
import {
  sampleFacts,
  sampleName,
  validSamples,
  type SampleFacts,
  roundsWithoutDuplicateUids,
} from '../../helpers/samples.js';
import { closedAssociations } from '../../helpers/dimse-checks.js';
import { storedDataset } from '../../helpers/stored.js';
import { runTool } from '../../helpers/tools.js';

/*
 * GDCM's gdcmscu (Debian libgdcm-tools, 3.0.21) as an independent DICOM peer.
 *
 * How gdcmscu 3.0.21 behaves here (checked by hand):
 * - Host and port must be positional (`gdcmscu [OPTION]... HOSTNAME PORT`). With `-H host -p port`
 *   it fails to connect ("Unable to open connection with exception sockerr"), with `--hostname`
 *   it hits an assertion; so positional arguments are used below.
 * - After a clean release (it receives the A-RELEASE-RP) it aborts with "ProtocolStream as
 *   nullptr is invalid" (exit 134). Its exit code is therefore ignored: it is judged by what it
 *   logs with `-D` (every received DIMSE response is dumped, plus "C-Store of file … was
 *   successful.") and by the bridge's own log of the association ending in a release.
 * - `-V` logs only warnings and errors; statuses need `-D`.
 * - It proposes one presentation context per SOP class and transfer syntax of the files, each
 *   with the file's own transfer syntax, so the bridge receives every file in its own syntax.
 * - What it puts on the wire: every sample's dataset arrives byte-identical to the file's, except
 *   single/MR_small_jp2klossless.dcm and single/MR_small_jpeg_ls_lossless.dcm, whose encapsulated
 *   Pixel Data is declared OW in the file (not allowed for encapsulated data, PS3.5 A.4): GDCM
 *   re-encodes that VR as OB, and those two bytes are the only difference. The bridge stores
 *   what it received, so the test allows exactly that difference and nothing else.
 */

const GDCMSCU = 'gdcmscu';

interface DimseResponse {
  commandField: number;
  messageIdBeingRespondedTo: number;
  status: number;
  affectedSopInstanceUid: string | undefined;
}

/** The DIMSE responses gdcmscu dumped with `-D` (each is printed several times: deduplicated). */
function parseResponses(output: string): DimseResponse[] {
  const responses = new Map<string, DimseResponse>();
  let current: Map<string, string> | undefined;
  const flush = (): void => {
    if (!current?.has('0000,0100') || !current.has('0000,0900')) return;
    const response: DimseResponse = {
      commandField: Number(current.get('0000,0100')),
      messageIdBeingRespondedTo: Number(current.get('0000,0120')),
      status: Number(current.get('0000,0900')),
      affectedSopInstanceUid: current.get('0000,1000'),
    };
    responses.set(`${response.commandField}/${response.messageIdBeingRespondedTo}`, response);
  };
  for (const line of output.split('\n')) {
    const match = /^\((0000,[0-9a-fA-F]{4})\) \?\? \(\w\w\) (?:\[(.*?)\]|(\S+))/.exec(line.trim());
    if (!match) continue;
    const tag = match[1]!.toLowerCase();
    if (tag === '0000,0000') {
      flush();
      current = new Map();
    }
    current?.set(tag, (match[2] ?? match[3] ?? '').replace(/\0+$/, ''));
  }
  flush();
  return [...responses.values()];
}

/**
 * Offsets where `received` differs from `sent`, unless every difference is GDCM's OW → OB fix of
 * the VR of encapsulated (undefined length) Pixel Data in explicit little endian; then [].
 */
function differencesOtherThanPixelDataVrFix(sent: Buffer, received: Buffer): number[] {
  if (sent.length !== received.length) return [-1];
  const differences: number[] = [];
  for (let i = 0; i < sent.length; i++) if (sent[i] !== received[i]) differences.push(i);
  if (differences.length === 0) return [];
  // The VR field of (7FE0,0010): 4 bytes after the tag, 'OW' in the file, 'OB' on the wire.
  const vr = sent.indexOf(Buffer.from('e07f10004f57', 'hex'));
  const fixed =
    vr >= 0 &&
    sent.readUInt32LE(vr + 8) === 0xffffffff &&
    received.toString('latin1', vr + 4, vr + 6) === 'OB' &&
    differences.every((offset) => offset === vr + 5);
  return fixed ? [] : differences;
}

async function gdcmscu(args: string[]): Promise<string> {
  const result = await runTool(GDCMSCU, ['-D', ...args]);
  // gdcmscu may crash after a clean release: its exit code is not a verdict (see above).
  return result.stdout + result.stderr;
}

let samples: SampleFacts[];
let scratch: string;

beforeAll(async () => {
  const version = await runTool(GDCMSCU, ['--version']);
  expect(version.stdout + version.stderr, 'gdcmscu (Debian libgdcm-tools) is installed').toMatch(
    /gdcm 3\./,
  );
  samples = await Promise.all(validSamples().map((path) => sampleFacts(path)));
  scratch = mkdtempSync(join(tmpdir(), 'gdcm-test-'));
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function rounds(): SampleFacts[][] {
  return roundsWithoutDuplicateUids(samples);
}

describe('interoperability with GDCM gdcmscu', () => {
  it('answers C-ECHO with Success and the association ends in a release', async () => {
    const bridge = await startBridge();
    try {
      const output = await gdcmscu([
        '--echo',
        '127.0.0.1',
        String(bridge.port),
        '--call',
        BRIDGE_AE,
        '--aetitle',
        'GDCMSCU',
      ]);
      const responses = parseResponses(output);
      expect(responses, output.slice(-2000)).toEqual([
        {
          commandField: 0x8030,
          messageIdBeingRespondedTo: 1,
          status: 0x0000,
          affectedSopInstanceUid: undefined,
        },
      ]);
      expect(output, 'gdcmscu received the A-RELEASE-RP').toMatch(/PDU code: 6/);
      expect(await closedAssociations(bridge, 1)).toEqual(['released']);
    } finally {
      await disposeBridge(bridge);
    }
  });

  it('is refused when calling with an AE title the bridge does not know', async () => {
    const bridge = await startBridge();
    try {
      const output = await gdcmscu([
        '--echo',
        '127.0.0.1',
        String(bridge.port),
        '--call',
        BRIDGE_AE,
        '--aetitle',
        'GDCMSTRANGER',
      ]);
      expect(parseResponses(output)).toEqual([]);
      const rejected = bridge.logs.filter((line) => line.msg === 'association rejected');
      expect(rejected.map((line) => [line.callingAe, line.reason])).toEqual([
        ['GDCMSTRANGER', 'calling AE title is not an allowed peer'],
      ]);
    } finally {
      await disposeBridge(bridge);
    }
  });

  it('stores every sample sent by gdcmscu: Success for each, indexed, readable, bytes compared', async () => {
    let checked = 0;
    let identical = 0;
    for (const round of rounds()) {
      const bridge = await startBridge();
      try {
        const files = round.map((sample) => sample.path);
        const output = await gdcmscu([
          '--store',
          '127.0.0.1',
          String(bridge.port),
          '--call',
          BRIDGE_AE,
          '--aetitle',
          'GDCMSCU',
          ...files,
        ]);
        const responses = parseResponses(output).filter(
          (response) => response.commandField === 0x8001,
        );
        expect(responses.length, `one C-STORE-RSP per file\n${output.slice(-3000)}`).toBe(
          round.length,
        );
        const byUid = new Map(
          responses.map((response) => [response.affectedSopInstanceUid, response.status]),
        );
        for (const sample of round) {
          const name = sampleName(sample.path);
          expect(byUid.get(sample.sopInstanceUid), `${name}: C-STORE-RSP status`).toBe(0x0000);
          expect(output, `${name}: gdcmscu reports success`).toContain(
            `C-Store of file ${sample.path} was successful.`,
          );
        }
        expect(output, 'gdcmscu received the A-RELEASE-RP').toMatch(/PDU code: 6/);
        expect(
          await closedAssociations(bridge, 1),
          'the bridge saw a release, not an abort',
        ).toEqual(['released']);

        for (const sample of round) {
          const name = sampleName(sample.path);
          const location = bridge.app.index.findInstance(sample.sopInstanceUid);
          expect(location, `${name} indexed`).toBeDefined();
          expect(location!.studyUid, name).toBe(sample.studyUid);
          expect(location!.seriesUid, name).toBe(sample.seriesUid);
          const instance = bridge.app.index
            .listInstances(sample.seriesUid)
            .find((i) => i.sopInstanceUid === sample.sopInstanceUid);
          expect(instance, name).toBeDefined();
          expect(instance!.sopClassUid, name).toBe(sample.sopClassUid);
          expect(instance!.callingAe, name).toBe('GDCMSCU');

          const stored = await storedDataset(bridge.app.store, location!.storageKey);
          expect(instance!.transferSyntaxUid, name).toBe(stored.transferSyntaxUid);
          // gdcmscu proposes each file's own transfer syntax, and the bridge accepts them all.
          expect(stored.transferSyntaxUid, `${name}: sent in its own transfer syntax`).toBe(
            sample.transferSyntaxUid,
          );

          // Readable: the bridge's own walk and metadata, and DCMTK as an independent reader.
          const analysis = analyseDataset(stored.dataset, stored.transferSyntaxUid, 1024 * 1024);
          expect(analysis.uids.sopInstanceUid, name).toBe(sample.sopInstanceUid);
          expect(analysis.uids.studyUid, name).toBe(sample.studyUid);
          const copy = join(scratch, `${checked}.dcm`);
          writeFileSync(copy, await bridge.app.store.readBuffer(location!.storageKey));
          const dump = await runTool('dcmdump', ['-q', '+P', '0008,0018', copy]);
          expect(dump.code, `${name}: dcmdump reads the stored object\n${dump.stderr}`).toBe(0);
          expect(dump.stdout, name).toContain(`[${sample.sopInstanceUid}]`);

          // Same transfer syntax, so the bytes can be compared with the file's dataset.
          if (stored.dataset.equals(sample.dataset)) identical++;
          expect(
            differencesOtherThanPixelDataVrFix(sample.dataset, stored.dataset),
            `${name}: stored bytes equal the file's dataset`,
          ).toEqual([]);
          checked++;
        }
      } finally {
        await disposeBridge(bridge);
      }
    }
    expect(checked).toBe(samples.length);
    // All but the two OW-encapsulated samples described at the top arrive byte for byte.
    expect(identical).toBe(samples.length - 2);
  });
});
