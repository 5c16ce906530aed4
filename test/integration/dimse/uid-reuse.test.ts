import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Status } from '../../../src/dimse/status.js';
import { instanceKey } from '../../../src/storage/keys.js';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { findStudies, getStudy } from '../../helpers/dcmtk-qr.js';
import { objectFiles, spoolFiles, waitForLog } from '../../helpers/dimse-checks.js';
import {
  commitGate,
  openIngestRig,
  storeSynthetic,
  type CommitGate,
  type IngestRig,
} from '../../helpers/ingest-rig.js';
import { storedDataset } from '../../helpers/stored.js';
import {
  syntheticDataset,
  syntheticUids,
  writeSyntheticFile,
  type SyntheticOptions,
} from '../../helpers/synthetic.js';
import { storeResponses, storescu, waitFor } from '../../helpers/tools.js';

/*
 * A modality reusing a UID by mistake: a SeriesInstanceUID in two studies, or a SOP Instance
 * UID under another study of another patient. The bridge refuses the second instance (0xC001,
 * a warning naming both studies) and keeps the first study whole: queries and retrieves of one
 * study never return an instance of the other. DCMTK storescu, findscu and getscu against the
 * running bridge; the ingest pipeline on its own for two studies starting one series at once.
 */

const SIZE = { rows: 64, columns: 64 };
/** Study A: patient SYN91, its series and instance. */
const A: SyntheticOptions = { study: 91, series: 1, instance: 1, ...SIZE };
const a = syntheticUids(A);

let bridge: TestBridge | undefined;
let rig: IngestRig | undefined;
let gate: CommitGate | undefined;
let dir: string | undefined;

afterEach(async () => {
  gate?.open();
  await disposeBridge(bridge);
  await rig?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  bridge = undefined;
  rig = undefined;
  gate = undefined;
  dir = undefined;
});

/** storescu of one synthetic instance; resolves with DCMTK's account of the answer. */
async function send(options: SyntheticOptions): Promise<string> {
  const file = join(dir!, `${options.study}-${options.instance}.dcm`);
  writeSyntheticFile(file, options);
  const [answer, ...more] = storeResponses(await storescu(bridge!.port, [file]));
  expect(more).toEqual([]);
  return answer!;
}

/**
 * `options` is refused with 0xC001 (DCMTK: "Error: CannotUnderstand") and a warning naming its
 * study and the one holding the reused UID; nothing of its study is held, study A is whole.
 */
async function expectRefused(options: SyntheticOptions, reason: string): Promise<void> {
  const uids = syntheticUids(options);
  expect(await send(options)).toBe('Error: CannotUnderstand');
  const warning = await waitForLog(
    bridge!,
    (line) => line.level === 'warn' && line.studyUid === uids.study,
    'the refusal',
  );
  expect(warning).toMatchObject({
    msg: `${reason}; instance refused`,
    sopInstanceUid: uids.sop,
    heldStudyUid: a.study,
  });
  expect(bridge!.app.index.getStudy(uids.study)).toBeUndefined();
  expect(await studyCount(uids.study)).toBeUndefined();
  expect((await retrieveStudy(uids.study)).size).toBe(0);
  await expectStudyAWhole();
  expect(await objectFiles(bridge!)).toEqual([instanceKey(a.study, a.series, a.sop)]);
  expect(await spoolFiles(bridge!)).toEqual([]);
}

/** NumberOfStudyRelatedInstances the bridge answers for `studyUid`; undefined when not found. */
async function studyCount(studyUid: string): Promise<number | undefined> {
  return (await findStudies(bridge!.port, [`StudyInstanceUID=${studyUid}`])).get(studyUid);
}

function retrieveStudy(studyUid: string): Promise<Map<string, Buffer>> {
  return getStudy(bridge!.port, studyUid, dir!);
}

async function startWithStudyA(duplicatePolicy = 'keep-first'): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'uid-reuse-'));
  bridge = await startBridge({ ingest: { duplicatePolicy } });
  expect(await send(A)).toBe('Success');
}

/** Study A still holds exactly its one instance, as sent, and is retrieved alone. */
async function expectStudyAWhole(): Promise<void> {
  expect(await studyCount(a.study)).toBe(1);
  const retrieved = await retrieveStudy(a.study);
  expect([...retrieved.keys()]).toEqual([a.sop]);
  expect(retrieved.get(a.sop)!.equals(syntheticDataset(A))).toBe(true);
  const location = bridge!.app.index.findInstance(a.sop);
  expect(location?.studyUid).toBe(a.study);
  expect((await storedDataset(bridge!.app.store, location!.storageKey)).dataset).toEqual(
    syntheticDataset(A),
  );
}

describe('a SeriesInstanceUID reused in another study', () => {
  it('refuses the instance of the second study, naming both; each study stays whole', async () => {
    await startWithStudyA();
    // Study B, patient SYN92, its own instance in study A's series.
    const B: SyntheticOptions = { study: 92, series: 1, instance: 1, ...SIZE };
    B.reuse = { seriesUid: a.series };
    await expectRefused(B, 'SeriesInstanceUID already held under another study');
  });
});

describe('a SOP Instance UID reused under another study', () => {
  it.each(['keep-first', 'replace'])(
    'refuses it under another patient, naming both studies (duplicatePolicy %s)',
    async (policy) => {
      await startWithStudyA(policy);
      // Study C, patient SYN93, with study A's SOP Instance UID in a series of its own.
      const C: SyntheticOptions = { study: 93, series: 1, instance: 7, ...SIZE };
      C.reuse = { sopInstanceUid: a.sop };
      await expectRefused(
        C,
        'SOP Instance UID already held under another study of another patient',
      );
    },
  );

  it("leaves the same patient's correction to another study to the duplicate policy", async () => {
    await startWithStudyA('replace');
    // Study D of the same patient (PatientID SYN91): the instance moves there.
    const D: SyntheticOptions = { study: 94, series: 1, instance: 7, patientId: 'SYN91', ...SIZE };
    D.reuse = { sopInstanceUid: a.sop };
    const d = syntheticUids(D);

    expect(await send(D)).toBe('Success');
    expect(bridge!.app.index.findInstance(a.sop)?.studyUid).toBe(d.study);
    expect(await studyCount(a.study)).toBeUndefined();
    expect([...(await retrieveStudy(d.study)).keys()]).toEqual([a.sop]);
    expect(await objectFiles(bridge!)).toEqual([instanceKey(d.study, d.series, a.sop)]);
  });
});

describe('two studies starting one series at the same time', () => {
  it('stores the first committed, refuses the other and takes its object back', async () => {
    rig = await openIngestRig({ index: (index) => (gate = commitGate(index)).index });
    const E: SyntheticOptions = { study: 95, series: 1, instance: 1, ...SIZE };
    const e = syntheticUids(E);
    const F: SyntheticOptions = { study: 96, series: 1, instance: 1, ...SIZE };
    F.reuse = { seriesUid: e.series };
    const f = syntheticUids(F);

    // E's row waits at the gate, so F finds the series nowhere in the index and is stored.
    const first = storeSynthetic(rig.ingest, E);
    await gate!.reached(1);
    const second = storeSynthetic(rig.ingest, F);
    const fKey = instanceKey(f.study, f.series, f.sop);
    await waitFor(async () => (await rig!.store.stat(fKey)) !== undefined, 10_000, "F's object");
    gate!.open();

    expect(await first).toEqual({ status: Status.Success });
    expect(await second).toEqual({
      status: Status.UidHeldElsewhere,
      errorComment: 'SeriesInstanceUID already held under another study',
    });
    expect(gate!.batches.map((batch) => batch.map((i) => i.metadata.study.uid))).toEqual([
      [e.study],
      [f.study],
    ]);
    expect(rig.index.getStudy(f.study)).toBeUndefined();
    expect(rig.index.seriesStudy(e.series)).toBe(e.study);
    expect(await rig.store.stat(fKey)).toBeUndefined();
    expect(await rig.store.stat(instanceKey(e.study, e.series, e.sop))).toBeDefined();
  });
});
