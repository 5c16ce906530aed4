import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFileMeta } from '../../../src/dicom/file-meta.js';
import { identifierOf } from '../../../src/dicom/identifier.js';
import { QR_SOP_CLASSES } from '../../../src/dicom/sop-class.js';
import { TransferSyntax } from '../../../src/dicom/transfer-syntax.js';
import { SubOperationsFailedError, type SubOperationCounts } from '../../../src/dimse/errors.js';
import { QR_TRANSFER_SYNTAXES, cMove } from '../../../src/dimse/qr-scu.js';
import { BRIDGE_AE, disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { datasetLines } from '../../helpers/dicom-compare.js';
import { connectClient, settle } from '../../helpers/dimse-checks.js';
import { startReferenceScp, type ReferenceScp } from '../../helpers/reference-scp.js';
import { SAMPLES_DIR, sampleFacts, type SampleFacts } from '../../helpers/samples.js';
import { storedDataset } from '../../helpers/stored.js';
import { startTestStoreScp, type TestStoreScp } from '../../helpers/test-store-scp.js';
import { runTool } from '../../helpers/tools.js';

/*
 * C-MOVE sub-operations that fail, and the transcoding policy. Destinations: a C-STORE SCP on
 * our network layer that refuses every instance (0xA700), and DCMTK storescp +B accepting
 * Implicit VR Little Endian only (+xi) or Explicit VR Little Endian only. The client is our SCU,
 * and DCMTK movescu to see the final response's identifier (our SCU keeps only its counts).
 * Lossy images are not decompressed (queryRetrieve.decompressLossy is false).
 */

const REFUSER_AE = 'REFUSESCP';
const IMPLICIT_AE = 'IMPLSCP';
const EXPLICIT_AE = 'EXPLSCP';
const NO_STORAGE_AE = 'NOSTORESCP';
/** A storescp profile accepting Verification only: no storage SOP class at all. */
const VERIFICATION_ONLY_PROFILE = `[[TransferSyntaxes]]
[Implicit]
TransferSyntax1 = LittleEndianImplicit
[[PresentationContexts]]
[VerificationOnly]
PresentationContext1 = VerificationSOPClass\\Implicit
[[Profiles]]
[VerificationOnly]
PresentationContexts = VerificationOnly
`;
/** A storescp profile: the samples' SOP classes in Explicit VR Little Endian only. */
const EXPLICIT_ONLY_PROFILE = `[[TransferSyntaxes]]
[ExplicitLittle]
TransferSyntax1 = LittleEndianExplicit
[[PresentationContexts]]
[ExplicitOnly]
PresentationContext1 = MRImageStorage\\ExplicitLittle
PresentationContext2 = UltrasoundImageStorage\\ExplicitLittle
[[Profiles]]
[ExplicitOnly]
PresentationContexts = ExplicitOnly
`;

/** Stored in an uncompressed syntax other than Implicit VR LE. */
const UNCOMPRESSED = [
  'single/CT_small.dcm', // ISO_IR 100, sequences
  'generated/CT_latin1_iso_ir_100.dcm', // ISO_IR 100 text outside ASCII
  'generated/MR_utf8_iso_ir_192.dcm', // ISO_IR 192
  'single/test-SR.dcm', // nested sequences
  'single/waveform_ecg.dcm', // private elements, large OW
  'single/ExplVR_BigEnd.dcm', // Explicit VR Big Endian, group lengths
];
/** Stored in Implicit VR LE. */
const IMPLICIT = ['single/MR_small_implicit.dcm'];
/** Stored lossy-compressed: not decompressed unless queryRetrieve.decompressLossy. */
const COMPRESSED = ['generated/SC_gray8_jpeg_baseline.dcm', 'single/JPEG-lossy.dcm'];
const NATIVE_SYNTAXES: readonly string[] = [
  TransferSyntax.ImplicitVrLittleEndian,
  TransferSyntax.ExplicitVrLittleEndian,
  TransferSyntax.ExplicitVrBigEndian,
];

let refuser: TestStoreScp;
let implicitOnly: ReferenceScp;
let explicitOnly: ReferenceScp;
let noStorage: ReferenceScp;
let profileDir: string;
let samples: { uncompressed: SampleFacts[]; implicit: SampleFacts[]; compressed: SampleFacts[] };
let all: SampleFacts[];
const bridges = new Map<string, TestBridge>();

/** A bridge with the transcoding policy, holding the samples (one per policy). */
async function bridgeWith(transcoding: 'none' | 'lossless'): Promise<TestBridge> {
  const existing = bridges.get(transcoding);
  if (existing) return existing;
  const bridge = await startBridge({
    dicom: { allowedPeers: ['DCMSEND', 'TESTSCU', 'MOVESCU'].map((aeTitle) => ({ aeTitle })) },
    queryRetrieve: {
      transcoding,
      moveDestinations: [
        { aeTitle: REFUSER_AE, host: '127.0.0.1', port: refuser.port },
        { aeTitle: IMPLICIT_AE, host: '127.0.0.1', port: implicitOnly.port },
        { aeTitle: EXPLICIT_AE, host: '127.0.0.1', port: explicitOnly.port },
        { aeTitle: NO_STORAGE_AE, host: '127.0.0.1', port: noStorage.port },
      ],
    },
  });
  bridges.set(transcoding, bridge);
  // Each instance is stored in its file's transfer syntax: dcmsend would send an uncompressed
  // file in Explicit VR Little Endian, so the others go with storescu proposing their own.
  const send = async (tool: string, options: string[], files: SampleFacts[]): Promise<void> => {
    if (files.length === 0) return;
    const result = await runTool(tool, [
      '-aet',
      'DCMSEND',
      '-aec',
      BRIDGE_AE,
      ...options,
      '127.0.0.1',
      String(bridge.port),
      ...files.map((sample) => sample.path),
    ]);
    expect(result.code, result.stderr).toBe(0);
  };
  const inSyntax = (ts: string): SampleFacts[] => all.filter((s) => s.transferSyntaxUid === ts);
  await send('storescu', ['-xi'], inSyntax(TransferSyntax.ImplicitVrLittleEndian));
  await send('storescu', ['-xb'], inSyntax(TransferSyntax.ExplicitVrBigEndian));
  await send(
    'dcmsend',
    ['--decompress-never'],
    all.filter(
      (s) =>
        s.transferSyntaxUid !== TransferSyntax.ImplicitVrLittleEndian &&
        s.transferSyntaxUid !== TransferSyntax.ExplicitVrBigEndian,
    ),
  );
  for (const sample of all) {
    const stored = bridge.app.index
      .listInstances(sample.seriesUid)
      .find((i) => i.sopInstanceUid === sample.sopInstanceUid);
    expect(stored?.transferSyntaxUid, sample.path).toBe(sample.transferSyntaxUid);
  }
  return bridge;
}

beforeAll(async () => {
  const facts = (paths: string[]): Promise<SampleFacts[]> =>
    Promise.all(paths.map((path) => sampleFacts(join(SAMPLES_DIR, path))));
  samples = {
    uncompressed: await facts(UNCOMPRESSED),
    implicit: await facts(IMPLICIT),
    compressed: await facts(COMPRESSED),
  };
  all = [...samples.uncompressed, ...samples.implicit, ...samples.compressed];
  // The groups are what their names say, and every instance is distinct.
  expect(new Set(all.map((s) => s.sopInstanceUid)).size).toBe(all.length);
  for (const s of samples.uncompressed) {
    expect(NATIVE_SYNTAXES, s.path).toContain(s.transferSyntaxUid);
    expect(s.transferSyntaxUid, s.path).not.toBe(TransferSyntax.ImplicitVrLittleEndian);
  }
  for (const s of samples.implicit)
    expect(s.transferSyntaxUid).toBe(TransferSyntax.ImplicitVrLittleEndian);
  for (const s of samples.compressed)
    expect(NATIVE_SYNTAXES, s.path).not.toContain(s.transferSyntaxUid);

  refuser = await startTestStoreScp({
    aeTitle: REFUSER_AE,
    callers: [BRIDGE_AE],
    answer: () => ({ status: 0xa700, errorComment: 'test destination refuses everything' }),
  });
  implicitOnly = await startReferenceScp(IMPLICIT_AE, ['+xi']);
  profileDir = mkdtempSync(join(tmpdir(), 'storescp-profile-'));
  writeFileSync(join(profileDir, 'explicit.cfg'), EXPLICIT_ONLY_PROFILE);
  explicitOnly = await startReferenceScp(EXPLICIT_AE, [
    '-xf',
    join(profileDir, 'explicit.cfg'),
    'ExplicitOnly',
  ]);
  writeFileSync(join(profileDir, 'verification.cfg'), VERIFICATION_ONLY_PROFILE);
  noStorage = await startReferenceScp(NO_STORAGE_AE, [
    '-xf',
    join(profileDir, 'verification.cfg'),
    'VerificationOnly',
  ]);
}, 120_000);

afterAll(async () => {
  for (const bridge of bridges.values()) await disposeBridge(bridge);
  await refuser?.close();
  await implicitOnly?.stop();
  await explicitOnly?.stop();
  await noStorage?.stop();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
});

/** One STUDY-level identifier naming the studies of `group` (a UID list). */
function studiesOf(group: SampleFacts[]): ReturnType<typeof identifierOf> {
  return identifierOf({
    QueryRetrieveLevel: 'STUDY',
    StudyInstanceUID: [...new Set(group.map((s) => s.studyUid))].join('\\'),
  });
}

/** C-MOVE of the studies of `group` with our SCU. */
async function move(
  bridge: TestBridge,
  destination: string,
  group: SampleFacts[],
): Promise<Awaited<ReturnType<typeof settle<SubOperationCounts>>>> {
  const client = await connectClient(bridge, {
    contexts: [
      {
        abstractSyntax: QR_SOP_CLASSES.STUDY_ROOT.move,
        transferSyntaxes: [...QR_TRANSFER_SYNTAXES],
      },
    ],
  });
  try {
    return await settle(cMove(client, 'STUDY_ROOT', destination, studiesOf(group)));
  } finally {
    await client.release();
  }
}

/** A move expected to end with failed sub-operations: its error. */
async function failingMove(
  bridge: TestBridge,
  destination: string,
): Promise<SubOperationsFailedError> {
  const outcome = await move(bridge, destination, all);
  expect(outcome.ok).toBe(false);
  const error = (outcome as { error: unknown }).error;
  expect(error).toBeInstanceOf(SubOperationsFailedError);
  return error as SubOperationsFailedError;
}

/** movescu of every study; its output (the final response and its identifier). */
async function moveWithMovescu(bridge: TestBridge, destination: string): Promise<string> {
  const result = await runTool('movescu', [
    // -d prints the identifier of each response.
    '-d',
    '-S',
    '-aet',
    'MOVESCU',
    '-aec',
    BRIDGE_AE,
    '-aem',
    destination,
    '-k',
    'QueryRetrieveLevel=STUDY',
    '-k',
    `StudyInstanceUID=${[...new Set(all.map((s) => s.studyUid))].join('\\')}`,
    '127.0.0.1',
    String(bridge.port),
  ]);
  return result.stdout + result.stderr;
}

/** The FailedSOPInstanceUIDList (0008,0058) movescu printed from the final response. */
function failedUidList(output: string): string[] {
  const match = /\(0008,0058\) UI \[([^\]]*)\]/.exec(output);
  return match ? match[1]!.split('\\').filter(Boolean).sort() : [];
}

function uids(group: SampleFacts[]): string[] {
  return group.map((s) => s.sopInstanceUid).sort();
}

/** The sub-operation failures the bridge logged after log line `mark`, by SOP Instance UID. */
function loggedFailures(bridge: TestBridge, mark: number): Map<string, string> {
  return new Map(
    bridge.logs
      .slice(mark)
      .filter((line) => line.msg === 'sub-operation did not complete' && line.outcome === 'failed')
      .map((line) => [line.sopInstanceUid as string, line.detail as string]),
  );
}

/**
 * Each instance of `group` arrived at `destination` in `transferSyntaxUid`, every element
 * equal to DCMTK's own conversion (dcmconv) of the stored instance into that syntax.
 */
async function expectArrivedAs(
  bridge: TestBridge,
  group: SampleFacts[],
  destination: ReferenceScp,
  transferSyntaxUid: string,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'transcoded-'));
  try {
    for (const sample of group) {
      expect(destination.transferSyntax(sample.sopInstanceUid), sample.path).toBe(
        transferSyntaxUid,
      );
      const storageKey = bridge.app.index.findInstance(sample.sopInstanceUid)!.storageKey;
      const stored = join(dir, 'stored.dcm');
      writeFileSync(stored, await bridge.app.store.readBuffer(storageKey));
      const reference = join(dir, 'reference.dcm');
      const option = transferSyntaxUid === TransferSyntax.ImplicitVrLittleEndian ? '+ti' : '+te';
      const converted = await runTool('dcmconv', [option, stored, reference]);
      expect(converted.code, converted.stderr).toBe(0);
      const received = join(dir, 'received.dcm');
      writeFileSync(
        received,
        Buffer.concat([
          encodeFileMeta({
            sopClassUid: sample.sopClassUid,
            sopInstanceUid: sample.sopInstanceUid,
            transferSyntaxUid,
          }),
          destination.dataset(sample.sopInstanceUid)!,
        ]),
      );
      expect(await datasetLines(received), sample.path).toEqual(await datasetLines(reference));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('a move destination that refuses every instance', () => {
  it('answering 0xA700: ends with 0xB000, every sub-operation failed, the failed UIDs listed', async () => {
    const bridge = await bridgeWith('none');
    refuser.requests.length = 0;
    const mark = bridge.logs.length;
    const error = await failingMove(bridge, REFUSER_AE);
    expect(error.status).toBe(0xb000);
    expect(error.counts).toEqual({ completed: 0, failed: all.length, warning: 0, remaining: 0 });
    // Every instance was offered, and refused.
    expect(refuser.requests.map((r) => r.sopInstanceUid).sort()).toEqual(uids(all));
    const logged = loggedFailures(bridge, mark);
    expect([...logged.keys()].sort()).toEqual(uids(all));
    for (const detail of logged.values()) expect(detail).toMatch(/0xA700/);

    const output = await moveWithMovescu(bridge, REFUSER_AE);
    expect(output).toMatch(/DIMSE Status\s+: 0xb000: Warning: Sub-operations complete/);
    expect(failedUidList(output)).toEqual(uids(all));
  });
  it('DCMTK storescp accepting no storage SOP class: the same, each failure logged with why', async () => {
    const bridge = await bridgeWith('none');
    const mark = bridge.logs.length;
    const error = await failingMove(bridge, NO_STORAGE_AE);
    expect(error.status).toBe(0xb000);
    expect(error.counts).toEqual({ completed: 0, failed: all.length, warning: 0, remaining: 0 });
    const logged = loggedFailures(bridge, mark);
    expect([...logged.keys()].sort()).toEqual(uids(all));
    for (const detail of logged.values())
      expect(detail).toMatch(/NOSTORESCP accepted no presentation context/);

    const output = await moveWithMovescu(bridge, NO_STORAGE_AE);
    expect(output).toMatch(/DIMSE Status\s+: 0xb000: Warning: Sub-operations complete/);
    expect(failedUidList(output)).toEqual(uids(all));
  });
});

describe('a destination that accepts Implicit VR Little Endian only', () => {
  it('with transcoding none: only the instances stored in it arrive', async () => {
    const bridge = await bridgeWith('none');
    const mark = bridge.logs.length;
    const error = await failingMove(bridge, IMPLICIT_AE);
    const notImplicit = [...samples.uncompressed, ...samples.compressed];
    expect(error.counts).toEqual({
      completed: samples.implicit.length,
      failed: notImplicit.length,
      warning: 0,
      remaining: 0,
    });
    for (const sample of samples.implicit) {
      const stored = await storedDataset(
        bridge.app.store,
        bridge.app.index.findInstance(sample.sopInstanceUid)!.storageKey,
      );
      expect(implicitOnly.dataset(sample.sopInstanceUid)?.equals(stored.dataset)).toBe(true);
    }
    const logged = loggedFailures(bridge, mark);
    expect([...logged.keys()].sort()).toEqual(uids(notImplicit));
    for (const sample of notImplicit) {
      expect(implicitOnly.dataset(sample.sopInstanceUid), sample.path).toBeUndefined();
      expect(logged.get(sample.sopInstanceUid)).toMatch(/accepted no presentation context/);
    }
  });

  it('with transcoding lossless: uncompressed instances arrive in implicit VR, element for element; lossy ones fail, saying why', async () => {
    const bridge = await bridgeWith('lossless');
    const mark = bridge.logs.length;
    const error = await failingMove(bridge, IMPLICIT_AE);
    expect(error.counts).toEqual({
      completed: samples.uncompressed.length + samples.implicit.length,
      failed: samples.compressed.length,
      warning: 0,
      remaining: 0,
    });
    await expectArrivedAs(
      bridge,
      [...samples.uncompressed, ...samples.implicit],
      implicitOnly,
      TransferSyntax.ImplicitVrLittleEndian,
    );
    const logged = loggedFailures(bridge, mark);
    expect([...logged.keys()].sort()).toEqual(uids(samples.compressed));
    for (const sample of samples.compressed) {
      expect(implicitOnly.dataset(sample.sopInstanceUid), sample.path).toBeUndefined();
      expect(logged.get(sample.sopInstanceUid)).toMatch(
        /accepted no presentation context .*, and the image is stored lossy-compressed .* lossy images are not decompressed/,
      );
    }

    const output = await moveWithMovescu(bridge, IMPLICIT_AE);
    expect(output).toMatch(/DIMSE Status\s+: 0xb000: Warning: Sub-operations complete/);
    expect(failedUidList(output)).toEqual(uids(samples.compressed));
  });
});

describe('a destination that accepts Explicit VR Little Endian only', () => {
  it('with transcoding lossless: Big Endian and Implicit VR instances arrive in it, element for element', async () => {
    const bridge = await bridgeWith('lossless');
    const bigEndian = all.filter((s) => s.transferSyntaxUid === TransferSyntax.ExplicitVrBigEndian);
    expect(bigEndian).toHaveLength(1);
    const mark = bridge.logs.length;
    const outcome = await move(bridge, EXPLICIT_AE, [...bigEndian, ...samples.implicit]);
    expect(outcome).toEqual({
      ok: true,
      value: {
        completed: bigEndian.length + samples.implicit.length,
        failed: 0,
        warning: 0,
        remaining: 0,
      },
    });
    await expectArrivedAs(
      bridge,
      [...bigEndian, ...samples.implicit],
      explicitOnly,
      TransferSyntax.ExplicitVrLittleEndian,
    );
    const converted = bridge.logs
      .slice(mark)
      .filter((line) => line.msg === 'instance sent converted');
    expect(converted.map((line) => line.sopInstanceUid).sort()).toEqual(
      uids([...bigEndian, ...samples.implicit]),
    );
  });

  it('with transcoding none: they fail, saying that transcoding is off', async () => {
    const bridge = await bridgeWith('none');
    const mark = bridge.logs.length;
    const group = all.filter((s) => s.transferSyntaxUid !== TransferSyntax.ExplicitVrLittleEndian);
    const outcome = await move(bridge, EXPLICIT_AE, group);
    expect(outcome.ok).toBe(false);
    const logged = loggedFailures(bridge, mark);
    expect([...logged.keys()].sort()).toEqual(uids(group));
    for (const detail of logged.values())
      expect(detail).toMatch(/accepted no presentation context .*, and transcoding is off$/);
  });
});
