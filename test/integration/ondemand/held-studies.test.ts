import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BRIDGE_AE, disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { PATIENT_CF, askText, linkingRuns, push, registerTried } from '../../helpers/on-demand.js';
import { orthancNode, startOrthanc, type OrthancPacs } from '../../helpers/orthanc.js';
import { SAMPLES_DIR } from '../../helpers/samples.js';
import { waitFor } from '../../helpers/tools.js';

/*
 * What the bridge holds complete is served without the PACS (Orthanc): a study pushed whole
 * and quiet since is served when the PACS does not know it and when the PACS is down. A study
 * the bridge holds only part of, with the PACS down, is answered "PACS unreachable" naming the
 * study and how many of its instances the bridge has. Orthanc knows the bridge as FSEBRIDGE
 * (it answers its C-FINDs) but not its move destination FSEBRIDGE2: a C-MOVE it is asked for
 * fails, so a study it holds reaches the bridge only as far as the test pushes it.
 */

const MR = join(SAMPLES_DIR, 'studies', '98892003');
/** Accession 428 of patient 98890234: one study of 2 instances, never on the PACS. */
const UNKNOWN_TO_PACS = ['MR1/15820', 'MR2/15970'].map((f) => join(MR, f));
/** Accession 134: one study of 4 instances, on the PACS; the bridge gets the first only. */
const ON_PACS = ['MR1/4919', 'MR2/4950', 'MR2/4981', 'MR2/5011'].map((f) => join(MR, f));
const ON_PACS_STUDY = '1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.133';
/** Accession 2: one study of 11 instances, pushed whole while the PACS is down. */
const PUSHED_WHILE_DOWN = [
  'MR1/5641',
  'MR2/6273',
  'MR2/6605',
  'MR2/6935',
  ...['4467', '4528', '4558', '4588', '4618', '4648', '4678'].map((f) => `MR700/${f}`),
].map((f) => join(MR, f));

let orthanc: OrthancPacs;
let bridge: TestBridge;

beforeAll(async () => {
  orthanc = await startOrthanc();
  const uploaded = await orthanc.uploadFiles(ON_PACS);
  expect(uploaded.map((a) => a.Status)).toEqual(ON_PACS.map(() => 'Success'));
  bridge = await startBridge({
    dicom: { aeTitles: [BRIDGE_AE, 'FSEBRIDGE2'] },
    links: { quietPeriodMs: 300 },
    onDemand: { authKind: 'none' },
    pacs: {
      nodes: [
        orthancNode(orthanc, {
          callingAeTitle: BRIDGE_AE,
          moveDestination: 'FSEBRIDGE2',
          maxRetries: 0,
        }),
      ],
    },
  });
  await orthanc.setModality('bridge', { aeTitle: BRIDGE_AE, host: '127.0.0.1', port: bridge.port });
}, 120_000);

afterAll(async () => {
  await disposeBridge(bridge);
  await orthanc?.stop();
});

const report = (document: string, accessionNumber: string) => ({
  codCL: '010203',
  codDocumentoDipartimentale: document,
  patientId: '98890234',
  codiceFiscale: PATIENT_CF,
  accessionNumbers: [{ accessionNumber }],
});

/** Push `files` and wait for the linking run that follows once they have gone quiet. */
async function pushAndWaitForQuiet(document: string, files: string[]): Promise<void> {
  const key = `010203^${document}`;
  const runs = linkingRuns(bridge, key);
  await push(bridge, files);
  await waitFor(() => linkingRuns(bridge, key) > runs, 30_000, `the study of ${key} quiet`);
}

/** Linking runs of a report that found its accession held complete and left the PACS alone. */
const heldWithoutPacs = (document: string): number =>
  bridge.logs.filter(
    (l) => l.msg === 'accession held complete; PACS not asked' && l.report === `010203^${document}`,
  ).length;

const ask = (document: string) =>
  askText(bridge, {
    codDocumentoDipartimentale: document,
    formato: 'PDI_ZIP',
    tempoMassimoAttesaMs: 60_000,
  });

/**
 * A report registered while the PACS cannot give its study (the accession's status then), the
 * study pushed whole: once quiet it is linked from what is held and its package served.
 */
async function servedAsHeld(
  document: string,
  accessionNumber: string,
  statusBefore: string,
  files: string[],
): Promise<void> {
  const registered = await registerTried(bridge, report(document, accessionNumber));
  expect(registered.accessions[0]!.status).toBe(statusBefore);
  await pushAndWaitForQuiet(document, files);
  expect(await ask(document)).toContain('<tns:stato>DISPONIBILE</tns:stato>');
  const linked = bridge.app.reporting.reports.get(`010203^${document}`)!;
  expect(linked.manifest?.instances).toBe(files.length);
  expect(heldWithoutPacs(document)).toBe(1);
}

describe('on-demand retrieval of what the bridge holds', () => {
  it('serves a study held complete that the PACS does not know', async () => {
    await servedAsHeld('RAD-HELD-1', '428', 'not-found', UNKNOWN_TO_PACS);
  });

  it('names the study and the instances it lacks when the PACS is down', async () => {
    const registered = await registerTried(bridge, report('RAD-PART', '134'));
    expect(registered.accessions[0]!.status).toBe('incomplete');
    await pushAndWaitForQuiet('RAD-PART', ON_PACS.slice(0, 1));
    expect(bridge.app.index.countStudyInstances(ON_PACS_STUDY)).toBe(1);
    await orthanc.stop();
    const answer = await ask('RAD-PART');
    expect(answer).toContain('<tns:esito>FALLIMENTO</tns:esito>');
    expect(answer).toContain('<tns:codice>CL_ER_004</tns:codice>');
    const description = /<tns:descrizione>([^<]*)</.exec(answer)?.[1];
    expect(description).toBe(
      `PACS non raggiungibile: mancano studio ${ON_PACS_STUDY} (1 di 4 istanze ricevute)`,
    );
  });

  it('serves a study held complete while the PACS is down', async () => {
    await servedAsHeld('RAD-HELD-2', '2', 'pacs-unreachable', PUSHED_WHILE_DOWN);
  });
});
