import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ON_DEMAND_NS,
  SOAP11_NS,
  SOAP12_NS,
  SoapFaultError,
  parseOnDemandRequest,
  parseSoapRequest,
  requestText,
  type ParseLimits,
} from '../../../src/soap/request.js';

function body(fields: Record<string, string> = {}, extra = ''): string {
  const values = {
    codiceFiscaleAssistito: 'RSSMRA80A01H501U',
    codCL: '010203',
    codDocumentoDipartimentale: 'RAD-2025-000123',
    formato: 'PDI_ZIP',
    ...fields,
  };
  return `<r:RecuperoDocumentoRequest xmlns:r="${ON_DEMAND_NS}">
    <r:richiedente>
      <r:codiceFiscale>VRDLGU70B02L219X</r:codiceFiscale><r:ruolo>MED</r:ruolo>
      <r:applicazione>FSE</r:applicazione><r:numeroTransazione>T-1</r:numeroTransazione>
      <r:ip>10.1.2.3</r:ip>
    </r:richiedente>
    ${Object.entries(values)
      .map(([name, value]) => `<r:${name}>${value}</r:${name}>`)
      .join('')}
    ${extra}
  </r:RecuperoDocumentoRequest>`;
}

function envelope(inner: string, ns = SOAP12_NS, prolog = ''): string {
  return `${prolog}<s:Envelope xmlns:s="${ns}"><s:Header/><s:Body>${inner}</s:Body></s:Envelope>`;
}

function faultOf(
  xml: string,
  parse: (xml: string) => unknown = parseOnDemandRequest,
): SoapFaultError {
  try {
    parse(xml);
  } catch (error) {
    expect(error).toBeInstanceOf(SoapFaultError);
    return error as SoapFaultError;
  }
  throw new Error('the request was accepted');
}

describe('on-demand request parsing', () => {
  it('reads a valid SOAP 1.2 and SOAP 1.1 request', () => {
    const v12 = parseOnDemandRequest(envelope(body({ tempoMassimoAttesaMs: '15000' })));
    expect(v12).toMatchObject({
      soapVersion: '1.2',
      codiceFiscaleAssistito: 'RSSMRA80A01H501U',
      formato: 'PDI_ZIP',
      deadlineMs: 15000,
      richiedente: { codiceFiscale: 'VRDLGU70B02L219X', ruolo: 'MED', numeroTransazione: 'T-1' },
    });
    expect(parseOnDemandRequest(envelope(body(), SOAP11_NS)).soapVersion).toBe('1.1');
  });

  it('refuses entity expansion (billion laughs) without expanding anything', () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`,
    ).join('')}]>`;
    const error = faultOf(envelope(body({ codCL: '&lol9;' }), SOAP12_NS, laughs));
    expect(error.message).toBe('una richiesta non può contenere una DOCTYPE');
  });

  it('refuses external entities (XXE) and reads no file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xxe-'));
    try {
      const secret = join(dir, 'secret.txt');
      writeFileSync(secret, 'TOP-SECRET');
      const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://${secret}">]>`;
      const error = faultOf(envelope(body({ codCL: '&x;' }), SOAP12_NS, xxe));
      expect(error.message).not.toContain('TOP-SECRET');
      expect(error.message).toMatch(/DOCTYPE/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses undefined entities, deep nesting, too many elements and broken XML', () => {
    expect(faultOf(envelope(body({ codCL: '&nope;' }))).message).toMatch(
      /^XML malformato alla riga \d+, colonna \d+$/,
    );
    const deep = `${'<r:x>'.repeat(40)}${'</r:x>'.repeat(40)}`;
    expect(faultOf(envelope(body({}, deep))).message).toMatch(/annidati a più di 16 livelli/);
    expect(faultOf(envelope(body({}, '<r:y/>'.repeat(300)))).message).toBe('più di 200 elementi');
    expect(faultOf('<s:Envelope xmlns:s="x"><unclosed>').message).toMatch(
      /XML malformato|non è un Envelope SOAP/,
    );
  });

  it('names the element of a request that does not match the contract', () => {
    expect(faultOf(envelope(body({ formato: 'TIFF' }))).message).toBe(
      "l'elemento formato deve essere uno tra PDI_ZIP, KOS, ANTEPRIMA_JPEG",
    );
    expect(faultOf(envelope(body({ codiceFiscaleAssistito: 'short' }))).message).toMatch(
      /codiceFiscaleAssistito deve essere di 16 lettere e cifre/,
    );
    expect(faultOf(envelope(body({ codCL: '' }))).message).toBe("l'elemento codCL è obbligatorio");
    expect(faultOf(envelope(body({}, '<r:extra>1</r:extra>'))).message).toMatch(
      /l'elemento extra non è previsto in RecuperoDocumentoRequest/,
    );
    expect(faultOf(envelope(body({ tempoMassimoAttesaMs: '-5' }))).message).toMatch(
      /tempoMassimoAttesaMs deve essere un intero positivo/,
    );
    expect(faultOf(envelope('<other xmlns="urn:x"/>')).message).toBe(
      'elemento di richiesta sconosciuto: other',
    );
    expect(faultOf(`<Envelope>${body()}</Envelope>`).message).toMatch(/non è un Envelope SOAP/);
  });

  it('accepts the example request of docs/on-demand.md', () => {
    const doc = readFileSync(new URL('../../../docs/on-demand.md', import.meta.url), 'utf8');
    const example = /```xml\n([\s\S]*?)```/.exec(doc)![1]!;
    const request = parseOnDemandRequest(example);
    expect(request.soapVersion).toBe('1.2');
    expect(request.codDocumentoDipartimentale).toBe('RAD-2025-000123');
    expect(request.deadlineMs).toBe(20000);
  });

  it('refuses elements out of the schema order, naming the element', () => {
    const swapped = body().replace(
      /(<r:codCL>[^<]*<\/r:codCL>)(<r:codDocumentoDipartimentale>[^<]*<\/r:codDocumentoDipartimentale>)/,
      '$2$1',
    );
    expect(faultOf(envelope(swapped)).message).toMatch(/codCL è fuori ordine/);
  });

  it('stops at the first element over a limit instead of reading on to the end', () => {
    // Both limits are read for each element as long as the parse goes on (and once more for the
    // message): the count of reads tells how far it went past the refusal, without timing it.
    let reads = 0;
    const limits: ParseLimits = {
      get maxDepth() {
        reads++;
        return 16;
      },
      get maxElements() {
        reads++;
        return 100;
      },
      maxTextLength: 1024,
    };
    const parse = (xml: string): unknown => parseSoapRequest(xml, limits);
    const open = `<s:Envelope xmlns:s="${SOAP12_NS}"><s:Body>`;
    expect(faultOf(`${open}${'<a>'.repeat(5000)}`, parse).message).toMatch(/più di 16 livelli/);
    expect(reads).toBeLessThanOrEqual(2 * (16 + 1) + 1);
    reads = 0;
    expect(faultOf(`${open}<a>${'<b/>'.repeat(5000)}`, parse).message).toMatch(/più di 100/);
    expect(reads).toBeLessThanOrEqual(2 * (100 + 1) + 1);
  });

  it('refuses a codCL holding "^", which joins it to the document id in a report key', () => {
    expect(faultOf(envelope(body({ codCL: 'ASL2^REP' }))).message).toMatch(
      /codCL non può contenere "\^"/,
    );
  });

  it('counts CDATA against the text limit', () => {
    const cdata = `<![CDATA[${'x'.repeat(1000)}]]>`;
    expect(faultOf(envelope(body({ codCL: `${cdata}${cdata}` }))).message).toMatch(
      /l'elemento codCL ha più di 1024 caratteri/,
    );
  });

  it('refuses DEL, C1 controls, U+FFFD and line separators in a value, naming the character', () => {
    for (const [c, name] of [
      ['\u007f', 'U+007F'],
      ['\u0085', 'U+0085'],
      ['\u009f', 'U+009F'],
      ['\ufffd', 'U+FFFD'],
      ['\u2028', 'U+2028'],
      ['\u2029', 'U+2029'],
      ['&#x9;', 'U+0009'],
    ])
      expect(faultOf(envelope(body({ codDocumentoDipartimentale: `RAD${c}1` }))).message).toBe(
        `l'elemento codDocumentoDipartimentale contiene ${name}, che non è testo`,
      );
    const accented = parseOnDemandRequest(
      envelope(body({ codDocumentoDipartimentale: 'RAD-CITTÀ-€-1' })),
    );
    expect(accented.codDocumentoDipartimentale).toBe('RAD-CITTÀ-€-1');
  });

  it('keeps with a refusal what could be read of the request, for its audit', () => {
    const xml = envelope(body({ formato: 'TIFF' }))
      .replace('<r:applicazione>FSE<', `<r:applicazione>${'A'.repeat(65)}<`)
      .replace('<r:ip>10.1.2.3<', '<r:ip>10.1.2.3&#x85;<')
      .replace('VRDLGU70B02L219X', 'vrdlgu70b02l219x');
    expect(faultOf(xml).readable).toEqual({
      codiceFiscale: 'VRDLGU70B02L219X',
      ruolo: 'MED',
      numeroTransazione: 'T-1',
      codCL: '010203',
      codDocumentoDipartimentale: 'RAD-2025-000123',
      formato: 'TIFF',
    });
    expect(faultOf(envelope('<other xmlns="urn:x"/>')).readable).toEqual({});
    expect(faultOf('<s:Envelope xmlns:s="x"><unclosed>').readable).toEqual({});
  });

  it('takes exactly one Body, after at most one Header', () => {
    const open = `<s:Envelope xmlns:s="${SOAP12_NS}">`;
    const bodyPart = `<s:Body>${body()}</s:Body>`;
    expect(parseSoapRequest(`${open}${bodyPart}</s:Envelope>`).kind).toBe('recupero');
    for (const parts of [
      `${bodyPart}${bodyPart}`,
      `<s:Header/><s:Header/>${bodyPart}`,
      `${bodyPart}<s:Header/>`,
      `<s:Header/>`,
      `<s:Header/>${bodyPart}<s:Body/>`,
    ])
      expect(faultOf(`${open}${parts}</s:Envelope>`).message, parts).toBe(
        "l'Envelope deve contenere un solo Body, dopo al massimo un Header",
      );
  });
});

describe('request body decoding', () => {
  const declared = (encoding: string, value = 'x'): string =>
    `<?xml version="1.0" encoding="${encoding}"?><v>${value}</v>`;
  const refusal = (body: Buffer, charset: string | undefined): SoapFaultError => {
    try {
      requestText(body, charset);
    } catch (error) {
      expect(error).toBeInstanceOf(SoapFaultError);
      return error as SoapFaultError;
    }
    throw new Error('the body was decoded');
  };

  it('decodes ISO-8859-1 as such and UTF-8 strictly', () => {
    const latin1 = Buffer.from(declared('ISO-8859-1', 'Città'), 'latin1');
    expect(requestText(latin1, 'iso-8859-1')).toBe(declared('ISO-8859-1', 'Città'));
    // Without a charset, the declaration says how (RFC 7303).
    expect(requestText(latin1, undefined)).toBe(declared('ISO-8859-1', 'Città'));
    const utf8 = Buffer.from(declared('UTF-8', 'Città €'));
    expect(requestText(utf8, 'UTF-8')).toBe(declared('UTF-8', 'Città €'));
    expect(requestText(utf8, undefined)).toBe(declared('UTF-8', 'Città €'));
    expect(requestText(Buffer.from('<v>€</v>'), 'utf-8')).toBe('<v>€</v>');
  });

  it('refuses bytes that are not UTF-8 instead of replacing them', () => {
    const latin1 = Buffer.from('<v>Città</v>', 'latin1');
    for (const charset of ['utf-8', undefined]) {
      const error = refusal(latin1, charset);
      expect(error.message).toBe('il corpo della richiesta non è UTF-8 valido');
      expect(error.code).toBe('Sender');
      expect(error.httpStatus).toBeUndefined();
    }
  });

  it('refuses other charsets with HTTP 415, naming them', () => {
    const utf16 = refusal(Buffer.from('<v/>', 'utf16le'), 'UTF-16');
    expect(utf16.message).toBe('il charset "UTF-16" non è supportato: inviare UTF-8 o ISO-8859-1');
    expect(utf16.httpStatus).toBe(415);
    // windows-1252 is not ISO-8859-1, whatever WHATWG's labels say.
    expect(refusal(Buffer.from(declared('windows-1252')), undefined).message).toMatch(
      /charset "windows-1252" non è supportato/,
    );
  });

  it('refuses an XML declaration that disagrees with the charset, naming both', () => {
    expect(refusal(Buffer.from(declared('ISO-8859-1')), 'utf-8').message).toBe(
      'la dichiarazione XML indica la codifica "ISO-8859-1" ma il Content-Type il charset "utf-8"',
    );
    expect(refusal(Buffer.from(declared('UTF-16')), 'utf-8').message).toMatch(/"UTF-16".*"utf-8"/);
    expect(refusal(Buffer.from(declared('UTF-8'), 'latin1'), 'latin1').message).toMatch(
      /"UTF-8".*"latin1"/,
    );
  });
});
