import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import {
  CALLER,
  CLINICIAN_CF,
  GUARDIAN_CF,
  PATIENT_CF,
  basicAuth,
  endpointOf,
  obscure,
  push,
  registerMrReport,
  callOperation,
  soapClient,
  requestXml,
  type RequestFields,
} from '../../helpers/on-demand.js';
import { SAMPLES_DIR, filesUnder } from '../../helpers/samples.js';
import { runTool, waitFor } from '../../helpers/tools.js';

/*
 * What a hostile or careless caller meets: authentication, hostile XML, oversized and broken
 * bodies (a clean SOAP Fault, nothing read, the daemon unaffected), and obscuration, which
 * decides who sees a document; every request is audited.
 */

const SOAP12 = 'application/soap+xml; charset=utf-8';
let bridge: TestBridge;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'ondemand-sec-'));
  bridge = await startBridge({
    onDemand: { authKind: 'basic', ...CALLER, bodyLimitBytes: 16 * 1024 },
  });
  await push(bridge, filesUnder(join(SAMPLES_DIR, 'studies', '98892003', 'MR1')));
  for (const document of ['RAD-P99', 'RAD-P98', 'RAD-P97', 'RAD-CLEAR', 'RAD-SOAP-OSC'])
    await registerMrReport(bridge, document);
}, 120_000);

afterAll(async () => {
  await disposeBridge(bridge);
  rmSync(scratch, { recursive: true, force: true });
});

async function post(
  body: string | Buffer,
  options: { contentType?: string; auth?: string | null } = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const headers: Record<string, string> = { 'content-type': options.contentType ?? SOAP12 };
  if (options.auth !== null) headers.authorization = options.auth ?? basicAuth();
  const response = await fetch(endpointOf(bridge), { method: 'POST', headers, body });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

function ask(fields: RequestFields) {
  return post(requestXml(fields));
}

/** The `codice` values of a response (empty for a success). */
function codes(text: string): string[] {
  return [...text.matchAll(/<tns:codice>([^<]+)<\/tns:codice>/g)].map((m) => m[1]!);
}

async function stillServes(): Promise<void> {
  const answer = await ask({ codDocumentoDipartimentale: 'RAD-CLEAR', formato: 'KOS' });
  expect(answer.status).toBe(200);
  expect(answer.text).toContain('<tns:esito>SUCCESSO</tns:esito>');
}

describe('caller authentication', () => {
  it('answers a request without credentials, or with wrong ones, with a 401 SOAP Fault', async () => {
    const request = requestXml({ codDocumentoDipartimentale: 'RAD-CLEAR', formato: 'KOS' });
    for (const auth of [null, `Basic ${Buffer.from('fse-regione:wrong').toString('base64')}`]) {
      const answer = await post(request, { auth });
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Basic/);
      expect(answer.text).toMatch(/<soap:Fault>.*soap:Sender.*autenticazione richiesta/);
    }
    expect(JSON.stringify(bridge.logs)).not.toContain(CALLER.password);
    await stillServes();
  });
});

describe('hostile and broken requests', () => {
  it('refuses billion laughs with a Sender fault, expanding nothing', async () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&lol4;</s:Body></s:Envelope>`;
    const answer = await post(laughs);
    expect(answer.status).toBe(400);
    expect(answer.text).toMatch(/soap:Sender.*DOCTYPE/);
    expect(answer.text).not.toContain('lollol');
    await stillServes();
  });

  it('refuses an external entity naming a local file and reads nothing', async () => {
    const secret = join(scratch, 'secret.txt');
    writeFileSync(secret, 'TOP-SECRET-CONTENT');
    const request = requestXml({ codDocumentoDipartimentale: 'RAD-CLEAR', formato: 'KOS' })
      .replace('?>', `?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file://${secret}">]>`)
      .replace('<r:ruolo>MED</r:ruolo>', '<r:ruolo>&xxe;</r:ruolo>');
    const answer = await post(request);
    expect(answer.status).toBe(400);
    expect(answer.text).toMatch(/<soap:Fault>/);
    expect(answer.text).not.toContain('TOP-SECRET');
    expect(JSON.stringify(bridge.logs)).not.toContain('TOP-SECRET');
    await stillServes();
  });

  it('refuses an oversized body with a 413 SOAP Fault', async () => {
    const request = requestXml({ codDocumentoDipartimentale: 'RAD-CLEAR', formato: 'KOS' }).replace(
      '<s:Body>',
      `<s:Header><x>${'A'.repeat(64 * 1024)}</x></s:Header><s:Body>`,
    );
    const answer = await post(request);
    expect(answer.status).toBe(413);
    expect(answer.text).toMatch(/<soap:Fault>.*supera la dimensione consentita/);
    await stillServes();
  });

  it('refuses malformed XML, a non-SOAP document and a schema-invalid request, naming the problem', async () => {
    const valid = requestXml({ codDocumentoDipartimentale: 'RAD-CLEAR', formato: 'KOS' });
    const cases: Array<[string, RegExp]> = [
      [valid.slice(0, valid.length - 20), /XML malformato alla riga 1, colonna/],
      ['<html><body>hi</body></html>', /non è un Envelope SOAP 1.1 o 1.2/],
      [valid.replace('KOS', 'TIFF'), /formato deve essere uno tra/],
      [valid.replace(/<r:codCL>[^<]*<\/r:codCL>/, ''), /codCL è obbligatorio/],
      [valid.replace(PATIENT_CF, 'NOT-A-CF'), /codiceFiscaleAssistito deve essere di 16/],
    ];
    for (const [body, reason] of cases) {
      const answer = await post(body);
      expect(answer.status, body).toBe(400);
      expect(answer.text).toMatch(reason);
    }
    const json = await post('{"a":1}', { contentType: 'application/json' });
    expect(json.status).toBe(415);
    expect(json.text).toMatch(/<soap:Fault>/);
    // SOAP 1.1: a Client fault, HTTP 500 as SOAP 1.1 over HTTP has it.
    const v11 = await post(requestXml({ codDocumentoDipartimentale: 'X', formato: 'NO' }, '1.1'), {
      contentType: 'text/xml; charset=utf-8',
    });
    expect(v11.status).toBe(500);
    expect(v11.text).toMatch(/<faultcode>soap:Client<\/faultcode>/);
    await stillServes();
  });

  it('serves a WSDL and a schema that xmllint judges requests by as the endpoint does', async () => {
    const wsdl = await (await fetch(`${endpointOf(bridge)}?wsdl`)).text();
    expect(wsdl).toContain('soap12:address');
    expect(wsdl).toContain(endpointOf(bridge));
    const xsd = join(scratch, 'schema.xsd');
    writeFileSync(xsd, await (await fetch(`${endpointOf(bridge)}?xsd`)).text());
    const valid = requestXml({ codDocumentoDipartimentale: 'RAD-CLEAR', formato: 'KOS' });
    const body = (xml: string): string =>
      /<s:Body>(.*)<\/s:Body>/
        .exec(xml)![1]!
        .replace(
          '<r:RecuperoDocumentoRequest>',
          '<r:RecuperoDocumentoRequest xmlns:r="urn:it:piemonte:fse:recupero-immagini:1">',
        );
    const invalid = [
      valid.replace('KOS', 'TIFF'),
      valid.replace(/<r:codCL>[^<]*<\/r:codCL>/, ''),
      // Out of the schema's order.
      valid.replace(
        /(<r:codCL>[^<]*<\/r:codCL>)(<r:codDocumentoDipartimentale>[^<]*<\/r:codDocumentoDipartimentale>)/,
        '$2$1',
      ),
    ];
    for (const [xml, expected] of [
      [valid, 200] as const,
      ...invalid.map((x) => [x, 400] as const),
    ]) {
      const file = join(scratch, 'request.xml');
      writeFileSync(file, body(xml));
      const lint = await runTool('xmllint', ['--noout', '--schema', xsd, file]);
      expect(lint.code === 0, `${lint.stderr} for ${xml}`).toBe(expected === 200);
      expect((await post(xml)).status).toBe(expected);
    }
    const notice = (event: string): string =>
      `<r:NotificaVariazioneMetadatiRequest xmlns:r="urn:it:piemonte:fse:recupero-immagini:1"><r:codCL>010203</r:codCL><r:codDocumentoDipartimentale>RAD-CLEAR</r:codDocumentoDipartimentale><r:codiceEvento>${event}</r:codiceEvento><r:sorgente>FSE</r:sorgente></r:NotificaVariazioneMetadatiRequest>`;
    for (const [event, valid] of [
      ['P00', true],
      ['P42', false],
    ] as const) {
      const file = join(scratch, 'notice.xml');
      writeFileSync(file, notice(event));
      const lint = await runTool('xmllint', ['--noout', '--schema', xsd, file]);
      expect(lint.code === 0, lint.stderr).toBe(valid);
      const answer = await post(
        `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>${notice(event)}</s:Body></s:Envelope>`,
      );
      expect(answer.status).toBe(valid ? 200 : 400);
    }
  });
});

describe('request charsets', () => {
  /** A request for RAD-CLEAR whose applicazione (kept in the audit) is not ASCII. */
  function accented(encoding: string): { xml: string; transaction: string } {
    const xml = requestXml({ codDocumentoDipartimentale: 'RAD-CLEAR', formato: 'KOS' })
      .replace('encoding="UTF-8"', `encoding="${encoding}"`)
      .replace('<r:applicazione>FSE-PIEMONTE<', '<r:applicazione>FSE-CITTÀ<');
    return { xml, transaction: /<r:numeroTransazione>([^<]+)</.exec(xml)![1]! };
  }
  const auditedApplication = (transaction: string): string | undefined =>
    bridge.app.reporting.onDemand.store
      .auditOf('010203^RAD-CLEAR')
      .find((a) => a.transactionNumber === transaction)?.application;

  it('reads an ISO-8859-1 request as such, plain or as the root part of an MTOM request', async () => {
    const { xml, transaction } = accented('ISO-8859-1');
    const answer = await post(Buffer.from(xml, 'latin1'), {
      contentType: 'application/soap+xml; charset=iso-8859-1',
    });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.text).toContain('<tns:esito>SUCCESSO</tns:esito>');
    expect(auditedApplication(transaction)).toBe('FSE-CITTÀ');

    const mtom = accented('ISO-8859-1');
    const parts = Buffer.concat([
      Buffer.from(
        '--b1\r\nContent-Type: application/xop+xml; charset=ISO-8859-1; type="application/soap+xml"\r\nContent-ID: <root>\r\n\r\n',
      ),
      Buffer.from(mtom.xml, 'latin1'),
      Buffer.from('\r\n--b1--\r\n'),
    ]);
    const viaMtom = await post(parts, {
      contentType:
        'multipart/related; type="application/xop+xml"; boundary="b1"; start="<root>"; start-info="application/soap+xml"',
    });
    expect(viaMtom.status, viaMtom.text).toBe(200);
    expect(auditedApplication(mtom.transaction)).toBe('FSE-CITTÀ');
  });

  it('refuses a body that is not valid UTF-8 rather than replacing its bytes', async () => {
    const { xml, transaction } = accented('UTF-8');
    const answer = await post(Buffer.from(xml, 'latin1'));
    expect(answer.status).toBe(400);
    expect(answer.text).toMatch(/soap:Sender.*il corpo della richiesta non è UTF-8 valido/);
    expect(auditedApplication(transaction)).toBeUndefined();
  });

  it('refuses a charset other than UTF-8 and ISO-8859-1 with a 415 SOAP Fault naming it', async () => {
    const { xml } = accented('UTF-16');
    const answer = await post(Buffer.from(`\ufeff${xml}`, 'utf16le'), {
      contentType: 'application/soap+xml; charset=utf-16',
    });
    expect(answer.status).toBe(415);
    expect(answer.text).toMatch(/<soap:Fault>.*charset &quot;utf-16&quot; non è supportato/);
  });

  it('refuses an XML declaration whose encoding disagrees with the charset, naming both', async () => {
    const { xml, transaction } = accented('ISO-8859-1');
    const answer = await post(xml);
    expect(answer.status).toBe(400);
    expect(answer.text).toMatch(
      /soap:Sender.*codifica &quot;ISO-8859-1&quot; ma il Content-Type il charset &quot;utf-8&quot;/,
    );
    expect(auditedApplication(transaction)).toBeUndefined();
    await stillServes();
  });
});

describe('obscuration', () => {
  const as = (who: 'patient' | 'clinician' | 'guardian', document: string) =>
    ask({
      codDocumentoDipartimentale: document,
      formato: 'KOS',
      codiceFiscale: { patient: PATIENT_CF, clinician: CLINICIAN_CF, guardian: GUARDIAN_CF }[who],
      ruolo: { patient: 'ASS', clinician: 'MED', guardian: 'TUT' }[who],
    });

  it('P99 hides the document from professionals, not from the patient; P00 lifts it', async () => {
    await obscure(bridge, 'RAD-P99', 'P99');
    expect(codes((await as('clinician', 'RAD-P99')).text)).toEqual(['CL_ER_002']);
    expect((await as('patient', 'RAD-P99')).text).toContain('SUCCESSO');
    expect((await as('guardian', 'RAD-P99')).text).toContain('SUCCESSO');
    await obscure(bridge, 'RAD-P99', 'P00');
    expect((await as('clinician', 'RAD-P99')).text).toContain('SUCCESSO');
  });

  it('P98 hides the document from the patient, not from a clinician', async () => {
    await obscure(bridge, 'RAD-P98', 'P98');
    expect(codes((await as('patient', 'RAD-P98')).text)).toEqual(['CL_ER_002']);
    expect((await as('clinician', 'RAD-P98')).text).toContain('SUCCESSO');
  });

  it('P97 hides the document from parents and guardians only', async () => {
    await obscure(bridge, 'RAD-P97', 'P97');
    expect(codes((await as('guardian', 'RAD-P97')).text)).toEqual(['CL_ER_002']);
    expect((await as('clinician', 'RAD-P97')).text).toContain('SUCCESSO');
    expect((await as('patient', 'RAD-P97')).text).toContain('SUCCESSO');
  });

  it('takes obscuration changes over SOAP (NotificaVariazioneMetadati) from a SOAP client', async () => {
    const client = await soapClient(bridge, '1.2');
    const notify = (codDocumentoDipartimentale: string, codiceEvento: string) =>
      callOperation(client, '1.2', 'NotificaVariazioneMetadati', {
        codCL: '010203',
        codDocumentoDipartimentale,
        codiceEvento,
        sorgente: 'FSE-PIEMONTE',
      });
    const hidden = await notify('RAD-SOAP-OSC', 'P98');
    expect(hidden.answer).toMatchObject({ esito: 'SUCCESSO', oscuramentiInVigore: 'P98' });
    expect(codes((await as('patient', 'RAD-SOAP-OSC')).text)).toEqual(['CL_ER_002']);
    const both = await notify('RAD-SOAP-OSC', 'P99');
    expect(both.answer.oscuramentiInVigore).toBe('P98,P99');
    expect(codes((await as('clinician', 'RAD-SOAP-OSC')).text)).toEqual(['CL_ER_002']);
    expect((await as('guardian', 'RAD-SOAP-OSC')).text).toContain('SUCCESSO');
    const cleared = await notify('RAD-SOAP-OSC', 'P00');
    expect(cleared.answer.esito).toBe('SUCCESSO');
    expect((await as('patient', 'RAD-SOAP-OSC')).text).toContain('SUCCESSO');
    const unknown = await notify('NO-SUCH-DOC', 'P99');
    expect(unknown.answer.esito).toBe('FALLIMENTO');
    expect(unknown.answer.errori?.map((e) => e.codice)).toEqual(['CL_ER_001']);
    const events = bridge.app.reporting.reports.get('010203^RAD-SOAP-OSC');
    expect(events?.obscuration).toBe('');
    // A code outside P99/P97/P98/P00 is a schema violation: a fault, nothing recorded.
    await expect(notify('RAD-SOAP-OSC', 'P42')).rejects.toThrow(/codiceEvento deve essere uno tra/);
  });

  it('audits every request: who, role, transaction, document, outcome, bytes', async () => {
    const store = bridge.app.reporting.onDemand.store;
    await waitFor(
      () => store.auditOf('010203^RAD-P98')[1]?.delivery !== undefined,
      10_000,
      'the delivery to be audited',
    );
    const audit = store.auditOf('010203^RAD-P98');
    expect(audit.map((a) => [a.requesterCodiceFiscale, a.role, a.outcome, a.errorKind])).toEqual([
      [PATIENT_CF, 'ASS', 'failed', 'document-obscured'],
      [CLINICIAN_CF, 'MED', 'delivered', undefined],
    ]);
    expect(audit[0]!.bytes).toBe(0);
    expect(audit[1]!.bytes).toBeGreaterThan(0);
    expect(audit[1]!.delivery).toEqual({ status: 'complete', bytesSent: audit[1]!.bytes });
    expect(audit[0]!.delivery).toBeUndefined();
    expect(audit.every((a) => a.transactionNumber.startsWith('TX-') && a.format === 'KOS')).toBe(
      true,
    );
    const logged = bridge.logs.filter((l) => l.msg === 'on-demand retrieval');
    expect(logged.length).toBeGreaterThanOrEqual(audit.length);
    // The log names the transaction but not the requester's codice fiscale.
    expect(logged.some((l) => l.transaction === audit[0]!.transactionNumber)).toBe(true);
    expect(JSON.stringify(logged)).not.toContain(PATIENT_CF);
    expect(JSON.stringify(logged)).not.toContain(CLINICIAN_CF);
  });
});
