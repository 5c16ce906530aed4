import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFileMeta } from '../../../src/dicom/file-meta.js';
import { BRIDGE_AE, disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { startOrthanc, type OrthancPacs } from '../../helpers/orthanc.js';
import { startReferenceScp, type ReferenceScp } from '../../helpers/reference-scp.js';
import { validSamples } from '../../helpers/samples.js';
import { storedDataset } from '../../helpers/stored.js';
import { freePort, runTool, dcmsend } from '../../helpers/tools.js';

/*
 * The bridge's own Q/R SCP, answered from its index, against independent clients: DCMTK
 * findscu / movescu / getscu, GDCM gdcmscu, and Orthanc querying and retrieving through its
 * REST API. Moves go only to configured destinations; what arrives is byte for byte what the
 * bridge stored.
 */

interface HeldStudy {
  studyUid: string;
  accessionNumber: string;
  patientId: string;
  instances: Array<{ sopInstanceUid: string; storageKey: string; transferSyntaxUid: string }>;
}

let bridge: TestBridge;
let reference: ReferenceScp;
let orthanc: OrthancPacs;
let studies: HeldStudy[];
let gdcmPort: number;

const CLIENTS = ['FINDSCU', 'MOVESCU', 'GETSCU', 'GDCMSCU', 'ORTHANC'];

beforeAll(async () => {
  reference = await startReferenceScp('STORESCP');
  gdcmPort = await freePort();
  orthanc = await startOrthanc();
  bridge = await startBridge({
    dicom: {
      allowedPeers: [...CLIENTS, 'DCMSEND'].map((aeTitle) => ({ aeTitle })),
    },
    queryRetrieve: {
      moveDestinations: [
        { aeTitle: 'STORESCP', host: '127.0.0.1', port: reference.port },
        { aeTitle: 'ORTHANC', host: '127.0.0.1', port: orthanc.dicomPort },
        { aeTitle: 'GDCMSCU', host: '127.0.0.1', port: gdcmPort },
      ],
    },
  });
  await orthanc.setModality('bridge', { aeTitle: BRIDGE_AE, host: '127.0.0.1', port: bridge.port });
  const sent = await dcmsend(bridge.port, validSamples());
  expect(bridge.app.index.countInstances(), sent.stderr).toBeGreaterThan(20);
  studies = bridge.app.index
    .listStudies()
    .filter((s) => s.accessionNumber)
    .map((s) => ({
      studyUid: s.studyUid,
      accessionNumber: s.accessionNumber!,
      patientId: s.patientId ?? '',
      instances: bridge.app.index.listSeries(s.studyUid).flatMap((series) =>
        bridge.app.index.listInstances(series.seriesUid).map((i) => ({
          sopInstanceUid: i.sopInstanceUid,
          storageKey: bridge.app.index.findInstance(i.sopInstanceUid)!.storageKey,
          transferSyntaxUid: i.transferSyntaxUid,
        })),
      ),
    }));
}, 120_000);

afterAll(async () => {
  await disposeBridge(bridge);
  await reference?.stop();
  await orthanc?.stop();
});

function target(callingAe: string): string[] {
  return ['-aet', callingAe, '-aec', BRIDGE_AE, '127.0.0.1', String(bridge.port)];
}

function valuesOf(output: string, tag: string): string[] {
  const pattern = new RegExp(`\\(${tag}\\) \\w\\w \\[([^\\]]*)\\]`, 'gi');
  return [...output.matchAll(pattern)].map((m) => m[1]!.trim());
}

/** DCMTK movescu of one study (Study Root) to `destination`. */
function moveStudy(destination: string, studyUid: string): ReturnType<typeof runTool> {
  return runTool('movescu', [
    '-v',
    '-S',
    '-aem',
    destination,
    '-k',
    'QueryRetrieveLevel=STUDY',
    '-k',
    `StudyInstanceUID=${studyUid}`,
    ...target('MOVESCU'),
  ]);
}

/** A study whose accession number is unique to it among the held studies. */
function uniqueStudy(): HeldStudy {
  return studies.find(
    (s) => studies.filter((o) => o.accessionNumber === s.accessionNumber).length === 1,
  )!;
}

/** Every element outside the file meta, as DCMTK prints it (private tags included). */
async function datasetDump(file: Buffer): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'dump-'));
  try {
    const path = join(dir, 'instance.dcm');
    writeFileSync(path, file);
    const result = await runTool('dcmdump', ['-q', '+L', '-M', path]);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n').filter((line) => !/^\s*\(0002,/.test(line));
    expect(lines.length).toBeGreaterThan(10);
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function expectSameAsStored(
  instances: HeldStudy['instances'],
  received: (uid: string) => Buffer | undefined,
): Promise<void> {
  for (const instance of instances) {
    const got = received(instance.sopInstanceUid);
    expect(got, `${instance.sopInstanceUid} not received`).toBeDefined();
    const stored = await storedDataset(bridge.app.store, instance.storageKey);
    expect(got!.equals(stored.dataset), `${instance.sopInstanceUid}: dataset bytes`).toBe(true);
  }
}

describe('Q/R SCP with DCMTK', () => {
  it('answers findscu -S at study level by accession and patient, with counts', async () => {
    const study = uniqueStudy();
    const result = await runTool('findscu', [
      '-v',
      '-S',
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      `AccessionNumber=${study.accessionNumber}`,
      '-k',
      `PatientID=${study.patientId}`,
      '-k',
      'StudyInstanceUID',
      '-k',
      'NumberOfStudyRelatedInstances',
      '-k',
      'NumberOfStudyRelatedSeries',
      ...target('FINDSCU'),
    ]);
    const output = result.stdout + result.stderr;
    expect(result.code, output).toBe(0);
    expect(valuesOf(output, '0020,000d')).toEqual([study.studyUid]);
    expect(valuesOf(output, '0020,1208')).toEqual([String(study.instances.length)]);
    const series = bridge.app.index.listSeries(study.studyUid).length;
    expect(valuesOf(output, '0020,1206')).toEqual([String(series)]);
  });

  it('answers findscu -P at patient level and with wildcards', async () => {
    const study = studies[0]!;
    const result = await runTool('findscu', [
      '-v',
      '-P',
      '-k',
      'QueryRetrieveLevel=PATIENT',
      '-k',
      `PatientID=${study.patientId.slice(0, -1)}*`,
      ...target('FINDSCU'),
    ]);
    const output = result.stdout + result.stderr;
    expect(result.code, output).toBe(0);
    expect(valuesOf(output, '0010,0020')).toContain(study.patientId);
    for (const id of valuesOf(output, '0010,0020'))
      expect(id.startsWith(study.patientId.slice(0, -1))).toBe(true);
  });

  it('moves a study with movescu to a configured destination, bytes as stored', async () => {
    const study = uniqueStudy();
    const result = await moveStudy('STORESCP', study.studyUid);
    const output = result.stdout + result.stderr;
    expect(result.code, output).toBe(0);
    expect(output).toMatch(/Move Response.*Success|Received Final Move Response \(Success\)/);
    await expectSameAsStored(study.instances, (uid) => reference.dataset(uid));
  });

  it('refuses a move to an unknown destination with 0xA801', async () => {
    const study = uniqueStudy();
    const result = await moveStudy('NOWHERE', study.studyUid);
    expect(result.stdout + result.stderr).toMatch(
      /Final Move Response \(Refused: MoveDestinationUnknown\)/,
    );
    const refused = bridge.logs.filter((l) => l.msg === 'query/retrieve request refused');
    expect(refused.at(-1)).toMatchObject({ status: '0xA801' });
  });

  it('sends a study back to getscu on its own association, bytes as stored', async () => {
    const study = studies.find((s) =>
      s.instances.every((i) => i.transferSyntaxUid === '1.2.840.10008.1.2.1'),
    )!;
    const dir = mkdtempSync(join(tmpdir(), 'getscu-'));
    try {
      const result = await runTool('getscu', [
        '-v',
        '-S',
        '+B',
        '-od',
        dir,
        '-k',
        'QueryRetrieveLevel=STUDY',
        '-k',
        `StudyInstanceUID=${study.studyUid}`,
        ...target('GETSCU'),
      ]);
      const output = result.stdout + result.stderr;
      expect(result.code, output).toBe(0);
      const files = readdirSync(dir).map((name) => readFileSync(join(dir, name)));
      expect(files).toHaveLength(study.instances.length);
      const byUid = new Map(
        files.map((file) => {
          const meta = parseFileMeta(file);
          return [meta.sopInstanceUid, file.subarray(meta.datasetOffset)];
        }),
      );
      await expectSameAsStored(study.instances, (uid) => byUid.get(uid));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Q/R SCP with GDCM', () => {
  // gdcmscu 3.0.21 aborts after the release of every Q/R association, before it prints what it
  // received: it is judged by the statuses it logs (-D) and by the files it writes.
  function pendingResponses(output: string): number {
    // gdcmscu logs each response command twice.
    return (output.match(/\(0000,0900\) \?\? \(US\) 65280/g) ?? []).length / 2;
  }

  it('answers gdcmscu --find with one match per study', async () => {
    const study = uniqueStudy();
    const find = (accession: string): Promise<{ stdout: string; stderr: string }> =>
      runTool('gdcmscu', [
        '-D',
        '--find',
        '--studyroot',
        '--study',
        '--aetitle',
        'GDCMSCU',
        '--call',
        BRIDGE_AE,
        '--key',
        `8,50=${accession}`,
        '--key',
        '20,d=',
        '127.0.0.1',
        String(bridge.port),
      ]);
    const found = await find(study.accessionNumber);
    expect(found.stdout + found.stderr).toContain('C-Find was successful.');
    expect(pendingResponses(found.stdout + found.stderr)).toBe(1);
    const none = await find('NO-SUCH-ACCESSION');
    expect(none.stdout + none.stderr).toContain('C-Find was successful.');
    expect(pendingResponses(none.stdout + none.stderr)).toBe(0);
  });

  it('moves a study to gdcmscu --move, bytes as stored', async () => {
    const study = uniqueStudy();
    const dir = mkdtempSync(join(tmpdir(), 'gdcmscu-'));
    try {
      await runTool('gdcmscu', [
        '--move',
        '--port-scp',
        String(gdcmPort),
        '-o',
        dir,
        '--studyroot',
        '--study',
        '--aetitle',
        'GDCMSCU',
        '--call',
        BRIDGE_AE,
        '--key',
        `20,d=${study.studyUid}`,
        '127.0.0.1',
        String(bridge.port),
      ]);
      const byUid = new Map(
        readdirSync(dir).map((name) => {
          const file = readFileSync(join(dir, name));
          const meta = parseFileMeta(file);
          return [meta.sopInstanceUid, file.subarray(meta.datasetOffset)];
        }),
      );
      expect(byUid.size).toBe(study.instances.length);
      await expectSameAsStored(study.instances, (uid) => byUid.get(uid));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Q/R SCP with Orthanc as the client', () => {
  it('finds a study by accession and moves it to Orthanc, every element equal', async () => {
    const study = uniqueStudy();
    const query = await orthanc.rest<{ ID: string }>('POST', '/modalities/bridge/query', {
      Level: 'Study',
      Query: { AccessionNumber: study.accessionNumber, StudyInstanceUID: '' },
    });
    const answers = await orthanc.rest<Array<Record<string, { Value: string }>>>(
      'GET',
      `/queries/${query.ID}/answers?expand`,
    );
    const uids = answers.map((a) => a['0020,000d']?.Value);
    expect(uids).toContain(study.studyUid);
    await orthanc.rest('POST', `/queries/${query.ID}/retrieve`, {
      TargetAet: 'ORTHANC',
      Synchronous: true,
    });
    expect(await orthanc.instanceCount()).toBe(study.instances.length);
    for (const instance of study.instances) {
      const lookup = await fetch(`http://127.0.0.1:${orthanc.httpPort}/tools/lookup`, {
        method: 'POST',
        body: instance.sopInstanceUid,
      });
      const [found] = (await lookup.json()) as Array<{ ID: string }>;
      const response = await fetch(
        `http://127.0.0.1:${orthanc.httpPort}/instances/${found!.ID}/file`,
      );
      expect(response.status).toBe(200);
      const atOrthanc = Buffer.from(await response.arrayBuffer());
      const stored = await bridge.app.store.readBuffer(instance.storageKey);
      expect(await datasetDump(atOrthanc), instance.sopInstanceUid).toEqual(
        await datasetDump(stored),
      );
    }
  });
});
