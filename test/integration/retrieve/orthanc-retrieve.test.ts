import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RetrieveOutcome } from '../../../src/retrieve/retrieve-study.js';
import { rmSync } from 'node:fs';
import {
  BRIDGE_AE,
  disposeBridge,
  startBridge,
  writeTestConfig,
  type TestBridge,
} from '../../helpers/bridge.js';
import { runTool, type ToolResult } from '../../helpers/tools.js';
import { startOrthanc } from '../../helpers/orthanc.js';
import { startSamplePacs, type SamplePacs } from '../../helpers/pacs-fixture.js';
import { storedDataset } from '../../helpers/stored.js';

/*
 * The bridge retrieves from a real PACS (Orthanc holding the samples): C-FIND by accession and
 * patient, one C-MOVE or C-GET per study, completeness against the PACS's count; every
 * instance stored byte for byte as Orthanc holds it.
 */

const OTHER_AE = 'FSEBRIDGE2';
let fixture: SamplePacs;

beforeAll(async () => {
  // The bridge's port is known only once it runs: Orthanc learns it at run time.
  fixture = await startSamplePacs();
}, 120_000);

afterAll(async () => {
  await fixture?.pacs.stop();
});

function node(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'orthanc',
    aeTitle: fixture.pacs.aeTitle,
    host: '127.0.0.1',
    port: fixture.pacs.dicomPort,
    maxRetries: 1,
    retryBaseDelayMs: 50,
    responseTimeoutMs: 30_000,
    ...overrides,
  };
}

async function bridgeFor(nodeOverrides: Record<string, unknown>): Promise<TestBridge> {
  const bridge = await startBridge({
    dicom: { aeTitles: [BRIDGE_AE, OTHER_AE] },
    pacs: { nodes: [node(nodeOverrides)] },
  });
  await fixture.pacs.setModality('bridge', {
    aeTitle: BRIDGE_AE,
    host: '127.0.0.1',
    port: bridge.port,
  });
  return bridge;
}

async function expectStudiesRetrievedExactly(bridge: TestBridge): Promise<void> {
  let identicalToFile = 0;
  let total = 0;
  const retriever = bridge.app.retrievers.get('orthanc')!;
  for (const study of fixture.studies) {
    const outcome = await retriever.retrieveByAccession({
      accessionNumber: study.accessionNumber,
      patientId: study.patientId,
    });
    expect(outcome.kind, JSON.stringify(outcome)).toBe('complete');
    const progress = (outcome as Extract<RetrieveOutcome, { kind: 'complete' }>).studies;
    expect(progress.map((p) => p.studyInstanceUid)).toContain(study.studyUid);
    for (const instance of study.instances) {
      total++;
      const location = bridge.app.index.findInstance(instance.sopInstanceUid);
      expect(location, instance.path).toBeDefined();
      const stored = await storedDataset(bridge.app.store, location!.storageKey);
      expect(stored.transferSyntaxUid, instance.path).toBe(instance.transferSyntaxUid);
      // Byte for byte what Orthanc sent, which is the original file unless Orthanc
      // re-encoded it (then the reference SCP saw the same re-encoding).
      const wire = fixture.wire.get(instance.sopInstanceUid)!;
      expect(stored.dataset.equals(wire), `${instance.path}: dataset bytes`).toBe(true);
      if (wire.equals(instance.dataset)) identicalToFile++;
    }
  }
  // Orthanc re-encodes only the odd file (one sample mixes sequence length encodings).
  expect(identicalToFile).toBeGreaterThanOrEqual(total - 1);
}

describe('retrieve from Orthanc', () => {
  it('finds studies by accession number and by patient', async () => {
    const bridge = await bridgeFor({});
    try {
      const { pacs } = bridge.app.retrievers.get('orthanc')!;
      const study = fixture.studies[0]!;
      const byAccession = await pacs.findStudies({ accessionNumber: study.accessionNumber });
      expect(byAccession.map((s) => s.studyInstanceUid)).toContain(study.studyUid);
      const found = byAccession.find((s) => s.studyInstanceUid === study.studyUid)!;
      expect(found.numberOfStudyRelatedInstances).toBe(study.instances.length);
      const byPatient = await pacs.findStudies({ patientId: study.patientId });
      const expected = new Set(
        fixture.studies.filter((s) => s.patientId === study.patientId).map((s) => s.studyUid),
      );
      for (const uid of expected) expect(byPatient.map((s) => s.studyInstanceUid)).toContain(uid);
      expect(byPatient.every((s) => s.patientId === study.patientId)).toBe(true);
      const series = await pacs.findSeries(study.studyUid);
      expect(series.length).toBeGreaterThan(0);
      const instances = await pacs.findInstances(study.studyUid, series[0]!.seriesInstanceUid);
      expect(instances.length).toBe(series[0]!.numberOfSeriesRelatedInstances);
    } finally {
      await disposeBridge(bridge);
    }
  });

  it('retrieves every study complete and byte-identical with C-MOVE', async () => {
    const bridge = await bridgeFor({ retrieveMethod: 'C-MOVE' });
    try {
      await expectStudiesRetrievedExactly(bridge);
    } finally {
      await disposeBridge(bridge);
    }
  }, 120_000);

  it('retrieves every study complete and byte-identical with C-GET, compressed as stored', async () => {
    const bridge = await bridgeFor({ retrieveMethod: 'C-GET' });
    try {
      await expectStudiesRetrievedExactly(bridge);
    } finally {
      await disposeBridge(bridge);
    }
  }, 120_000);

  it('reports an accession number the PACS does not have as not found', async () => {
    const bridge = await bridgeFor({});
    try {
      const outcome = await bridge.app.retrievers
        .get('orthanc')!
        .retrieveByAccession({ accessionNumber: 'NO-SUCH-ACCESSION' });
      expect(outcome.kind).toBe('not-found');
      expect(bridge.app.index.countInstances()).toBe(0);
    } finally {
      await disposeBridge(bridge);
    }
  });

  it('names the move leg when the PACS does not know our move destination', async () => {
    const bridge = await bridgeFor({ moveDestination: OTHER_AE, callingAeTitle: BRIDGE_AE });
    try {
      const study = fixture.studies[0]!;
      const outcome = await bridge.app.retrievers.get('orthanc')!.retrieveByAccession({
        accessionNumber: study.accessionNumber,
        patientId: study.patientId,
      });
      expect(outcome.kind).not.toBe('complete');
      expect(JSON.stringify(outcome)).toMatch(
        /FSEBRIDGE2 registered on orthanc as a move destination/,
      );
      expect(bridge.app.index.countInstances()).toBe(0);
    } finally {
      await disposeBridge(bridge);
    }
  });
});

describe('bridge CLI against Orthanc', () => {
  function cli(args: string[]): Promise<ToolResult> {
    return runTool(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      env: { ...process.env, BRIDGE_LOG_LEVEL: 'warn' },
      timeoutMs: 60_000,
    });
  }

  it('echoes a PACS node and finds its studies by accession', async () => {
    await fixture.pacs.setModality('bridge', { aeTitle: BRIDGE_AE, host: '127.0.0.1', port: 1 });
    const { file, dataDir } = writeTestConfig({ pacs: { nodes: [node()] } });
    try {
      const echo = await cli(['echo', '--node', 'orthanc', '--config', file]);
      expect(echo.code, echo.stderr).toBe(0);
      expect(echo.stdout).toMatch(/C-ECHO FSEBRIDGE -> ORTHANC@127\.0\.0\.1:\d+: success/);
      const study = fixture.studies[0]!;
      const find = await cli([
        'find',
        '--node',
        'orthanc',
        '--accession',
        study.accessionNumber,
        '--config',
        file,
      ]);
      expect(find.code, find.stderr).toBe(0);
      expect(find.stdout).toContain(study.studyUid);
      const unknown = await cli(['find', '--node', 'nowhere', '--config', file]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('unknown PACS node "nowhere" (nodes: orthanc)');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('a PACS that is down', () => {
  it('is reported unreachable after the configured retries', async () => {
    const stopped = await startOrthanc();
    const port = stopped.dicomPort;
    await stopped.stop();
    const bridge = await startBridge({
      pacs: { nodes: [{ ...nodeFor(port), maxRetries: 2, retryBaseDelayMs: 20 }] },
    });
    try {
      const outcome = await bridge.app.retrievers
        .get('down')!
        .retrieveByAccession({ accessionNumber: 'A1' });
      expect(outcome.kind).toBe('pacs-unreachable');
      expect(bridge.logs.filter((l) => l.msg === 'PACS query failed; retrying')).toHaveLength(2);
      expect(bridge.logs.filter((l) => l.msg === 'PACS unreachable')).toHaveLength(1);
    } finally {
      await disposeBridge(bridge);
    }
  }, 60_000);
});

function nodeFor(port: number): Record<string, unknown> {
  return { name: 'down', aeTitle: 'ORTHANC', host: '127.0.0.1', port, connectTimeoutMs: 2000 };
}
