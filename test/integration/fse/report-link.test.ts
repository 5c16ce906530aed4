import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportState } from '../../../src/fse/report-state.js';
import { BRIDGE_AE, disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { FakeFse } from '../../helpers/fake-fse.js';
import { Hl7Peer } from '../../helpers/hl7-peer.js';
import {
  FACILITY,
  mdm,
  obxRp,
  obxText,
  pid,
  pv1,
  segment,
  txa,
} from '../../helpers/hl7-messages.js';
import { startSamplePacs, type SamplePacs } from '../../helpers/pacs-fixture.js';
import { runTool, waitFor, dcmsend } from '../../helpers/tools.js';

/*
 * A signed report reaches the bridge (HL7 MDM over MLLP from a real client, or the HTTP API),
 * is linked to its studies (held, pulled from Orthanc, or pushed later), gets a KOS manifest
 * that an independent IOD validator accepts, and the FSE side (a strict fake) is told once.
 */

/** The samples' PACS stores no issuers, so the facility names none. */
const SAMPLE_FACILITY = { ...FACILITY, patientIdIssuer: '', accessionIssuer: '' };
let fse: FakeFse;
let fixture: SamplePacs;

beforeAll(async () => {
  fse = await FakeFse.start();
  fixture = await startSamplePacs();
}, 120_000);

afterAll(async () => {
  await fse?.close();
  await fixture?.pacs.stop();
});

const PID3_FOR = (patientId: string): string =>
  [`R${patientId}^^^RIS`, `${patientId}^^^${FACILITY.patientIdAuthority}^PI`].join('~');

function report(patientId: string, accession: string, documentId: string, trigger = 'T02'): string {
  return mdm({
    trigger,
    controlId: `MSG-${documentId}-${trigger}`,
    segments: [
      segment('EVN', { 1: trigger, 2: '20250114093005' }),
      pid(PID3_FOR(patientId)),
      pv1(),
      txa({ documentId }),
      ...(trigger === 'T11' ? [] : [obxRp(accession), obxText()]),
    ],
  });
}

async function bridgeWith(overrides: Record<string, unknown>): Promise<TestBridge> {
  const bridge = await startBridge({
    fse: {
      transport: 'http',
      notifyUrl: fse.baseUrl,
      retryBaseDelayMs: 20,
      retryMaxDelayMs: 200,
      pollIntervalMs: 100,
    },
    hl7: { enabled: true, host: '127.0.0.1', port: 0, facilities: [SAMPLE_FACILITY] },
    links: { quietPeriodMs: 300 },
    ...overrides,
  });
  await fixture.pacs.setModality('bridge', {
    aeTitle: BRIDGE_AE,
    host: '127.0.0.1',
    port: bridge.port,
  });
  return bridge;
}

function orthancNode(): Record<string, unknown> {
  return {
    nodes: [
      {
        name: 'orthanc',
        aeTitle: fixture.pacs.aeTitle,
        host: '127.0.0.1',
        port: fixture.pacs.dicomPort,
        maxRetries: 1,
        retryBaseDelayMs: 50,
      },
    ],
  };
}

async function linked(bridge: TestBridge, key: string): Promise<ReportState> {
  await waitFor(
    () => bridge.app.reporting.reports.get(key)?.status === 'linked',
    60_000,
    `report ${key} linked`,
  );
  return bridge.app.reporting.reports.get(key)!;
}

function deliveries(kind: 'immagini-disponibili' | 'referti-annullati', codDocumento: string) {
  return fse.requests.filter(
    (r) =>
      r.path.endsWith(kind) &&
      r.valid &&
      (r.body as { codDocumentoDipartimentale?: string }).codDocumentoDipartimentale ===
        codDocumento,
  );
}

/** dciodvfy's errors, and the instances the manifest references (DCMTK's reading). */
async function checkManifest(bridge: TestBridge, state: ReportState): Promise<Set<string>> {
  const dir = mkdtempSync(join(tmpdir(), 'kos-'));
  try {
    const path = join(dir, 'kos.dcm');
    writeFileSync(path, await bridge.app.store.readBuffer(state.manifest!.storageKey));
    const validation = await runTool('dciodvfy', [path]);
    const output = validation.stdout + validation.stderr;
    expect(
      output.split('\n').filter((line) => /^Error/.test(line)),
      output,
    ).toEqual([]);
    const dump = await runTool('dcmdump', ['-q', '+P', '0008,1155', '+s', path]);
    expect(dump.code, dump.stderr).toBe(0);
    return new Set([...dump.stdout.matchAll(/\[([0-9.]+)\]/g)].map((m) => m[1]!));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function heldUids(bridge: TestBridge, studyUids: string[]): Set<string> {
  const index = bridge.app.index;
  return new Set(
    studyUids.flatMap((study) =>
      index
        .listSeries(study)
        .flatMap((s) => index.listInstances(s.seriesUid).map((i) => i.sopInstanceUid)),
    ),
  );
}

describe('report linking over HL7', () => {
  let bridge: TestBridge;
  beforeAll(async () => {
    bridge = await bridgeWith({ pacs: orthancNode() });
  });
  afterAll(() => disposeBridge(bridge));

  it('links an accession already received: AA, manifest valid and exact, FSE told once', async () => {
    const study = fixture.studies[0]!;
    const sent = await dcmsend(
      bridge.port,
      study.instances.map((i) => i.path),
    );
    expect(sent.code, sent.stderr).toBe(0);
    const peer = await Hl7Peer.connect(bridge.app.reporting.hl7Port!);
    try {
      const ack = await peer.send(report(study.patientId, study.accessionNumber, 'DOC-HELD-1'));
      expect(ack.get('MSA.1').toString()).toBe('AA');
      // The same message again: acknowledged, not processed twice.
      const again = await peer.send(report(study.patientId, study.accessionNumber, 'DOC-HELD-1'));
      expect(again.get('MSA.1').toString()).toBe('AA');
    } finally {
      await peer.close();
    }
    const state = await linked(bridge, `${FACILITY.codCL}^DOC-HELD-1`);
    const studyUids = state.accessions.flatMap((a) => a.studies.map((s) => s.studyInstanceUid));
    expect(studyUids).toContain(study.studyUid);
    expect(await checkManifest(bridge, state)).toEqual(heldUids(bridge, studyUids));
    await waitFor(
      () => deliveries('immagini-disponibili', 'DOC-HELD-1').length > 0,
      20_000,
      'FSE notified',
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(deliveries('immagini-disponibili', 'DOC-HELD-1')).toHaveLength(1);
  }, 120_000);
  it('relinks a replaced report (MDM^T10) to its new accession with a new manifest', async () => {
    const [first, second] = fixture.studies.filter(
      (s) => s.accessionNumber !== fixture.studies[0]!.accessionNumber,
    );
    expect(second?.accessionNumber).not.toBe(first?.accessionNumber);
    const peer = await Hl7Peer.connect(bridge.app.reporting.hl7Port!);
    const key = `${FACILITY.codCL}^DOC-REPL-1`;
    try {
      expect(
        (await peer.send(report(first!.patientId, first!.accessionNumber, 'DOC-REPL-1')))
          .get('MSA.1')
          .toString(),
      ).toBe('AA');
      const before = await linked(bridge, key);
      const replaced = await peer.send(
        report(second!.patientId, second!.accessionNumber, 'DOC-REPL-1', 'T10'),
      );
      expect(replaced.get('MSA.1').toString()).toBe('AA');
      await waitFor(
        () => {
          const state = bridge.app.reporting.reports.get(key);
          return state?.version === 2 && state.status === 'linked';
        },
        60_000,
        'the replacement linked',
      );
      const after = bridge.app.reporting.reports.get(key)!;
      expect(after.accessions.map((a) => a.accessionNumber)).toEqual([second!.accessionNumber]);
      expect(after.manifest!.sopInstanceUid).not.toBe(before.manifest!.sopInstanceUid);
      const studyUids = after.accessions.flatMap((a) => a.studies.map((s) => s.studyInstanceUid));
      expect(studyUids).toContain(second!.studyUid);
      expect(await checkManifest(bridge, after)).toEqual(heldUids(bridge, studyUids));
      await waitFor(
        () => deliveries('immagini-disponibili', 'DOC-REPL-1').length >= 2,
        20_000,
        'both versions notified',
      );
    } finally {
      await peer.close();
    }
  }, 120_000);
});

describe('report linking over HL7, a message without TXA', () => {
  let bridge: TestBridge;
  beforeAll(async () => {
    bridge = await bridgeWith({ pacs: orthancNode() });
  });
  afterAll(() => disposeBridge(bridge));

  it('accepts MDM^T02 without TXA (AA), names the report by its accession, links it', async () => {
    const study = fixture.studies[0]!;
    const peer = await Hl7Peer.connect(bridge.app.reporting.hl7Port!);
    try {
      const ack = await peer.send(
        mdm({
          controlId: 'MSG-NO-TXA-1',
          segments: [
            segment('EVN', { 1: 'T02', 2: '20250114093005' }),
            pid(PID3_FOR(study.patientId)),
            pv1(),
            obxRp(study.accessionNumber),
            obxText(),
          ],
        }),
      );
      expect(ack.get('MSA.1').toString()).toBe('AA');
    } finally {
      await peer.close();
    }
    // The facility sets no documentIdWithoutTxa: the document id is the accession number.
    const state = await linked(bridge, `${FACILITY.codCL}^${study.accessionNumber}`);
    expect(state.accessions.flatMap((a) => a.studies.map((s) => s.studyInstanceUid))).toContain(
      study.studyUid,
    );
    await waitFor(
      () => deliveries('immagini-disponibili', study.accessionNumber).length > 0,
      20_000,
      'FSE notified',
    );
  }, 120_000);
});

describe('report linking: pulled from the PACS, cancelled', () => {
  let bridge: TestBridge;
  beforeAll(async () => {
    bridge = await bridgeWith({ pacs: orthancNode() });
  });
  afterAll(() => disposeBridge(bridge));

  it('pulls an accession not received yet from Orthanc, links it, and unlinks on MDM^T11', async () => {
    const study = fixture.studies.at(-1)!;
    expect(bridge.app.index.countStudyInstances(study.studyUid)).toBe(0);
    const peer = await Hl7Peer.connect(bridge.app.reporting.hl7Port!);
    try {
      const ack = await peer.send(report(study.patientId, study.accessionNumber, 'DOC-PULL-1'));
      expect(ack.get('MSA.1').toString()).toBe('AA');
      const state = await linked(bridge, `${FACILITY.codCL}^DOC-PULL-1`);
      expect(bridge.app.index.countStudyInstances(study.studyUid)).toBe(study.instances.length);
      const studyUids = state.accessions.flatMap((a) => a.studies.map((s) => s.studyInstanceUid));
      expect(await checkManifest(bridge, state)).toEqual(heldUids(bridge, studyUids));
      await waitFor(
        () => deliveries('immagini-disponibili', 'DOC-PULL-1').length > 0,
        20_000,
        'FSE notified',
      );
      const cancel = await peer.send(
        report(study.patientId, study.accessionNumber, 'DOC-PULL-1', 'T11'),
      );
      expect(cancel.get('MSA.1').toString()).toBe('AA');
      expect(bridge.app.reporting.reports.get(`${FACILITY.codCL}^DOC-PULL-1`)?.status).toBe(
        'cancelled',
      );
      await waitFor(
        () => deliveries('referti-annullati', 'DOC-PULL-1').length > 0,
        20_000,
        'FSE told of the cancellation',
      );
      // A cancellation of a document the bridge never saw is refused (AE).
      const unknown = await peer.send(
        report(study.patientId, study.accessionNumber, 'DOC-NEVER', 'T11'),
      );
      expect(unknown.get('MSA.1').toString()).toBe('AE');
    } finally {
      await peer.close();
    }
    expect(deliveries('immagini-disponibili', 'DOC-PULL-1')).toHaveLength(1);
  }, 120_000);
});

describe('report linking over HTTP, report before images', () => {
  const TOKEN = 'test-token-0123456789';
  let bridge: TestBridge;
  beforeAll(async () => {
    bridge = await bridgeWith({ http: { apiToken: TOKEN } });
  });
  afterAll(() => disposeBridge(bridge));

  function api(method: string, path: string, body?: unknown, token = TOKEN): Promise<Response> {
    return fetch(`http://127.0.0.1:${bridge.app.reporting.httpPort}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  it('refuses requests without the token and invalid reports, naming the field', async () => {
    expect((await api('GET', '/api/reports?accessionNumber=1', undefined, '')).status).toBe(401);
    const invalid = await api('POST', '/api/reports', {
      codCL: '010203',
      codDocumentoDipartimentale: 'DOC-X',
      accessionNumbers: [{ accessionNumber: '12345678901234567' }],
      patientId: 'P1',
    });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ field: 'accessionNumbers[0].accessionNumber' });
    const unknownField = await api('POST', '/api/reports', { codCL: '1', extra: true });
    expect(await unknownField.json()).toMatchObject({ field: 'extra' });
  });

  it('waits for a study pushed later, then links it when it goes quiet and tells the FSE once', async () => {
    const study = fixture.studies[0]!;
    const registered = await api('POST', '/api/reports', {
      codCL: '010203',
      codDocumentoDipartimentale: 'DOC-LATE-1',
      accessionNumbers: [{ accessionNumber: study.accessionNumber }],
      patientId: study.patientId,
      codiceFiscale: 'RSSMRA80A01H501U',
    });
    expect(registered.status).toBe(202);
    const key = '010203^DOC-LATE-1';
    await waitFor(
      () => bridge.app.reporting.reports.get(key)?.accessions[0]?.status === 'waiting',
      10_000,
      'report waiting',
    );
    const sent = await dcmsend(
      bridge.port,
      study.instances.map((i) => i.path),
    );
    expect(sent.code, sent.stderr).toBe(0);
    const state = await linked(bridge, key);
    expect(state.accessions[0]!.dataNotificaPacs).toBeDefined();
    const shown = (await (
      await api('GET', '/api/reports/010203/DOC-LATE-1')
    ).json()) as ReportState;
    expect(shown.status).toBe('linked');
    expect(shown.manifest?.sopInstanceUid).toBe(state.manifest!.sopInstanceUid);
    await waitFor(
      () => deliveries('immagini-disponibili', 'DOC-LATE-1').length > 0,
      20_000,
      'FSE notified',
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(deliveries('immagini-disponibili', 'DOC-LATE-1')).toHaveLength(1);
    expect((await (await api('GET', '/api/outbox/counts')).json()) as object).toMatchObject({
      delivered: 1,
    });
    // The same state through the CLI, on the running daemon's index.
    const configFile = join(bridge.dataDir, 'test-config.json');
    const cli = (args: string[]): ReturnType<typeof runTool> =>
      runTool(
        process.execPath,
        ['--import', 'tsx', 'src/cli.ts', ...args, '--config', configFile],
        {
          env: { ...process.env, BRIDGE_LOG_LEVEL: 'warn' },
        },
      );
    const shownByCli = await cli(['report', '--report', '010203/DOC-LATE-1']);
    expect(shownByCli.code, shownByCli.stderr).toBe(0);
    expect(shownByCli.stdout).toContain('report 010203^DOC-LATE-1 (version 1, http): linked');
    expect(shownByCli.stdout).toContain(state.manifest!.sopInstanceUid);
    const dead = await cli(['outbox', 'dead']);
    expect(dead.code, dead.stderr).toBe(0);
    expect(dead.stdout).toContain('0 dead letters');
  }, 120_000);

  it('links no held study to a report whose accession number and patient id are wild cards', async () => {
    // The study of the test above is held; "*" matches it in a C-FIND, but names no study here.
    expect(bridge.app.index.countInstances()).toBeGreaterThan(0);
    const registered = await api('POST', '/api/reports', {
      codCL: '010203',
      codDocumentoDipartimentale: 'DOC-WILD-1',
      accessionNumbers: [{ accessionNumber: '*' }],
      patientId: '*',
      codiceFiscale: 'RSSMRA80A01H501U',
    });
    expect(registered.status).toBe(202);
    await waitFor(
      () =>
        bridge.app.reporting.reports.get('010203^DOC-WILD-1')?.accessions[0]?.status === 'waiting',
      10_000,
      'report waiting',
    );
    expect(bridge.app.reporting.reports.get('010203^DOC-WILD-1')!.accessions[0]!.studies).toEqual(
      [],
    );
  });

  it('re-issues the manifest with a new SOP Instance UID when a linked study receives more', async () => {
    const study = fixture.studies.find(
      (s) => s.instances.length >= 2 && s.studyUid !== fixture.studies[0]!.studyUid,
    )!;
    const [last, ...first] = study.instances;
    expect(
      (
        await dcmsend(
          bridge.port,
          first.map((i) => i.path),
        )
      ).code,
    ).toBe(0);
    const key = '010203^DOC-GROW-1';
    const registered = await api('POST', '/api/reports', {
      codCL: '010203',
      codDocumentoDipartimentale: 'DOC-GROW-1',
      accessionNumbers: [{ accessionNumber: study.accessionNumber }],
      patientId: study.patientId,
    });
    expect(registered.status).toBe(202);
    const before = await linked(bridge, key);
    const studyUids = before.accessions.flatMap((a) => a.studies.map((s) => s.studyInstanceUid));
    expect(await checkManifest(bridge, before)).toEqual(heldUids(bridge, studyUids));
    expect((await dcmsend(bridge.port, [last!.path])).code).toBe(0);
    await waitFor(
      () =>
        bridge.app.reporting.reports.get(key)?.manifest?.sopInstanceUid !==
        before.manifest!.sopInstanceUid,
      20_000,
      'a new manifest',
    );
    const after = bridge.app.reporting.reports.get(key)!;
    expect(after.manifest!.instances).toBe(before.manifest!.instances + 1);
    const referenced = await checkManifest(bridge, after);
    expect(referenced).toContain(last!.sopInstanceUid);
    expect(referenced).toEqual(heldUids(bridge, studyUids));
    await waitFor(
      () => deliveries('immagini-disponibili', 'DOC-GROW-1').length >= 2,
      20_000,
      'both manifests notified',
    );
    const manifests = deliveries('immagini-disponibili', 'DOC-GROW-1').map(
      (r) => (r.body as { manifest: { sopInstanceUid: string } }).manifest.sopInstanceUid,
    );
    expect(manifests).toEqual([before.manifest!.sopInstanceUid, after.manifest!.sopInstanceUid]);
  }, 120_000);

  it('dead-letters a notification the FSE refuses (400), shows it, and re-sends it on request', async () => {
    const study = fixture.studies.find(
      (s) => !bridge.app.index.countStudyInstances(s.studyUid) && s.instances.length >= 1,
    )!;
    expect(
      (
        await dcmsend(
          bridge.port,
          study.instances.map((i) => i.path),
        )
      ).code,
    ).toBe(0);
    fse.script([400]);
    const registered = await api('POST', '/api/reports', {
      codCL: '010203',
      codDocumentoDipartimentale: 'DOC-DEAD-1',
      accessionNumbers: [{ accessionNumber: study.accessionNumber }],
      patientId: study.patientId,
    });
    expect(registered.status).toBe(202);
    await linked(bridge, '010203^DOC-DEAD-1');
    let dead: Array<{ id: number; reportKey: string }> = [];
    await waitFor(
      async () => {
        dead = (await (await api('GET', '/api/outbox/dead')).json()) as typeof dead;
        return dead.some((d) => d.reportKey === '010203^DOC-DEAD-1');
      },
      20_000,
      'a dead letter',
    );
    const letter = dead.find((d) => d.reportKey === '010203^DOC-DEAD-1')!;
    // Final: not tried again by itself.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(
      fse.requests.filter((r) => r.status === 400 && r.path.endsWith('immagini-disponibili')),
    ).toHaveLength(1);
    const resent = await api('POST', `/api/outbox/${letter.id}/resend`);
    expect(resent.status).toBe(200);
    await waitFor(
      () =>
        fse.requests.some(
          (r) =>
            r.status === 200 &&
            (r.body as { codDocumentoDipartimentale?: string }).codDocumentoDipartimentale ===
              'DOC-DEAD-1',
        ),
      20_000,
      'delivered after the re-send',
    );
    expect((await api('POST', `/api/outbox/${letter.id}/resend`)).status).toBe(409);
  }, 120_000);

  it('keeps the obscuration codes a document receives, and refuses unknown codes', async () => {
    const path = '/api/reports/010203/DOC-LATE-1/obscuration';
    const post = (body: unknown): Promise<Response> => api('POST', path, body);
    expect(await (await post({ eventCode: 'P99', source: 'FSE' })).json()).toEqual({
      reportKey: '010203^DOC-LATE-1',
      obscuration: 'P99',
    });
    expect(await (await post({ eventCode: 'P97', source: 'FSE' })).json()).toMatchObject({
      obscuration: 'P97,P99',
    });
    const shown = (await (
      await api('GET', '/api/reports/010203/DOC-LATE-1')
    ).json()) as ReportState;
    expect(shown.obscuration).toBe('P97,P99');
    expect(await (await post({ eventCode: 'P00', source: 'FSE' })).json()).toMatchObject({
      obscuration: '',
    });
    const invalid = await post({ eventCode: 'P42', source: 'FSE' });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ field: 'eventCode' });
    expect((await post({ eventCode: 'P99' })).status).toBe(400);
    expect(
      (
        await api('POST', '/api/reports/010203/NO-SUCH/obscuration', {
          eventCode: 'P99',
          source: 'FSE',
        })
      ).status,
    ).toBe(404);
  });
});
