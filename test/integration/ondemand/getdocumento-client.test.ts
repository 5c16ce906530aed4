import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import soap from 'soap';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { episodioEndpoint } from '../../helpers/get-documento.js';
import {
  CALLER,
  CLINICIAN_CF,
  type Attachments,
  PATIENT_CF,
  push,
  registerMrReport,
} from '../../helpers/on-demand.js';
import { SAMPLES_DIR, filesUnder } from '../../helpers/samples.js';
import { runTool } from '../../helpers/tools.js';

/*
 * The Region's operation seen from a SOAP client library: node-soap builds its client from the
 * WSDL the bridge serves for CLEpisodioService, signs each request with a WS-Security
 * UsernameToken (digest, nonce, Timestamp, mustUnderstand) and calls GetDocumento on the SOAP 1.2
 * and SOAP 1.1 ports: it gets the report's KOS manifest, or its PDI ZIP when
 * tipoFileDocumento asks for one, and the linked series with their instance counts.
 */

const DOCUMENT = 'RAD-GD-CLIENT';
let bridge: TestBridge;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'getdocumento-'));
  bridge = await startBridge({ onDemand: { authKind: 'basic', ...CALLER } });
  await push(bridge, filesUnder(join(SAMPLES_DIR, 'studies', '98892003')));
  await registerMrReport(bridge, DOCUMENT);
}, 120_000);

afterAll(async () => {
  await disposeBridge(bridge);
  rmSync(scratch, { recursive: true, force: true });
});

interface Result {
  esito: string;
  errori?: { errore: Array<{ codice: string; descrizione: string }> };
  documento?: {
    accessionNumber?: string;
    documento?: string;
    idDocumento?: string;
    idDipartimentale?: string;
    linkImmagini?: Array<{
      accessionNumber: string;
      objectNumber: string;
      series: string;
      study: string;
    }>;
    oscurato?: string;
  };
  componenteLocaleRisposta?: { stato?: { codice: string }; tempoMaxAttesaCLInSec: string };
}

type Operation = (
  args: Record<string, unknown>,
  callback: (
    error: Error | null,
    answer: { GetDocumentoResult: Result },
    raw: unknown,
    header: unknown,
    xml: unknown,
    attachments: Attachments | undefined,
  ) => void,
  options: Record<string, unknown>,
) => void;

/** A client of the port of `version`, from the WSDL, with WS-Security as the Region sends it. */
async function client(version: '1.1' | '1.2'): Promise<{ client: soap.Client; call: Operation }> {
  const created = await soap.createClientAsync(`${episodioEndpoint(bridge)}?wsdl`, {
    forceSoap12Headers: version === '1.2',
    parseReponseAttachments: true,
    disableCache: true,
  });
  created.setSecurity(
    new soap.WSSecurity(CALLER.username, CALLER.password, {
      passwordType: 'PasswordDigest',
      hasTimeStamp: true,
      hasNonce: true,
      mustUnderstand: true,
    }),
  );
  const port =
    version === '1.2'
      ? 'CLEpisodioServiceHttpSoap12Endpoint'
      : 'CLEpisodioServiceHttpSoap11Endpoint';
  const service = (created as unknown as Record<string, Record<string, Record<string, Operation>>>)
    .CLEpisodioService!;
  return { client: created, call: service[port]!.GetDocumento!.bind(service[port]) };
}

/** GetDocumento for the report, as a doctor, asking for `tipoFile`; `options` to node-soap. */
async function getDocumento(
  version: '1.1' | '1.2',
  tipoFile: string,
  options: Record<string, unknown> = {},
): Promise<Result & { attachments?: Attachments }> {
  const { client: soapClient, call } = await client(version);
  const result = await new Promise<Result & { attachments?: Attachments }>((resolve, reject) =>
    call(
      {
        requestDc: {
          richiedente: {
            applicazione: { codice: 'WEBAPP_DMA' },
            codiceFiscale: CLINICIAN_CF,
            numeroTransazione: 'TX-CLIENT',
            regime: { codice: 'SSN', descrizione: 'SSN' },
            ruolo: { codice: 'MRP' },
            tokenOperazione: 'TX-CLIENT',
          },
          paziente: { codiceFiscale: PATIENT_CF, idIrec: 1234567 },
          metadatiDocumento: {
            componenteLocale: { codice: '010203' },
            consultabile: 'SI',
            idDocumento: DOCUMENT,
            idEpisodio: '555111',
            tipoFileDocumento: { codice: tipoFile },
          },
          firmatoDigitalmente: 'NO',
          criptato: 'NO',
        },
      },
      (error, answer, _raw, _header, _xml, attachments) =>
        error ? reject(error) : resolve({ ...answer.GetDocumentoResult, attachments }),
      options,
    ),
  );
  const sent = String(soapClient.lastRequest);
  expect(sent).toContain('wsse:Security');
  expect(sent).toContain('#PasswordDigest');
  expect(sent).toContain(
    version === '1.2'
      ? 'http://www.w3.org/2003/05/soap-envelope'
      : 'http://schemas.xmlsoap.org/soap/envelope/',
  );
  return result;
}

/** The series of the report's studies, as the index has them: series UID → instances. */
function indexedSeries(): Map<string, number> {
  const report = bridge.app.reporting.reports.get(`010203^${DOCUMENT}`)!;
  const series = new Map<string, number>();
  for (const study of report.accessions.flatMap((a) => a.studies))
    for (const s of bridge.app.index.listSeries(study.studyInstanceUid))
      series.set(s.seriesUid, s.instanceCount);
  return series;
}

describe.each(['1.2', '1.1'] as const)(
  'GetDocumento over SOAP %s from a generated client',
  (version) => {
    it('gets the KOS manifest, byte for byte, with the linked series and their instance counts', async () => {
      const result = await getDocumento(version, 'PDF');
      expect(result.esito, JSON.stringify(result.errori)).toBe('SUCCESSO');
      const report = bridge.app.reporting.reports.get(`010203^${DOCUMENT}`)!;
      const manifest = await bridge.app.store.readBuffer(report.manifest!.storageKey);
      expect(Buffer.from(result.documento!.documento!, 'base64').equals(manifest)).toBe(true);
      expect(result.documento).toMatchObject({
        idDocumento: DOCUMENT,
        idDipartimentale: DOCUMENT,
        accessionNumber: '2',
        oscurato: 'NO',
      });
      const links = result.documento!.linkImmagini!;
      expect(new Map(links.map((l) => [l.series, Number(l.objectNumber)]))).toEqual(
        indexedSeries(),
      );
      expect(links.every((l) => l.accessionNumber === '2')).toBe(true);
      expect(result.componenteLocaleRisposta?.stato?.codice).toBe('DISPONIBILE');
    });

    it('gets the PDI ZIP when tipoFileDocumento asks for it: a DICOMDIR and every instance', async () => {
      const result = await getDocumento(version, 'PDI_ZIP');
      expect(result.esito, JSON.stringify(result.errori)).toBe('SUCCESSO');
      const zip = join(scratch, `pdi-${version}.zip`);
      writeFileSync(zip, Buffer.from(result.documento!.documento!, 'base64'));
      const listing = await runTool('unzip', ['-Z1', zip]);
      expect(listing.code, listing.stderr).toBe(0);
      const entries = listing.stdout.split('\n').filter(Boolean);
      expect(entries).toContain('DICOMDIR');
      expect(entries).toContain('README.TXT');
      const instances = [...indexedSeries().values()].reduce((a, b) => a + b, 0);
      expect(entries.filter((e) => e.startsWith('DICOM/') && !e.endsWith('/'))).toHaveLength(
        instances,
      );
    }, 60_000);
  },
);

describe('GetDocumento with MTOM', () => {
  it('sends the KOS manifest as an MTOM attachment to a caller that sends MTOM', async () => {
    const result = await getDocumento('1.2', 'KOS', { forceMTOM: true });
    expect(result.esito, JSON.stringify(result.errori)).toBe('SUCCESSO');
    const part = result.attachments?.parts.find((p) =>
      /application\/dicom/.test(p.headers['content-type'] ?? ''),
    );
    expect(part).toBeDefined();
    const report = bridge.app.reporting.reports.get(`010203^${DOCUMENT}`)!;
    const manifest = await bridge.app.store.readBuffer(report.manifest!.storageKey);
    expect(part!.body.equals(manifest)).toBe(true);
  });
});
