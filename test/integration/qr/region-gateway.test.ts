import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFileMeta } from '../../../src/dicom/file-meta.js';
import { BRIDGE_AE, disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { logsWithMessage } from '../../helpers/dimse-checks.js';
import { EXPLICIT_LE, IMPLICIT_LE, RawPeer, rawAssociate } from '../../helpers/raw-peer.js';
import { startReferenceScp, type ReferenceScp } from '../../helpers/reference-scp.js';
import { syntheticUids, writeSyntheticFile } from '../../helpers/synthetic.js';
import { dcmsend, runTool, waitFor } from '../../helpers/tools.js';

/*
 * The regional image gateway (O3-DPACS, dcm4che2) fetching an accession from the bridge,
 * replayed with DCMTK as the gateway sends it: Study Root, one association per request, in
 * Implicit VR Little Endian (dcm4che2 proposes it and Explicit VR Little Endian as two
 * presentation contexts, and uses the first accepted), calling as its own AE title, which is
 * also the move destination. First a STUDY-level C-FIND by AccessionNumber with PatientID and
 * IssuerOfPatientID, then SERIES- and IMAGE-level C-FINDs per study, then a C-MOVE of each
 * study with every study-level return key sent empty. The gateway takes a final 0x0000 as done,
 * and a study answered with an issuer other than the one it asked for as failed.
 */

const GATEWAY_AE = 'O3-DPACS';
const ISSUER = 'ASL_TO3';
const OTHER_ISSUER = 'ASL_CN1';
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const STUDY_ROOT_FIND = '1.2.840.10008.5.1.4.1.2.2.1';
const STUDY_ROOT_MOVE = '1.2.840.10008.5.1.4.1.2.2.2';

/** Return keys of the gateway's study-level C-FIND and C-MOVE (empty in both). */
const STUDY_RETURN_KEYS = [
  'StudyDate',
  'StudyTime',
  'StudyID',
  'StudyInstanceUID',
  'NumberOfStudyRelatedSeries',
  'NumberOfStudyRelatedInstances',
  'PatientName',
  'PatientBirthDate',
  'PatientSex',
];

interface Pushed {
  studyUid: string;
  seriesUids: string[];
  /** Dataset bytes (after the file meta) of each file pushed, by SOP Instance UID. */
  datasets: Map<string, Buffer>;
}

/** One C-FIND answer as findscu printed it: tag `gggg,eeee` (lower case) → value (a UID DCMTK
 * knows by its name). */
type Answer = Map<string, string>;

let dir: string;
let gateway: ReferenceScp;
let bridge: TestBridge;
let arrivingBridge: TestBridge | undefined;

/** Writes the instances of a study (`series` series of `perSeries`) and pushes them. */
async function push(
  to: TestBridge,
  study: number,
  values: { accession: string; patientId: string; issuer?: string },
  series = 2,
  perSeries = 2,
): Promise<Pushed> {
  const files: string[] = [];
  const datasets = new Map<string, Buffer>();
  for (let s = 1; s <= series; s++)
    for (let i = 1; i <= perSeries; i++) {
      const path = join(dir, `${study}-${s}-${i}.dcm`);
      const options = {
        study,
        series: s,
        instance: i,
        rows: 8,
        columns: 8,
        patientId: values.patientId,
        accessionNumber: values.accession,
        ...(values.issuer === undefined ? {} : { issuerOfPatientId: values.issuer }),
      };
      const sop = writeSyntheticFile(path, options);
      const file = readFileSync(path);
      datasets.set(sop, file.subarray(parseFileMeta(file).datasetOffset));
      files.push(path);
    }
  const sent = await dcmsend(to.port, files);
  expect(sent.code, sent.stderr).toBe(0);
  const uids = (s: number) => syntheticUids({ study, series: s, instance: 1 });
  return {
    studyUid: uids(1).study,
    seriesUids: Array.from({ length: series }, (_, k) => uids(k + 1).series),
    datasets,
  };
}

function target(to: TestBridge): string[] {
  return ['-xi', '-aet', GATEWAY_AE, '-aec', BRIDGE_AE, '127.0.0.1', String(to.port)];
}

/** findscu -S as the gateway queries: the answers, and the final status DCMTK printed. */
async function gatewayFind(
  to: TestBridge,
  level: 'STUDY' | 'SERIES' | 'IMAGE',
  keys: string[],
): Promise<{ answers: Answer[]; final: string }> {
  const result = await runTool('findscu', [
    '-v',
    '-S',
    ...[`QueryRetrieveLevel=${level}`, ...keys].flatMap((key) => ['-k', key]),
    ...target(to),
  ]);
  const output = result.stdout + result.stderr;
  expect(result.code, output).toBe(0);
  const answers = output
    .split(/Find Response: \d+ \(Pending\)/)
    .slice(1)
    .map(
      (part) =>
        new Map(
          [
            ...part
              .split(/Received Final Find Response/)[0]!
              .matchAll(/\(([0-9a-f]{4},[0-9a-f]{4})\) \w\w (?:\[([^\]]*)\]|=(\S+)|\(no value)/gi),
          ].map((m) => [m[1]!.toLowerCase(), (m[2] ?? m[3] ?? '').replace(/\0/g, '').trim()]),
        ),
    );
  const final = /Received Final Find Response \(([^)]*)\)/.exec(output)?.[1] ?? output;
  return { answers, final };
}

/** The gateway's study-level C-FIND: by accession number, and the patient when it knows it. */
function findStudies(
  to: TestBridge,
  accession: string,
  patient?: { id: string; issuer: string },
): Promise<{ answers: Answer[]; final: string }> {
  return gatewayFind(to, 'STUDY', [
    `AccessionNumber=${accession}`,
    patient ? `PatientID=${patient.id}` : 'PatientID',
    patient ? `IssuerOfPatientID=${patient.issuer}` : 'IssuerOfPatientID',
    ...STUDY_RETURN_KEYS,
    'StudyDescription',
  ]);
}

/** movescu -S of one study to the gateway's AE, keys as the gateway sends them. */
async function gatewayMove(to: TestBridge, studyUid: string): Promise<string> {
  const keys = [
    'QueryRetrieveLevel=STUDY',
    `StudyInstanceUID=${studyUid}`,
    ...STUDY_RETURN_KEYS.filter((key) => key !== 'StudyInstanceUID'),
    'AccessionNumber',
    'PatientID',
    'IssuerOfPatientID',
  ];
  const result = await runTool('movescu', [
    '-v',
    '-S',
    '-aem',
    GATEWAY_AE,
    ...keys.flatMap((key) => ['-k', key]),
    ...target(to),
  ]);
  return result.stdout + result.stderr;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'region-gateway-'));
  gateway = await startReferenceScp(GATEWAY_AE);
  const settings = (quietPeriodMs: number) => ({
    dicom: { allowedPeers: [{ aeTitle: GATEWAY_AE }, { aeTitle: 'DCMSEND' }] },
    links: { quietPeriodMs },
    queryRetrieve: {
      issuerOfPatientId: ISSUER,
      incompleteStudies: 'withhold',
      moveDestinations: [{ aeTitle: GATEWAY_AE, host: '127.0.0.1', port: gateway.port }],
    },
  });
  bridge = await startBridge(settings(200));
  arrivingBridge = await startBridge(settings(10 * MINUTE));
}, 60_000);

afterAll(async () => {
  await disposeBridge(bridge);
  await disposeBridge(arrivingBridge);
  await gateway?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the regional gateway's query sequence", () => {
  it('accepts both presentation contexts dcm4che2 proposes, for C-FIND and C-MOVE', async () => {
    for (const abstractSyntax of [STUDY_ROOT_FIND, STUDY_ROOT_MOVE]) {
      const peer = await RawPeer.connect(bridge.port);
      try {
        const answer = await rawAssociate(peer, {
          callingAe: GATEWAY_AE,
          calledAe: BRIDGE_AE,
          maxPduLength: 16384,
          contexts: [
            { abstractSyntax, transferSyntaxes: [IMPLICIT_LE] },
            { abstractSyntax, transferSyntaxes: [EXPLICIT_LE] },
          ],
        });
        expect(answer).toMatchObject({
          kind: 'accepted',
          contexts: [
            { id: 1, result: 0, transferSyntax: IMPLICIT_LE },
            { id: 3, result: 0, transferSyntax: EXPLICIT_LE },
          ],
        });
      } finally {
        peer.destroy();
      }
    }
  });

  it('finds the study pushed without an issuer, its series and images, and moves it whole', async () => {
    const study = await push(bridge, 71, { accession: 'REG-71', patientId: 'PZ71' });
    // The same accession number and PatientID under another issuer: another patient.
    const other = await push(
      bridge,
      72,
      { accession: 'REG-71', patientId: 'PZ71', issuer: OTHER_ISSUER },
      1,
      1,
    );
    await waitFor(() => bridge.app.reporting.arrivingStudies().length === 0);

    const studies = await findStudies(bridge, 'REG-71', { id: 'PZ71', issuer: ISSUER });
    expect(studies.final).toBe('Success');
    expect(studies.answers).toHaveLength(1);
    const [answer] = studies.answers;
    expect(answer!.get('0020,000d')).toBe(study.studyUid);
    expect(answer!.get('0010,0021')).toBe(ISSUER);
    expect(answer!.get('0010,0020')).toBe('PZ71');
    expect(answer!.get('0008,0050')).toBe('REG-71');
    expect(answer!.get('0020,1208')).toBe('4');
    expect(answer!.get('0020,1206')).toBe('2');

    const series = await gatewayFind(bridge, 'SERIES', [
      `StudyInstanceUID=${study.studyUid}`,
      'Modality',
      'SeriesNumber',
      'SeriesInstanceUID',
      'NumberOfSeriesRelatedInstances',
      'NumberOfStudyRelatedSeries',
      'StorageMediaFileSetID',
      'StorageMediaFileSetUID',
      'SeriesDescription',
    ]);
    expect(series.final).toBe('Success');
    expect(series.answers.map((a) => a.get('0020,000e'))).toEqual(study.seriesUids);
    expect(series.answers.map((a) => a.get('0020,1209'))).toEqual(['2', '2']);

    const images: string[] = [];
    for (const seriesUid of study.seriesUids) {
      const found = await gatewayFind(bridge, 'IMAGE', [
        `StudyInstanceUID=${study.studyUid}`,
        `SeriesInstanceUID=${seriesUid}`,
        'InstanceNumber',
        'SOPClassUID',
        'SOPInstanceUID',
      ]);
      expect(found.final).toBe('Success');
      // DCMTK prints a well-known UID by its name.
      expect(found.answers.map((a) => a.get('0008,0016'))).toEqual([
        'CTImageStorage',
        'CTImageStorage',
      ]);
      images.push(...found.answers.map((a) => a.get('0008,0018')!));
    }
    expect(images.sort()).toEqual([...study.datasets.keys()].sort());

    const moved = await gatewayMove(bridge, answer!.get('0020,000d')!);
    expect(moved).toContain('Received Final Move Response (Success)');
    for (const [sop, dataset] of study.datasets) {
      const received = gateway.dataset(sop);
      expect(received, `${sop} not received`).toBeDefined();
      expect(received!.equals(dataset), `${sop}: dataset bytes`).toBe(true);
    }
    for (const sop of other.datasets.keys()) expect(gateway.dataset(sop)).toBeUndefined();
  });

  it('answers a study stored with another issuer with that issuer, never with its own', async () => {
    const other = await findStudies(bridge, 'REG-71', { id: 'PZ71', issuer: OTHER_ISSUER });
    expect(other.answers.map((a) => [a.get('0020,000d'), a.get('0010,0021')])).toEqual([
      [syntheticUids({ study: 72, series: 1, instance: 1 }).study, OTHER_ISSUER],
    ]);
    // Without patient keys (the gateway's HL7 path) both studies of the accession are found.
    const both = await findStudies(bridge, 'REG-71');
    expect(both.answers.map((a) => a.get('0010,0021')).sort()).toEqual([OTHER_ISSUER, ISSUER]);
  });

  it('finds no study still arriving, and refuses to move it, so the gateway retries', async () => {
    const to = arrivingBridge!;
    const study = await push(to, 73, { accession: 'REG-73', patientId: 'PZ73' });
    expect(to.app.reporting.arrivingStudies()).toEqual([study.studyUid]);

    const studies = await findStudies(to, 'REG-73', { id: 'PZ73', issuer: ISSUER });
    expect(studies).toEqual({ answers: [], final: 'Success' });
    const series = await gatewayFind(to, 'SERIES', [
      `StudyInstanceUID=${study.studyUid}`,
      'SeriesInstanceUID',
    ]);
    expect(series).toEqual({ answers: [], final: 'Success' });

    const moved = await gatewayMove(to, study.studyUid);
    expect(moved).toMatch(/Received Final Move Response \(Failed: UnableToProcess\)/);
    expect(logsWithMessage(to, 'query/retrieve request refused').at(-1)).toMatchObject({
      status: '0xC000',
    });
    for (const sop of study.datasets.keys()) expect(gateway.dataset(sop)).toBeUndefined();
  });
});
