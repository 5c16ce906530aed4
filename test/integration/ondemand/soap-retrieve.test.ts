import { join } from 'node:path';
import type soap from 'soap';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BRIDGE_AE, disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { PATIENT_CF, callPort, soapClient, type RequestFields } from '../../helpers/on-demand.js';
import { orthancNode, startOrthanc, type OrthancPacs } from '../../helpers/orthanc.js';
import { SAMPLES_DIR, filesUnder, sampleFacts } from '../../helpers/samples.js';
import { waitFor } from '../../helpers/tools.js';

/*
 * A report registered before its images reached the PACS waits; when the FSE asks for it, the
 * bridge retrieves the study from the PACS (Orthanc) first and then serves the package. A study
 * the PACS lacks, and a PACS that is down, are answered with their catalogue codes.
 */

const MR_STUDY = join(SAMPLES_DIR, 'studies', '98892003');
let orthanc: OrthancPacs;
let bridge: TestBridge;
let client: soap.Client;

beforeAll(async () => {
  orthanc = await startOrthanc();
  bridge = await startBridge({
    pacs: { nodes: [orthancNode(orthanc, { maxRetries: 1, retryBaseDelayMs: 50 })] },
  });
  await orthanc.setModality('bridge', { aeTitle: BRIDGE_AE, host: '127.0.0.1', port: bridge.port });
  client = await soapClient(bridge);
}, 120_000);

afterAll(async () => {
  await disposeBridge(bridge);
  await orthanc?.stop();
});

async function register(document: string, accessionNumber: string): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${bridge.app.reporting.httpPort}/api/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      codCL: '010203',
      codDocumentoDipartimentale: document,
      patientId: '98890234',
      codiceFiscale: PATIENT_CF,
      accessionNumbers: [{ accessionNumber }],
    }),
  });
  expect(response.status, await response.text()).toBeLessThan(300);
  // Linking has been tried: the PACS had nothing, so the report waits.
  await waitFor(
    () =>
      bridge.app.reporting.reports.get(`010203^${document}`)?.accessions[0]?.status !== 'waiting' ||
      bridge.logs.some(
        (l) => l.msg === 'report waiting for images' && l.report === `010203^${document}`,
      ),
    30_000,
    'a first linking attempt',
  );
}

const ask = (fields: RequestFields) =>
  callPort(client, '1.2', { tempoMassimoAttesaMs: 60_000, ...fields });

describe('on-demand retrieval of a study not yet held', () => {
  it('retrieves the study from the PACS first, then serves its package', async () => {
    await register('RAD-LATE-1', '2');
    const report = bridge.app.reporting.reports.get('010203^RAD-LATE-1')!;
    expect(report.status).toBe('waiting');
    expect(bridge.app.index.listStudies()).toHaveLength(0);
    // The images reach the PACS after the report (the folder holds other studies too).
    const facts = await Promise.all(filesUnder(MR_STUDY).map((file) => sampleFacts(file)));
    const uploaded = await orthanc.uploadFiles(
      facts.filter((f) => f.accessionNumber === '2').map((f) => f.path),
    );
    expect(uploaded.length).toBeGreaterThan(1);
    expect(uploaded.every((a) => a.Status === 'Success')).toBe(true);

    const { answer } = await ask({ codDocumentoDipartimentale: 'RAD-LATE-1', formato: 'KOS' });
    expect(answer.esito, JSON.stringify(answer.errori)).toBe('SUCCESSO');
    const linked = bridge.app.reporting.reports.get('010203^RAD-LATE-1')!;
    expect(linked.status).toBe('linked');
    const held = linked.accessions[0]!.studies;
    expect(held).toHaveLength(1);
    expect(bridge.app.index.countStudyInstances(held[0]!.studyInstanceUid)).toBe(uploaded.length);
  }, 120_000);

  it('answers study-not-found for an accession the PACS lacks', async () => {
    await register('RAD-NOWHERE', 'NOACC');
    const { answer } = await ask({ codDocumentoDipartimentale: 'RAD-NOWHERE', formato: 'PDI_ZIP' });
    expect(answer.esito).toBe('FALLIMENTO');
    expect(answer.errori?.map((e) => e.codice)).toEqual(['CL_ER_003']);
  }, 60_000);

  it('answers pacs-unreachable when the PACS is down', async () => {
    await register('RAD-DOWN', 'DOWNACC');
    await orthanc.stop();
    const { answer } = await ask({ codDocumentoDipartimentale: 'RAD-DOWN', formato: 'PDI_ZIP' });
    expect(answer.esito).toBe('FALLIMENTO');
    expect(answer.errori?.map((e) => e.codice)).toEqual(['CL_ER_004']);
  }, 60_000);
});
