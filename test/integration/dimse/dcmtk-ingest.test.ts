import { beforeAll, describe, expect, it } from 'vitest';
import { BRIDGE_AE, disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { startReferenceScp, type ReferenceScp } from '../../helpers/reference-scp.js';
import {
  roundsWithoutDuplicateUids,
  sampleFacts,
  sampleName,
  validSamples,
  type SampleFacts,
  groupByTransferSyntax,
} from '../../helpers/samples.js';
import { STORESCU_OPTIONS } from '../../helpers/send-stored.js';
import { storedDataset } from '../../helpers/stored.js';
import { runTool } from '../../helpers/tools.js';

let samples: SampleFacts[];

beforeAll(async () => {
  samples = await Promise.all(validSamples().map((path) => sampleFacts(path)));
});

function rounds(): SampleFacts[][] {
  return roundsWithoutDuplicateUids(samples);
}

type Sender = (
  port: number,
  aeTitle: string,
  files: string[],
  transferSyntaxUid: string,
) => Promise<void>;

/** Send every sample with `send` to a fresh bridge and to storescp +B, round by round, then compare. */
async function checkIngest(send: Sender): Promise<void> {
  let checked = 0;
  for (const round of rounds()) {
    const bridge = await startBridge();
    const reference = await startReferenceScp();
    try {
      await checkRound(bridge, reference, round, send);
      checked += round.length;
    } finally {
      await reference.stop();
      await disposeBridge(bridge);
    }
  }
  expect(checked).toBe(samples.length);
}

async function checkRound(
  bridge: TestBridge,
  reference: ReferenceScp,
  round: SampleFacts[],
  send: Sender,
): Promise<void> {
  for (const [ts, group] of groupByTransferSyntax(round)) {
    const files = group.map((sample) => sample.path);
    await send(reference.port, BRIDGE_AE, files, ts);
    await send(bridge.port, BRIDGE_AE, files, ts);
  }
  const studies = new Map(bridge.app.index.listStudies().map((study) => [study.studyUid, study]));
  for (const sample of round) {
    const name = sampleName(sample.path);
    const location = bridge.app.index.findInstance(sample.sopInstanceUid);
    expect(location, `${name} indexed`).toBeDefined();
    expect(location!.studyUid, name).toBe(sample.studyUid);
    expect(location!.seriesUid, name).toBe(sample.seriesUid);
    const study = studies.get(sample.studyUid)!;
    expect(study.patientId ?? '', name).toBe(sample.patientId);
    expect(study.accessionNumber ?? '', name).toBe(sample.accessionNumber);
    const series = bridge.app.index
      .listSeries(sample.studyUid)
      .find((s) => s.seriesUid === sample.seriesUid)!;
    expect(series.modality ?? '', name).toBe(sample.modality);
    const instance = bridge.app.index
      .listInstances(sample.seriesUid)
      .find((i) => i.sopInstanceUid === sample.sopInstanceUid)!;
    const stored = await storedDataset(bridge.app.store, location!.storageKey);
    const wire = reference.dataset(sample.sopInstanceUid);
    expect(wire, `${name} reached storescp`).toBeDefined();
    expect(stored.transferSyntaxUid, name).toBe(reference.transferSyntax(sample.sopInstanceUid));
    expect(instance.transferSyntaxUid, name).toBe(stored.transferSyntaxUid);
    expect(
      stored.dataset.equals(wire!),
      `${name}: stored dataset bytes equal the bytes on the wire`,
    ).toBe(true);
  }
}

describe('ingest from DCMTK senders', () => {
  it('answers echoscu', async () => {
    const bridge = await startBridge();
    try {
      const result = await runTool('echoscu', [
        '-aet',
        'ECHOSCU',
        '-aec',
        BRIDGE_AE,
        '127.0.0.1',
        String(bridge.port),
      ]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    } finally {
      await disposeBridge(bridge);
    }
  });

  it('stores every sample sent by storescu, bytes as on the wire', async () => {
    await checkIngest(async (port, aeTitle, files, ts) => {
      const result = await runTool('storescu', [
        '-aet',
        'STORESCU',
        '-aec',
        aeTitle,
        ...STORESCU_OPTIONS[ts]!,
        '127.0.0.1',
        String(port),
        ...files,
      ]);
      expect(result.code, `storescu ${ts}: ${result.stderr}`).toBe(0);
      expect(result.stderr).not.toMatch(/E: /);
    });
  });

  it('stores every sample sent by dcmsend in its own transfer syntax, bytes as on the wire', async () => {
    await checkIngest(async (port, aeTitle, files) => {
      const result = await runTool('dcmsend', [
        '-aet',
        'DCMSEND',
        '-aec',
        aeTitle,
        '--decompress-never',
        '127.0.0.1',
        String(port),
        ...files,
      ]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).not.toMatch(/E: |W: .*(failed|Failed)/);
    });
  });
});
