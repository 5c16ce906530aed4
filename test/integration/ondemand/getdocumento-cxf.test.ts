import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import {
  cxfEnvelope,
  episodioEndpoint,
  getDocumentoElement,
  postEpisodio,
} from '../../helpers/get-documento.js';
import {
  CALLER,
  PATIENT_CF,
  push,
  registerLinked,
  registerMrReport,
} from '../../helpers/on-demand.js';
import { SAMPLES_DIR, filesUnder } from '../../helpers/samples.js';
import { runTool } from '../../helpers/tools.js';

/*
 * GetDocumento as the Region's CXF client writes it (SOAP 1.2, qualified elements in the two
 * namespaces, a WS-Security header with a Timestamp and a digest UsernameToken, no
 * accessionNumber): every answer, served or not, is checked with xmllint against the schemas the
 * endpoint serves, which also judge requests as the endpoint does.
 */

const OLD_CF = 'RSSMRA80A01H501V';
let bridge: TestBridge;
let scratch: string;
let xsd: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'getdocumento-cxf-'));
  bridge = await startBridge({ onDemand: { authKind: 'basic', ...CALLER } });
  await push(bridge, filesUnder(join(SAMPLES_DIR, 'studies', '98892003', 'MR1')));
  await registerMrReport(bridge, 'RAD-GD-1');
  await registerLinked(bridge, {
    codCL: '010203',
    codDocumentoDipartimentale: 'RAD-GD-OLD-CF',
    patientId: '98890234',
    codiceFiscale: OLD_CF,
    accessionNumbers: [{ accessionNumber: '2' }],
  });
  // The three schemas, their imports pointed at the files they are saved in.
  for (const prefix of ['es', 'dma', 'lbl']) {
    const text = await (await fetch(`${episodioEndpoint(bridge)}?xsd=${prefix}`)).text();
    writeFileSync(
      join(scratch, `${prefix}.xsd`),
      text.replace(/schemaLocation="[^"]*\?xsd=(\w+)"/g, 'schemaLocation="$1.xsd"'),
    );
  }
  xsd = join(scratch, 'es.xsd');
}, 120_000);

afterAll(async () => {
  await disposeBridge(bridge);
  rmSync(scratch, { recursive: true, force: true });
});

/** Whether xmllint finds `element` valid against the served schemas; its complaint if not. */
async function lint(element: string): Promise<{ valid: boolean; stderr: string }> {
  const file = join(scratch, 'document.xml');
  writeFileSync(file, element);
  const result = await runTool('xmllint', ['--noout', '--schema', xsd, file]);
  return { valid: result.code === 0, stderr: result.stderr };
}

/** The answer element of a response, standing alone (its namespaces are declared on it). */
function answerOf(text: string): string {
  const element = /<soap:Body>(.*)<\/soap:Body>/s.exec(text)?.[1];
  expect(element, text).toBeDefined();
  return element!;
}

async function valid(text: string): Promise<void> {
  const result = await lint(answerOf(text));
  expect(result.valid, `${result.stderr}\n${text}`).toBe(true);
}

describe('GetDocumento as the Region sends it', () => {
  it('serves the KOS manifest in an answer valid against the schema, elements in order', async () => {
    const request = getDocumentoElement({ idDocumento: 'RAD-GD-1' });
    expect(request).not.toContain('accessionNumber');
    expect((await lint(request)).valid).toBe(true);
    const answer = await postEpisodio(bridge, cxfEnvelope({ idDocumento: 'RAD-GD-1' }));
    expect(answer.status, answer.text).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/soap\+xml/);
    // No Security header back: the Region's client has no interceptor to process one.
    expect(answer.text).not.toContain('Security');
    await valid(answer.text);
    const report = bridge.app.reporting.reports.get('010203^RAD-GD-1')!;
    const manifest = await bridge.app.store.readBuffer(report.manifest!.storageKey);
    const base64 = /<dma:documento>([^<]+)<\/dma:documento>/.exec(answer.text)![1]!;
    expect(Buffer.from(base64, 'base64').equals(manifest)).toBe(true);
    expect(answer.text).toMatch(
      /<es:esito>SUCCESSO<\/es:esito><es:documento><dma:accessionNumber>2<\/dma:accessionNumber><dma:documento>/,
    );
    expect(answer.text).toContain('<dma:oscurato>NO</dma:oscurato>');
    expect(answer.text).toContain('<dma:idEpisodio>555111</dma:idEpisodio>');
  });

  it('serves the PDI ZIP when tipoFileDocumento is PDI_ZIP, in a valid answer', async () => {
    const answer = await postEpisodio(
      bridge,
      cxfEnvelope({ idDocumento: 'RAD-GD-1', tipoFile: 'pdi_zip' }),
    );
    expect(answer.status, answer.text).toBe(200);
    await valid(answer.text);
    const base64 = /<dma:documento>([^<]+)<\/dma:documento>/.exec(answer.text)![1]!;
    // A ZIP: its local file header signature.
    expect(Buffer.from(base64, 'base64').subarray(0, 4).toString('hex')).toBe('504b0304');
  }, 60_000);

  it('answers FALLIMENTO with errori before esito for an unknown document, valid too', async () => {
    const answer = await postEpisodio(bridge, cxfEnvelope({ idDocumento: 'NO-SUCH-DOC' }));
    expect(answer.status).toBe(200);
    await valid(answer.text);
    expect(answer.text).toContain(
      '<es:errori><es:errore><dma:codice>CL_ER_001</dma:codice><dma:descrizione>Documento non presente</dma:descrizione></es:errore></es:errori><es:esito>FALLIMENTO</es:esito>',
    );
  });

  it('takes a report registered under an earlier codice fiscale of the patient from storicoPaziente', async () => {
    const without = await postEpisodio(bridge, cxfEnvelope({ idDocumento: 'RAD-GD-OLD-CF' }));
    expect(without.text).toContain('<dma:codice>CL_ER_001</dma:codice>');
    const answer = await postEpisodio(
      bridge,
      cxfEnvelope({ idDocumento: 'RAD-GD-OLD-CF', paziente: PATIENT_CF, storico: [OLD_CF] }),
    );
    expect(answer.text).toContain('<es:esito>SUCCESSO</es:esito>');
    await valid(answer.text);
  });

  it('answers a request without the document id FALLIMENTO with the invalid-request code, audited', async () => {
    const transaction = 'TX-NO-ID';
    const body = cxfEnvelope({ idDocumento: 'RAD-GD-1', transaction }).replace(
      '<idDocumento>RAD-GD-1</idDocumento>',
      '',
    );
    const answer = await postEpisodio(bridge, body);
    expect(answer.status).toBe(200);
    await valid(answer.text);
    expect(answer.text).toContain('<dma:codice>CL_ER_007</dma:codice>');
    expect(answer.text).toContain("manca l'elemento metadatiDocumento/idDocumento");
    const row = bridge.app.reporting.onDemand.store
      .auditOf('')
      .find((a) => a.transactionNumber === transaction);
    expect(row).toMatchObject({ outcome: 'refused', errorKind: 'invalid-request' });
    expect(row?.refusal?.httpUser).toBe(CALLER.username);
  });
});

describe('the schema, as xmllint and the endpoint judge requests', () => {
  const good = getDocumentoElement({ idDocumento: 'RAD-GD-1' });
  const cases: Array<[string, string, RegExp]> = [
    [
      'elements out of order',
      good.replace(
        /(<ns2:paziente>.*<\/ns2:paziente>)(<ns2:metadatiDocumento>.*<\/ns2:metadatiDocumento>)/,
        '$2$1',
      ),
      /ripetuto o fuori ordine in GetDocumento\/requestDc/,
    ],
    [
      'an element of the wrong namespace',
      good.replace('<ns2:criptato>NO</ns2:criptato>', '<criptato>NO</criptato>'),
      /criptato deve essere nel namespace http:\/\/EpisodioService/,
    ],
    [
      'a value outside siNo',
      good.replace('<ns2:criptato>NO</ns2:criptato>', '<ns2:criptato>FORSE</ns2:criptato>'),
      /criptato deve essere uno tra SI, NO/,
    ],
    [
      'idIrec that is not a long',
      good.replace('<idIrec>1234567</idIrec>', '<idIrec>12a</idIrec>'),
      /idIrec deve essere un numero intero/,
    ],
    [
      'an unknown element',
      good.replace('<consultabile>SI</consultabile>', '<consultabile>SI</consultabile><extra/>'),
      /extra non è previsto in GetDocumento\/requestDc\/metadatiDocumento/,
    ],
  ];
  it.each(cases)(
    'refuses %s with a Sender fault, as xmllint does',
    async (_name, element, reason) => {
      expect((await lint(element)).valid).toBe(false);
      const body = cxfEnvelope({ idDocumento: 'RAD-GD-1' }).replace(
        /<soap:Body>.*<\/soap:Body>/s,
        `<soap:Body>${element}</soap:Body>`,
      );
      const answer = await postEpisodio(bridge, body);
      expect(answer.status).toBe(400);
      expect(answer.text).toMatch(/<soap:Value>soap:Sender<\/soap:Value>/);
      expect(answer.text).toMatch(reason);
    },
  );

  it('serves a WSDL with the operation on a SOAP 1.2 and a SOAP 1.1 port', async () => {
    const wsdl = await (await fetch(`${episodioEndpoint(bridge)}?wsdl`)).text();
    expect(wsdl).toContain('<wsdl:service name="CLEpisodioService">');
    expect(wsdl).toContain(`<soap12:address location="${episodioEndpoint(bridge)}"/>`);
    expect(wsdl).toContain(
      'soapAction="http://EpisodioService.WS.DMACL.csi.it/DMACL.WS.EpisodioService.GetDocumento"',
    );
    expect((await fetch(`${episodioEndpoint(bridge)}?xsd=other`)).status).toBe(404);
  });
});

describe('a document still being built', () => {
  let slow: TestBridge;

  beforeAll(async () => {
    slow = await startBridge({ onDemand: { defaultDeadlineMs: 1 } });
    await push(slow, filesUnder(join(SAMPLES_DIR, 'studies', '98892003')));
    await registerMrReport(slow, 'RAD-GD-SLOW');
  }, 120_000);

  afterAll(() => disposeBridge(slow));

  it('is answered SUCCESSO with componenteLocaleRisposta: in progress, ask again in N seconds', async () => {
    const answer = await postEpisodio(
      slow,
      cxfEnvelope({ idDocumento: 'RAD-GD-SLOW', tipoFile: 'ZIP' }),
    );
    expect(answer.status).toBe(200);
    await valid(answer.text);
    expect(answer.text).toMatch(
      /<es:esito>SUCCESSO<\/es:esito><es:componenteLocaleRisposta><dma:codice>010203<\/dma:codice><dma:stato><dma:codice>ELAB_IN_CORSO<\/dma:codice>/,
    );
    const seconds = Number(/<dma:tempoMaxAttesaCLInSec>(\d+)</.exec(answer.text)?.[1]);
    expect(seconds).toBeGreaterThan(0);
    expect(answer.headers.get('retry-after')).toBe(String(seconds));
    expect(answer.text).not.toContain('<es:documento>');
  }, 60_000);
});
