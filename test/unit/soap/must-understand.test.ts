import { describe, expect, it } from 'vitest';
import {
  ON_DEMAND_NS,
  SOAP11_NS,
  SOAP12_NS,
  SoapFaultError,
  parseSoapRequest,
} from '../../../src/soap/request.js';

/*
 * The SOAP processing model for header blocks: one addressed to this node (no actor or role,
 * "next", or the ultimate receiver) and marked mustUnderstand is refused with a MustUnderstand
 * fault unless the bridge declares it understands it; everything else in the Header is ignored.
 */

const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const NEXT_11 = 'http://schemas.xmlsoap.org/soap/actor/next';
const ROLE = (name: string): string => `${SOAP12_NS}/role/${name}`;

const REQUEST = `<r:RecuperoDocumentoRequest xmlns:r="${ON_DEMAND_NS}"><r:richiedente><r:codiceFiscale>VRDLGU70B02L219X</r:codiceFiscale><r:ruolo>MED</r:ruolo><r:applicazione>FSE</r:applicazione><r:numeroTransazione>T-1</r:numeroTransazione><r:ip>10.1.2.3</r:ip></r:richiedente><r:codiceFiscaleAssistito>RSSMRA80A01H501U</r:codiceFiscaleAssistito><r:codCL>010203</r:codCL><r:codDocumentoDipartimentale>RAD-1</r:codDocumentoDipartimentale><r:formato>KOS</r:formato></r:RecuperoDocumentoRequest>`;

/** An envelope of `ns` whose Header holds `blocks`; `s` is the envelope's prefix. */
function envelope(ns: string, blocks: string, body = REQUEST): string {
  return `<s:Envelope xmlns:s="${ns}" xmlns:wsse="${WSSE}"><s:Header>${blocks}</s:Header><s:Body>${body}</s:Body></s:Envelope>`;
}

function refusal(xml: string, understood?: unknown): SoapFaultError {
  try {
    parseSoapRequest(xml, undefined, understood as never);
  } catch (error) {
    expect(error).toBeInstanceOf(SoapFaultError);
    return error as SoapFaultError;
  }
  throw new Error('the request was accepted');
}

/** The QNames a MustUnderstand fault names, as {namespace}local. */
function notUnderstood(error: SoapFaultError): string[] {
  expect(error.code).toBe('MustUnderstand');
  return (
    error as SoapFaultError & { notUnderstood: Array<{ ns: string; local: string }> }
  ).notUnderstood.map((q) => `{${q.ns}}${q.local}`);
}

describe('mustUnderstand header blocks, SOAP 1.1', () => {
  it('refuses a mandatory block with no actor or actor "next" that the bridge does not process', () => {
    for (const block of [
      '<wsse:Security s:mustUnderstand="1"/>',
      `<wsse:Security s:mustUnderstand="1" s:actor="${NEXT_11}"><wsse:UsernameToken/></wsse:Security>`,
      '<wsse:Security s:mustUnderstand=" true "/>',
    ]) {
      const error = refusal(envelope(SOAP11_NS, block));
      expect(notUnderstood(error), block).toEqual([`{${WSSE}}Security`]);
      expect(error.httpStatus).toBeUndefined();
    }
  });

  it('serves a block that is optional, for another actor, or marked in another namespace', () => {
    for (const block of [
      '<wsse:Security/>',
      '<wsse:Security s:mustUnderstand="0"/>',
      '<wsse:Security s:mustUnderstand="false"/>',
      '<wsse:Security s:mustUnderstand="1" s:actor="urn:other-node"/>',
      // The SOAP 1.2 attribute means nothing in a SOAP 1.1 envelope, nor does an unqualified one.
      `<wsse:Security xmlns:e="${SOAP12_NS}" e:mustUnderstand="true"/>`,
      '<wsse:Security mustUnderstand="1"/>',
    ])
      expect(parseSoapRequest(envelope(SOAP11_NS, block)).kind, block).toBe('recupero');
  });
});

describe('mustUnderstand header blocks, SOAP 1.2', () => {
  it('refuses a mandatory block for this node: no role, "next" or "ultimateReceiver"', () => {
    for (const block of [
      '<wsse:Security s:mustUnderstand="true"/>',
      '<wsse:Security s:mustUnderstand="1"/>',
      `<wsse:Security s:mustUnderstand="true" s:role="${ROLE('next')}"/>`,
      `<wsse:Security s:mustUnderstand="true" s:role="${ROLE('ultimateReceiver')}"/>`,
    ])
      expect(notUnderstood(refusal(envelope(SOAP12_NS, block))), block).toEqual([
        `{${WSSE}}Security`,
      ]);
  });

  it('serves a block that is optional, for role "none" or another role', () => {
    for (const block of [
      '<wsse:Security s:mustUnderstand="false"/>',
      '<wsse:Security s:mustUnderstand="0"/>',
      `<wsse:Security s:mustUnderstand="true" s:role="${ROLE('none')}"/>`,
      '<wsse:Security s:mustUnderstand="true" s:role="urn:a-gateway"/>',
      `<wsse:Security xmlns:o="${SOAP11_NS}" o:mustUnderstand="1"/>`,
    ])
      expect(parseSoapRequest(envelope(SOAP12_NS, block)).kind, block).toBe('recupero');
  });

  it('names every block not understood, with its namespace, unqualified ones too', () => {
    const error = refusal(
      envelope(
        SOAP12_NS,
        '<wsse:Security s:mustUnderstand="true"/><t:Trace xmlns:t="urn:trace"/><t:Audit xmlns:t="urn:audit" s:mustUnderstand="1"/><Plain s:mustUnderstand="true"/>',
      ),
    );
    expect(notUnderstood(error)).toEqual([`{${WSSE}}Security`, '{urn:audit}Audit', '{}Plain']);
    expect(error.message).toContain('Security');
  });

  it('refuses before the body is read: a MustUnderstand fault, not a schema fault', () => {
    const error = refusal(
      envelope(
        SOAP12_NS,
        '<wsse:Security s:mustUnderstand="true"/>',
        '<r:Nonsense xmlns:r="urn:x"/>',
      ),
    );
    expect(notUnderstood(error)).toEqual([`{${WSSE}}Security`]);
  });

  it('refuses a mustUnderstand value that is not a boolean, naming the block', () => {
    const error = refusal(envelope(SOAP12_NS, '<wsse:Security s:mustUnderstand="yes"/>'));
    expect(error.code).toBe('Sender');
    expect(error.message).toContain('Security');
  });

  it('accepts a mandatory block whose QName the bridge declares it understands', () => {
    const understood = [{ ns: WSSE, local: 'Security' }];
    for (const ns of [SOAP11_NS, SOAP12_NS]) {
      const xml = envelope(ns, '<wsse:Security s:mustUnderstand="1"/>');
      expect(parseSoapRequest(xml, undefined, understood).kind).toBe('recupero');
    }
    const other = envelope(
      SOAP12_NS,
      '<wsse:Security s:mustUnderstand="1"/><t:Audit xmlns:t="urn:audit" s:mustUnderstand="1"/>',
    );
    expect(notUnderstood(refusal(other, understood))).toEqual(['{urn:audit}Audit']);
  });
});
