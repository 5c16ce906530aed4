import { join } from 'node:path';
import { SaxesParser, type SaxesTagNS } from 'saxes';
import soap from 'soap';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import {
  CALLER,
  basicAuth,
  callOperation,
  endpointOf,
  push,
  registerMrReport,
  requestArgs,
  requestXml,
  soapClient,
} from '../../helpers/on-demand.js';
import { SAMPLES_DIR, filesUnder } from '../../helpers/samples.js';
import { SOAP12_NS } from '../../../src/soap/request.js';

/*
 * A client that sends a WS-Security header marked mustUnderstand, as a client generated from the
 * WSDL with WS-Security turned on does: the bridge processes no header block yet, so it must not
 * serve the request as though the header were not there, but answer the MustUnderstand fault.
 */

const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const DOCUMENT = 'RAD-MU';
let bridge: TestBridge;

beforeAll(async () => {
  bridge = await startBridge({ onDemand: { authKind: 'basic', ...CALLER } });
  await push(bridge, filesUnder(join(SAMPLES_DIR, 'studies', '98892003', 'MR1')));
  await registerMrReport(bridge, DOCUMENT);
}, 120_000);

afterAll(async () => {
  await disposeBridge(bridge);
});

/** Whether the retrieval service answered the request of transaction `transaction`. */
function answered(transaction: string): boolean {
  return bridge.logs.some((l) => l.msg === 'on-demand retrieval' && l.transaction === transaction);
}

/** A client from the WSDL that signs its requests with a UsernameToken marked mustUnderstand. */
async function wsSecurityClient(version: '1.1' | '1.2'): Promise<soap.Client> {
  const client = await soapClient(bridge, version);
  client.setSecurity(new soap.WSSecurity('operatore', 'segreto', { mustUnderstand: true }));
  client.addHttpHeader('Authorization', basicAuth());
  return client;
}

/** The NotUnderstood header blocks of a SOAP 1.2 answer, as {namespace}local. */
function notUnderstood(xml: string): string[] {
  const parser = new SaxesParser({ xmlns: true });
  const names: string[] = [];
  const path: string[] = [];
  parser.on('opentag', (tag) => {
    const open = tag as SaxesTagNS;
    path.push(`{${open.uri}}${open.local}`);
    if (
      path.join('/') === `{${SOAP12_NS}}Envelope/{${SOAP12_NS}}Header/{${SOAP12_NS}}NotUnderstood`
    ) {
      const qname = open.attributes.qname!.value;
      const [prefix, local] = qname.includes(':') ? qname.split(':') : ['', qname];
      names.push(`{${parser.resolve(prefix!) ?? ''}}${local}`);
    }
  });
  parser.on('closetag', () => void path.pop());
  parser.write(xml).close();
  return names;
}

describe('header blocks marked mustUnderstand', () => {
  it('answers a SOAP 1.1 client sending wsse:Security mustUnderstand="1" with a MustUnderstand fault, HTTP 500, serving nothing', async () => {
    const client = await wsSecurityClient('1.1');
    const args = requestArgs({ codDocumentoDipartimentale: DOCUMENT, formato: 'KOS' });
    const transaction = (args.richiedente as { numeroTransazione: string }).numeroTransazione;
    const error = await callOperation(client, '1.1', 'RecuperoDocumento', args).then(
      () => undefined,
      (e: Error & { response?: { status: number; data: unknown } }) => e,
    );
    expect(client.lastRequest).toMatch(/<wsse:Security [^>]*soap:mustUnderstand="1"/);
    expect(error?.response?.status).toBe(500);
    const text = String(error?.response?.data);
    expect(text).toMatch(/<faultcode>soap:MustUnderstand<\/faultcode>/);
    expect(text).toContain('Security');
    expect(answered(transaction)).toBe(false);
  });

  it('answers SOAP 1.2 with Code MustUnderstand and a NotUnderstood header block naming the QName', async () => {
    const client = await wsSecurityClient('1.2');
    const error = await callOperation(
      client,
      '1.2',
      'RecuperoDocumento',
      requestArgs({ codDocumentoDipartimentale: DOCUMENT, formato: 'KOS' }),
    ).then(
      () => undefined,
      (e: Error & { response?: { status: number; data: unknown } }) => e,
    );
    expect(error?.response?.status).toBe(500);
    const text = String(error?.response?.data);
    expect(text).toMatch(/<soap:Code><soap:Value>soap:MustUnderstand<\/soap:Value><\/soap:Code>/);
    expect(notUnderstood(text)).toEqual([`{${WSSE}}Security`]);
  });

  it('serves the same request when the block is for another role, and refuses it for "next"', async () => {
    const post = (role: string): Promise<Response> => {
      const xml = requestXml({ codDocumentoDipartimentale: DOCUMENT, formato: 'KOS' }).replace(
        '<s:Body>',
        `<s:Header><wsse:Security xmlns:wsse="${WSSE}" s:mustUnderstand="true" s:role="${SOAP12_NS}/role/${role}"/></s:Header><s:Body>`,
      );
      return fetch(endpointOf(bridge), {
        method: 'POST',
        headers: { 'content-type': 'application/soap+xml', authorization: basicAuth() },
        body: xml,
      });
    };
    const none = await post('none');
    expect(none.status).toBe(200);
    expect(await none.text()).toContain('<tns:esito>SUCCESSO</tns:esito>');
    const next = await post('next');
    expect(next.status).toBe(500);
    expect(notUnderstood(await next.text())).toEqual([`{${WSSE}}Security`]);
  });
});
