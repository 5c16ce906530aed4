import {
  DEFAULT_LIMITS,
  parseTree,
  senderFault,
  SoapFaultError,
  type ParseLimits,
  type XmlNode,
} from './xml-tree.js';

import { bodyOf, openEnvelope } from './envelope.js';
import { UNDERSTOOD_HEADERS, type QName } from './header-blocks.js';
import { ON_DEMAND_NS } from './namespaces.js';

export { DEFAULT_LIMITS, SoapFaultError, type ParseLimits } from './xml-tree.js';
export { ON_DEMAND_NS, SOAP11_NS, SOAP12_NS } from './namespaces.js';

export type Formato = 'PDI_ZIP' | 'KOS' | 'ANTEPRIMA_JPEG';

/** A "recupero documento on demand" request, validated. */
export interface OnDemandRequest {
  soapVersion: '1.1' | '1.2';
  richiedente: {
    codiceFiscale: string;
    ruolo: string;
    applicazione: string;
    numeroTransazione: string;
    ip: string;
  };
  codiceFiscaleAssistito: string;
  codCL: string;
  codDocumentoDipartimentale: string;
  idDocumentoIlec: string | undefined;
  accessionNumber: string | undefined;
  formato: Formato;
  /** The caller's deadline, when it gives one (`tempoMassimoAttesaMs`). */
  deadlineMs: number | undefined;
  /**
   * Earlier codici fiscali of the patient (GetDocumento's storicoPaziente): a report registered
   * under one of them is the patient's too.
   */
  codiciFiscaliPrecedenti?: readonly string[];
}

/**
 * Characters no field holds: C0 and C1 controls and DEL, U+FFFD (what a decoder puts for bytes it
 * could not read) and the Unicode line and paragraph separators. C1 controls and U+FFFD are the
 * marks of text decoded with the wrong charset; tabs and line breaks at the ends of a value are
 * trimmed before the check.
 */
// eslint-disable-next-line no-control-regex
export const NOT_TEXT = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffd]/u;

/** A character as U+XXXX. */
function codePoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}
export const CODICE_FISCALE = /^[A-Z0-9]{16}$/;
const FORMATS: readonly Formato[] = ['PDI_ZIP', 'KOS', 'ANTEPRIMA_JPEG'];

/** Longest text of the fields that name the caller and the document (the schema's). */
export const LENGTHS = {
  codiceFiscale: 16,
  ruolo: 32,
  applicazione: 64,
  numeroTransazione: 128,
  ip: 45,
  codCL: 64,
  codDocumentoDipartimentale: 256,
  formato: 20,
} as const;

/** The fields of `richiedente`, in the schema's order. */
const REQUESTER_FIELDS = ['codiceFiscale', 'ruolo', 'applicazione', 'numeroTransazione', 'ip'];

/**
 * What could be read of a refused request, for its audit: the requester's fields, the document
 * and the format, each as given when it is text within its length.
 */
export type ReadableFields = Partial<Record<keyof typeof LENGTHS, string>>;

/**
 * Children of `node` in our namespace by local name, in the schema's order (`allowed`, an
 * xs:sequence); unknown, repeated or misplaced elements are refused.
 */
function fields(node: XmlNode, allowed: readonly string[]): Map<string, XmlNode> {
  const found = new Map<string, XmlNode>();
  let last = -1;
  for (const child of node.children) {
    const position = allowed.indexOf(child.name);
    if (child.ns !== ON_DEMAND_NS || position < 0)
      throw senderFault(`l'elemento ${child.name} non è previsto in ${node.name}`);
    if (found.has(child.name))
      throw senderFault(`l'elemento ${child.name} compare due volte in ${node.name}`);
    if (position < last)
      throw senderFault(
        `l'elemento ${child.name} è fuori ordine in ${node.name} (ordine previsto: ${allowed.join(', ')})`,
      );
    last = position;
    found.set(child.name, child);
  }
  return found;
}

function text(found: Map<string, XmlNode>, name: string, max: number, required: true): string;
function text(
  found: Map<string, XmlNode>,
  name: string,
  max: number,
  required: false,
): string | undefined;
function text(
  found: Map<string, XmlNode>,
  name: string,
  max: number,
  required: boolean,
): string | undefined {
  const node = found.get(name);
  const value = node?.text.trim();
  if (node && node.children.length > 0)
    throw senderFault(`l'elemento ${name} deve contenere solo testo`);
  if (value === undefined || value === '') {
    if (required) throw senderFault(`l'elemento ${name} è obbligatorio`);
    return undefined;
  }
  if (value.length > max)
    throw senderFault(`l'elemento ${name} deve avere al massimo ${max} caratteri di testo`);
  const notText = NOT_TEXT.exec(value)?.[0];
  if (notText !== undefined)
    throw senderFault(`l'elemento ${name} contiene ${codePoint(notText)}, che non è testo`);
  return value;
}

/** An obscuration change sent by the FSE (NotificaVariazioneMetadati), validated. */
export interface ObscurationNotice {
  soapVersion: '1.1' | '1.2';
  codCL: string;
  codDocumentoDipartimentale: string;
  idDocumentoIlec: string | undefined;
  /** P99, P97, P98 or P00. */
  codiceEvento: 'P99' | 'P97' | 'P98' | 'P00';
  /** Who sent the change (the FSE, a portal, an operator). */
  sorgente: string;
}

/** The operations of the endpoint. */
export type SoapRequest =
  | { kind: 'recupero'; request: OnDemandRequest }
  | { kind: 'variazione'; request: ObscurationNotice };

/** The charsets a request may be sent in, by lower-case label, and how each is decoded. */
const CHARSETS = new Map<string, 'utf-8' | 'latin1'>([
  ['utf-8', 'utf-8'],
  ['utf8', 'utf-8'],
  // A subset of UTF-8: decoded as UTF-8, so bytes above 0x7F are read, not refused.
  ['us-ascii', 'utf-8'],
  // Buffer's latin1 is ISO-8859-1 itself (WHATWG's "iso-8859-1" label is windows-1252).
  ['iso-8859-1', 'latin1'],
  ['iso_8859-1', 'latin1'],
  ['latin1', 'latin1'],
]);
const XML_DECLARED_ENCODING = /^(?:\xef\xbb\xbf)?<\?xml\s[^>]*?\sencoding\s*=\s*["']([^"'>]*)["']/;
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A charset label of the request, quoted and cut to the 40 characters a charset name has. */
function label(name: string): string {
  return JSON.stringify(name.slice(0, 40));
}

/**
 * The text of a request body, decoded as `charset` says (the Content-Type's parameter, or that
 * of the root part of an MTOM request); without one, as the XML declaration says (RFC 7303), and
 * without that, as UTF-8. Only UTF-8 (with its subset US-ASCII) and ISO-8859-1 are taken. What
 * would otherwise be read wrong is refused, not repaired: another charset (a fault with HTTP
 * 415), bytes that are not UTF-8, an XML declaration that names an encoding other than the one
 * the body is decoded as.
 */
export function requestText(body: Buffer, charset: string | undefined): string {
  // The declaration is ASCII in either charset, so it can be read before the body is decoded.
  const declared = XML_DECLARED_ENCODING.exec(body.toString('latin1'))?.[1];
  const name = charset ?? declared ?? 'utf-8';
  const decoding = CHARSETS.get(name.toLowerCase());
  if (!decoding)
    throw new SoapFaultError(
      'Sender',
      `il charset ${label(name)} non è supportato: inviare UTF-8 o ISO-8859-1`,
      415,
    );
  if (declared !== undefined && CHARSETS.get(declared.toLowerCase()) !== decoding)
    throw senderFault(
      `la dichiarazione XML indica la codifica ${label(declared)} ma il Content-Type il charset ${label(name)}`,
    );
  if (decoding === 'latin1') return body.toString('latin1');
  try {
    return STRICT_UTF8.decode(body);
  } catch {
    throw senderFault('il corpo della richiesta non è UTF-8 valido');
  }
}

/**
 * Parse and validate a request against the contract (the WSDL's schema): SOAP 1.1 or 1.2
 * envelope, one request element in our namespace, every field checked. Anything else is a
 * `SoapFaultError` naming the element. Before the body is read, every header block addressed to
 * this node and marked mustUnderstand must be one of `understood` (a `MustUnderstandFault`
 * otherwise).
 */
export function parseSoapRequest(
  xml: string,
  limits: ParseLimits = DEFAULT_LIMITS,
  understood: readonly QName[] = UNDERSTOOD_HEADERS.recuperoDocumento,
): SoapRequest {
  const envelope = parseTree(xml, limits);
  try {
    return validated(envelope, understood);
  } catch (error) {
    if (error instanceof SoapFaultError) error.readable = readableFields(envelope);
    throw error;
  }
}

/**
 * The fields of a request that could be read, for the audit of its refusal: in the request
 * element of the Body, each one of `LENGTHS` that holds text within its length, without the
 * characters no field holds.
 */
function readableFields(envelope: XmlNode): ReadableFields {
  const request = bodyOf(envelope)?.children.find((child) => child.ns === ON_DEMAND_NS);
  const requester = request?.children.find(
    (child) => child.ns === ON_DEMAND_NS && child.name === 'richiedente',
  );
  const values: Partial<Record<keyof typeof LENGTHS, string>> = {};
  for (const name of Object.keys(LENGTHS) as Array<keyof typeof LENGTHS>) {
    const holder = (REQUESTER_FIELDS as readonly string[]).includes(name) ? requester : request;
    const node = holder?.children.find((child) => child.ns === ON_DEMAND_NS && child.name === name);
    if (node?.children.length === 0) values[name] = node.text;
  }
  return readable(values);
}

/**
 * Of the values read from a refused request, those fit for its audit: text within the field's
 * length, without the characters no field holds (the codice fiscale upper-cased).
 */
export function readable(values: Partial<Record<keyof typeof LENGTHS, string>>): ReadableFields {
  const fit: ReadableFields = {};
  for (const [name, max] of Object.entries(LENGTHS) as Array<[keyof typeof LENGTHS, number]>) {
    const value = values[name]?.trim() ?? '';
    if (value !== '' && value.length <= max && !NOT_TEXT.test(value)) fit[name] = value;
  }
  if (fit.codiceFiscale !== undefined) fit.codiceFiscale = fit.codiceFiscale.toUpperCase();
  return fit;
}

function validated(envelope: XmlNode, understood: readonly QName[]): SoapRequest {
  const { soapVersion, payload: request } = openEnvelope(envelope, understood);
  if (request.ns === ON_DEMAND_NS && request.name === 'RecuperoDocumentoRequest')
    return { kind: 'recupero', request: recuperoOf(soapVersion, request) };
  if (request.ns === ON_DEMAND_NS && request.name === 'NotificaVariazioneMetadatiRequest')
    return { kind: 'variazione', request: variazioneOf(soapVersion, request) };
  throw senderFault(`elemento di richiesta sconosciuto: ${request.name}`);
}

/** A "recupero documento on demand" request; any other operation is refused. */
export function parseOnDemandRequest(
  xml: string,
  limits: ParseLimits = DEFAULT_LIMITS,
): OnDemandRequest {
  const parsed = parseSoapRequest(xml, limits);
  if (parsed.kind !== 'recupero')
    throw senderFault('elemento di richiesta sconosciuto: NotificaVariazioneMetadatiRequest');
  return parsed.request;
}

/** codCL: with the document id it names a report, joined by "^", so it cannot hold one. */
function codCLOf(top: Map<string, XmlNode>): string {
  const codCL = text(top, 'codCL', LENGTHS.codCL, true);
  if (codCL.includes('^')) throw senderFault(`l'elemento codCL non può contenere "^"`);
  return codCL;
}

const EVENTS = ['P99', 'P97', 'P98', 'P00'] as const;

function variazioneOf(soapVersion: '1.1' | '1.2', request: XmlNode): ObscurationNotice {
  const top = fields(request, [
    'codCL',
    'codDocumentoDipartimentale',
    'idDocumentoIlec',
    'codiceEvento',
    'sorgente',
  ]);
  const codiceEvento = text(top, 'codiceEvento', 3, true) as ObscurationNotice['codiceEvento'];
  if (!EVENTS.includes(codiceEvento))
    throw senderFault(`l'elemento codiceEvento deve essere uno tra ${EVENTS.join(', ')}`);
  return {
    soapVersion,
    codCL: codCLOf(top),
    codDocumentoDipartimentale: text(
      top,
      'codDocumentoDipartimentale',
      LENGTHS.codDocumentoDipartimentale,
      true,
    ),
    idDocumentoIlec: text(top, 'idDocumentoIlec', 256, false),
    codiceEvento,
    sorgente: text(top, 'sorgente', 64, true),
  };
}

function recuperoOf(soapVersion: '1.1' | '1.2', request: XmlNode): OnDemandRequest {
  const top = fields(request, [
    'richiedente',
    'codiceFiscaleAssistito',
    'codCL',
    'codDocumentoDipartimentale',
    'idDocumentoIlec',
    'accessionNumber',
    'formato',
    'tempoMassimoAttesaMs',
  ]);
  const requesterNode = top.get('richiedente');
  if (!requesterNode) throw senderFault("l'elemento richiedente è obbligatorio");
  const requester = fields(requesterNode, REQUESTER_FIELDS);
  const codiceFiscale = text(requester, 'codiceFiscale', LENGTHS.codiceFiscale, true).toUpperCase();
  const assistito = text(top, 'codiceFiscaleAssistito', 16, true).toUpperCase();
  for (const [name, value] of [
    ['codiceFiscale', codiceFiscale],
    ['codiceFiscaleAssistito', assistito],
  ])
    if (!CODICE_FISCALE.test(value!))
      throw senderFault(`l'elemento ${name} deve essere di 16 lettere e cifre`);
  const formato = text(top, 'formato', LENGTHS.formato, true) as Formato;
  if (!FORMATS.includes(formato))
    throw senderFault(`l'elemento formato deve essere uno tra ${FORMATS.join(', ')}`);
  const deadline = text(top, 'tempoMassimoAttesaMs', 9, false);
  if (deadline !== undefined && !/^[1-9][0-9]*$/.test(deadline))
    throw senderFault("l'elemento tempoMassimoAttesaMs deve essere un intero positivo");
  return {
    soapVersion,
    richiedente: {
      codiceFiscale,
      ruolo: text(requester, 'ruolo', LENGTHS.ruolo, true),
      applicazione: text(requester, 'applicazione', LENGTHS.applicazione, true),
      numeroTransazione: text(requester, 'numeroTransazione', LENGTHS.numeroTransazione, true),
      ip: text(requester, 'ip', LENGTHS.ip, true),
    },
    codiceFiscaleAssistito: assistito,
    codCL: codCLOf(top),
    codDocumentoDipartimentale: text(
      top,
      'codDocumentoDipartimentale',
      LENGTHS.codDocumentoDipartimentale,
      true,
    ),
    idDocumentoIlec: text(top, 'idDocumentoIlec', 256, false),
    accessionNumber: text(top, 'accessionNumber', 16, false),
    formato,
    deadlineMs: deadline === undefined ? undefined : Number(deadline),
  };
}
