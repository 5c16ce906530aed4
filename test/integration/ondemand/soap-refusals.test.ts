import { SaxesParser, type SaxesTagNS } from 'saxes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import {
  CALLER,
  CLINICIAN_CF,
  basicAuth,
  endpointOf,
  requestXml,
} from '../../helpers/on-demand.js';
import { SOAP11_NS, SOAP12_NS } from '../../../src/soap/request.js';

/*
 * Requests refused before they reach the retrieval service, at every stage: credentials, content
 * type, size, charset, MTOM framing, XML, hostile XML, header blocks, schema. Each is answered
 * with a SOAP Fault whose text is Italian and says so, and audited with what can be read of the
 * caller and the reason.
 */

const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const BODY_LIMIT = 16 * 1024;
let bridge: TestBridge;

beforeAll(async () => {
  bridge = await startBridge({
    onDemand: { authKind: 'basic', ...CALLER, bodyLimitBytes: BODY_LIMIT },
  });
}, 120_000);

afterAll(async () => {
  await disposeBridge(bridge);
});

/** One refused request: what is sent, and the status and fault text it gets. */
interface Refusal {
  name: string;
  version: '1.1' | '1.2';
  body: string | Buffer;
  contentType?: string;
  auth?: string | null;
  status: number;
  reason: string | RegExp;
  /** The audit row's report key: '' when the request names none readably. */
  key: string;
  /** Whether the requester's fields can be read from the request. */
  readable: boolean;
  /** The audit row's format, when the request names one readably. */
  format?: string;
}

const DOCUMENT_KEY = '010203^RAD-REFUSED';

const valid = (version: '1.1' | '1.2' = '1.2', transaction?: string): string => {
  const xml = requestXml({ codDocumentoDipartimentale: 'RAD-REFUSED', formato: 'KOS' }, version);
  return transaction === undefined
    ? xml
    : xml.replace(/<r:numeroTransazione>[^<]*</, `<r:numeroTransazione>${transaction}<`);
};

const REFUSALS: Refusal[] = [
  {
    name: 'no credentials',
    version: '1.2',
    body: valid(),
    auth: null,
    status: 401,
    reason: 'autenticazione richiesta',
    key: '',
    readable: false,
  },
  {
    name: 'wrong credentials, SOAP 1.1',
    version: '1.1',
    body: valid('1.1'),
    auth: `Basic ${Buffer.from(`${CALLER.username}:sbagliata`).toString('base64')}`,
    status: 401,
    reason: 'autenticazione richiesta',
    key: '',
    readable: false,
  },
  {
    name: 'content type',
    version: '1.2',
    body: '{"codCL": "010203"}',
    contentType: 'application/json',
    status: 415,
    reason: 'la richiesta deve essere text/xml, application/soap+xml o multipart/related',
    key: '',
    readable: false,
  },
  {
    name: 'oversized body',
    version: '1.2',
    body: valid().replace(
      '<s:Body>',
      `<s:Header><x>${'A'.repeat(BODY_LIMIT)}</x></s:Header><s:Body>`,
    ),
    status: 413,
    reason: 'il corpo della richiesta supera la dimensione consentita',
    key: '',
    readable: false,
  },
  {
    name: 'charset',
    version: '1.2',
    body: Buffer.from(valid(), 'utf16le'),
    contentType: 'application/soap+xml; charset=utf-16',
    status: 415,
    reason: 'il charset "utf-16" non è supportato: inviare UTF-8 o ISO-8859-1',
    key: '',
    readable: false,
  },
  {
    name: 'MTOM without boundary',
    version: '1.2',
    body: valid(),
    contentType: 'multipart/related; type="application/xop+xml"',
    status: 400,
    reason: 'richiesta MTOM: manca il parametro boundary',
    key: '',
    readable: false,
  },
  {
    name: 'malformed XML',
    version: '1.2',
    body: '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">\n<s:Body></s:Bodi>',
    status: 400,
    reason: /^XML malformato alla riga 2, colonna \d+$/,
    key: '',
    readable: false,
  },
  {
    name: 'DOCTYPE (entity expansion)',
    version: '1.2',
    body: `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>${valid().replace(/^<\?xml[^>]*>/, '')}`,
    status: 400,
    reason: 'una richiesta non può contenere una DOCTYPE',
    key: '',
    readable: false,
  },
  {
    name: 'schema, SOAP 1.1',
    version: '1.1',
    body: valid('1.1').replace('>KOS<', '>TIFF<'),
    status: 500,
    reason: "l'elemento formato deve essere uno tra PDI_ZIP, KOS, ANTEPRIMA_JPEG",
    key: DOCUMENT_KEY,
    readable: true,
    format: 'TIFF',
  },
  {
    name: 'schema, missing element',
    version: '1.2',
    body: valid().replace(/<r:codCL>[^<]*<\/r:codCL>/, ''),
    status: 400,
    reason: "l'elemento codCL è obbligatorio",
    key: '',
    readable: true,
    format: 'KOS',
  },
  {
    name: 'mustUnderstand',
    version: '1.2',
    body: valid().replace(
      '<s:Body>',
      `<s:Header><wsse:Security xmlns:wsse="${WSSE}" s:mustUnderstand="true"/></s:Header><s:Body>`,
    ),
    status: 500,
    reason: `blocchi di intestazione con mustUnderstand non elaborati da questo servizio: {${WSSE}}Security`,
    key: DOCUMENT_KEY,
    readable: true,
    format: 'KOS',
  },
];

async function send(refusal: Refusal): Promise<Response> {
  const headers: Record<string, string> = {
    'content-type':
      refusal.contentType ??
      (refusal.version === '1.2'
        ? 'application/soap+xml; charset=utf-8'
        : 'text/xml; charset=utf-8'),
  };
  if (refusal.auth !== null) headers.authorization = refusal.auth ?? basicAuth();
  return fetch(endpointOf(bridge), { method: 'POST', headers, body: refusal.body });
}

/** The fault texts of an answer, with their xml:lang (SOAP 1.2 Reason/Text, SOAP 1.1 faultstring). */
function faultTexts(xml: string): Array<{ lang: string | undefined; text: string }> {
  const parser = new SaxesParser({ xmlns: true });
  const texts: Array<{ lang: string | undefined; text: string }> = [];
  let open: { lang: string | undefined; text: string } | undefined;
  parser.on('opentag', (tag) => {
    const t = tag as SaxesTagNS;
    if ((t.uri === SOAP12_NS && t.local === 'Text') || (t.uri === '' && t.local === 'faultstring'))
      open = { lang: t.attributes['xml:lang']?.value, text: '' };
  });
  parser.on('text', (text) => {
    if (open) open.text += text;
  });
  parser.on('closetag', () => {
    if (open) texts.push(open);
    open = undefined;
  });
  parser.write(xml).close();
  return texts;
}

describe('faults of refused requests', () => {
  it('are written in Italian and labelled xml:lang="it", SOAP 1.1 and 1.2, at every stage', async () => {
    for (const refusal of REFUSALS) {
      const answer = await send(refusal);
      const text = await answer.text();
      expect(answer.status, refusal.name).toBe(refusal.status);
      expect(text, refusal.name).toContain(refusal.version === '1.2' ? SOAP12_NS : SOAP11_NS);
      const texts = faultTexts(text);
      expect(texts, `${refusal.name}: ${text}`).toHaveLength(1);
      expect(texts[0]!.lang, refusal.name).toBe('it');
      if (typeof refusal.reason === 'string') expect(texts[0]!.text).toBe(refusal.reason);
      else expect(texts[0]!.text).toMatch(refusal.reason);
    }
  });
});

describe('refused requests', () => {
  it('are audited with what can be read of the caller, its address, its HTTP user and the reason', async () => {
    const store = bridge.app.reporting.onDemand.store;
    for (const refusal of REFUSALS) {
      const before = store.auditOf(refusal.key).length;
      const answer = await send(refusal);
      const reason = faultTexts(await answer.text())[0]?.text;
      const rows = store.auditOf(refusal.key);
      expect(rows, refusal.name).toHaveLength(before + 1);
      const row = rows.at(-1)!;
      expect(row, refusal.name).toMatchObject({ outcome: 'refused', bytes: 0 });
      expect(row.errorKind, refusal.name).toBe('invalid-request');
      expect(row.refusal?.reason, refusal.name).toBe(reason);
      expect(row.refusal?.remoteAddress, refusal.name).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
      // The user name the caller gave, right or wrong; none when it gave no credentials.
      expect(row.refusal?.httpUser, refusal.name).toBe(
        refusal.auth === null ? undefined : CALLER.username,
      );
      const transaction = /<r:numeroTransazione>([^<]+)</.exec(String(refusal.body))?.[1];
      expect(
        [row.requesterCodiceFiscale, row.role, row.application, row.transactionNumber, row.ip],
        refusal.name,
      ).toEqual(
        refusal.readable
          ? [CLINICIAN_CF, 'MED', 'FSE-PIEMONTE', transaction, '10.1.2.3']
          : ['', '', '', '', ''],
      );
      expect(row.format, refusal.name).toBe(refusal.format ?? '');
    }
    // None of them reached the retrieval service.
    expect(bridge.logs.filter((l) => l.msg === 'on-demand retrieval')).toEqual([]);
  });
});
