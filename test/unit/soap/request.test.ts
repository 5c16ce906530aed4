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

function faultOf(xml: string): SoapFaultError {
  try {
    parseOnDemandRequest(xml);
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
    expect(error.message).toMatch(/DOCTYPE is not allowed/);
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
    expect(faultOf(envelope(body({ codCL: '&nope;' }))).message).toMatch(/malformed XML/);
    const deep = `${'<r:x>'.repeat(40)}${'</r:x>'.repeat(40)}`;
    expect(faultOf(envelope(body({}, deep))).message).toMatch(/nested deeper/);
    expect(faultOf(envelope(body({}, '<r:y/>'.repeat(300)))).message).toMatch(/more than 200/);
    expect(faultOf('<s:Envelope xmlns:s="x"><unclosed>').message).toMatch(
      /malformed XML|not a SOAP/,
    );
  });

  it('names the element of a request that does not match the contract', () => {
    expect(faultOf(envelope(body({ formato: 'TIFF' }))).message).toMatch(/formato must be one of/);
    expect(faultOf(envelope(body({ codiceFiscaleAssistito: 'short' }))).message).toMatch(
      /codiceFiscaleAssistito must be 16 letters and digits/,
    );
    expect(faultOf(envelope(body({ codCL: '' }))).message).toMatch(/codCL is required/);
    expect(faultOf(envelope(body({}, '<r:extra>1</r:extra>'))).message).toMatch(
      /element extra is not expected/,
    );
    expect(faultOf(envelope(body({ tempoMassimoAttesaMs: '-5' }))).message).toMatch(
      /tempoMassimoAttesaMs must be a positive integer/,
    );
    expect(faultOf(envelope('<other xmlns="urn:x"/>')).message).toMatch(/unknown request element/);
    expect(faultOf(`<Envelope>${body()}</Envelope>`).message).toMatch(/not a SOAP/);
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
    expect(faultOf(envelope(swapped)).message).toMatch(/codCL is out of order/);
  });
});
