import { SaxesParser, type SaxesTagNS } from 'saxes';

/** Our namespace for the on-demand retrieval contract (designed here; see docs). */
export const ON_DEMAND_NS = 'urn:it:piemonte:fse:recupero-immagini:1';
export const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_NS = 'http://www.w3.org/2003/05/soap-envelope';

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
}

/** A request answered with a SOAP Fault: malformed, hostile or invalid against the schema. */
export class SoapFaultError extends Error {
  override readonly name = 'SoapFaultError';
  constructor(
    /** Sender: the request is at fault. */
    readonly code: 'Sender' | 'Receiver',
    reason: string,
    /** The HTTP status, when not the one the SOAP binding gives a fault of `code`. */
    readonly httpStatus?: number,
  ) {
    super(reason);
  }
}

export interface ParseLimits {
  /** Deepest element nesting accepted. */
  maxDepth: number;
  /** Most elements accepted. */
  maxElements: number;
  /** Longest text of one element, in characters. */
  maxTextLength: number;
}

export const DEFAULT_LIMITS: ParseLimits = { maxDepth: 16, maxElements: 200, maxTextLength: 1024 };

interface Node {
  ns: string;
  name: string;
  text: string;
  children: Node[];
}

function fault(reason: string): SoapFaultError {
  return new SoapFaultError('Sender', reason);
}

/**
 * Parse the XML into a small tree with saxes, refusing what a hostile request uses: any DOCTYPE
 * (so no entity expansion and no external entities: saxes expands only the five predefined
 * entities and fails on any other), processing instructions other than the declaration, and
 * sizes beyond `limits`.
 */
function parseTree(xml: string, limits: ParseLimits): Node {
  const parser = new SaxesParser({ xmlns: true, position: false });
  const stack: Node[] = [];
  let root: Node | undefined;
  let elements = 0;
  let error: SoapFaultError | undefined;
  // Refusing throws out of the handler, which ends the parse at once: carrying on to the end
  // of a hostile body would cost what the limits are there to prevent (saxes resolves each
  // element's namespace through every open element, so deep nesting costs depth squared).
  const stop = (reason: string): never => {
    throw (error ??= fault(reason));
  };
  parser.on('doctype', () => stop('a DOCTYPE is not allowed in a request'));
  parser.on('processinginstruction', () => stop('processing instructions are not allowed'));
  parser.on('opentag', (tag) => {
    const open = tag as SaxesTagNS;
    if (++elements > limits.maxElements) return stop(`more than ${limits.maxElements} elements`);
    if (stack.length >= limits.maxDepth)
      return stop(`elements nested deeper than ${limits.maxDepth}`);
    const node: Node = { ns: open.uri, name: open.local, text: '', children: [] };
    if (stack.length === 0) root = node;
    else stack.at(-1)!.children.push(node);
    stack.push(node);
  });
  const append = (text: string): void => {
    const node = stack.at(-1);
    if (!node) return;
    node.text += text;
    if (node.text.length > limits.maxTextLength)
      stop(`element ${node.name} has more than ${limits.maxTextLength} characters`);
  };
  parser.on('text', append);
  parser.on('cdata', append);
  parser.on('closetag', () => void stack.pop());
  try {
    parser.write(xml);
    if (error) throw error;
    parser.close();
  } catch (cause) {
    // The refusal that came first (a DOCTYPE) says more than what the parser met after it.
    if (error) throw error;
    if (cause instanceof SoapFaultError) throw cause;
    throw fault(`malformed XML: ${(cause as Error).message.split('\n')[0]}`);
  }
  if (error) throw error;
  if (!root) throw fault('no XML element');
  return root;
}

/**
 * Characters no field holds: C0 and C1 controls and DEL, U+FFFD (what a decoder puts for bytes it
 * could not read) and the Unicode line and paragraph separators. C1 controls and U+FFFD are the
 * marks of text decoded with the wrong charset; tabs and line breaks at the ends of a value are
 * trimmed before the check.
 */
// eslint-disable-next-line no-control-regex
const NOT_TEXT = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffd]/u;

/** A character as U+XXXX. */
function codePoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}
const CODICE_FISCALE = /^[A-Z0-9]{16}$/;
const FORMATS: readonly Formato[] = ['PDI_ZIP', 'KOS', 'ANTEPRIMA_JPEG'];

/**
 * Children of `node` in our namespace by local name, in the schema's order (`allowed`, an
 * xs:sequence); unknown, repeated or misplaced elements are refused.
 */
function fields(node: Node, allowed: readonly string[]): Map<string, Node> {
  const found = new Map<string, Node>();
  let last = -1;
  for (const child of node.children) {
    const position = allowed.indexOf(child.name);
    if (child.ns !== ON_DEMAND_NS || position < 0)
      throw fault(`element ${child.name} is not expected in ${node.name}`);
    if (found.has(child.name)) throw fault(`element ${child.name} appears twice in ${node.name}`);
    if (position < last)
      throw fault(
        `element ${child.name} is out of order in ${node.name} (expected ${allowed.join(', ')})`,
      );
    last = position;
    found.set(child.name, child);
  }
  return found;
}

function text(found: Map<string, Node>, name: string, max: number, required: true): string;
function text(
  found: Map<string, Node>,
  name: string,
  max: number,
  required: false,
): string | undefined;
function text(
  found: Map<string, Node>,
  name: string,
  max: number,
  required: boolean,
): string | undefined {
  const node = found.get(name);
  const value = node?.text.trim();
  if (node && node.children.length > 0) throw fault(`element ${name} must hold text only`);
  if (value === undefined || value === '') {
    if (required) throw fault(`element ${name} is required`);
    return undefined;
  }
  if (value.length > max) throw fault(`element ${name} must be at most ${max} characters of text`);
  const notText = NOT_TEXT.exec(value)?.[0];
  if (notText !== undefined)
    throw fault(`element ${name} holds ${codePoint(notText)}, which is not text`);
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
      `the charset ${label(name)} is not supported: send UTF-8 or ISO-8859-1`,
      415,
    );
  if (declared !== undefined && CHARSETS.get(declared.toLowerCase()) !== decoding)
    throw fault(
      `the XML declaration names the encoding ${label(declared)} but the Content-Type the charset ${label(name)}`,
    );
  if (decoding === 'latin1') return body.toString('latin1');
  try {
    return STRICT_UTF8.decode(body);
  } catch {
    throw fault('the request body is not valid UTF-8');
  }
}

/**
 * Parse and validate a request against the contract (the WSDL's schema): SOAP 1.1 or 1.2
 * envelope, one request element in our namespace, every field checked. Anything else is a
 * `SoapFaultError` naming the element.
 */
export function parseSoapRequest(xml: string, limits: ParseLimits = DEFAULT_LIMITS): SoapRequest {
  const envelope = parseTree(xml, limits);
  if (envelope.name !== 'Envelope' || (envelope.ns !== SOAP11_NS && envelope.ns !== SOAP12_NS))
    throw fault('the document is not a SOAP 1.1 or 1.2 Envelope');
  const soapVersion = envelope.ns === SOAP11_NS ? '1.1' : '1.2';
  const parts = envelope.children.filter((child) => child.ns === envelope.ns);
  const layout = parts.map((child) => child.name).join(' ');
  if (layout !== 'Body' && layout !== 'Header Body')
    throw fault('the Envelope must hold one Body, after at most one Header');
  const body = parts.at(-1)!;
  if (body.children.length !== 1) throw fault('the Body must hold exactly one request element');
  const request = body.children[0]!;
  if (request.ns === ON_DEMAND_NS && request.name === 'RecuperoDocumentoRequest')
    return { kind: 'recupero', request: recuperoOf(soapVersion, request) };
  if (request.ns === ON_DEMAND_NS && request.name === 'NotificaVariazioneMetadatiRequest')
    return { kind: 'variazione', request: variazioneOf(soapVersion, request) };
  throw fault(`unknown request element ${request.name}`);
}

/** A "recupero documento on demand" request; any other operation is refused. */
export function parseOnDemandRequest(
  xml: string,
  limits: ParseLimits = DEFAULT_LIMITS,
): OnDemandRequest {
  const parsed = parseSoapRequest(xml, limits);
  if (parsed.kind !== 'recupero')
    throw fault('unknown request element NotificaVariazioneMetadatiRequest');
  return parsed.request;
}

/** codCL: with the document id it names a report, joined by "^", so it cannot hold one. */
function codCLOf(top: Map<string, Node>): string {
  const codCL = text(top, 'codCL', 64, true);
  if (codCL.includes('^')) throw fault('element codCL must not contain "^"');
  return codCL;
}

const EVENTS = ['P99', 'P97', 'P98', 'P00'] as const;

function variazioneOf(soapVersion: '1.1' | '1.2', request: Node): ObscurationNotice {
  const top = fields(request, [
    'codCL',
    'codDocumentoDipartimentale',
    'idDocumentoIlec',
    'codiceEvento',
    'sorgente',
  ]);
  const codiceEvento = text(top, 'codiceEvento', 3, true) as ObscurationNotice['codiceEvento'];
  if (!EVENTS.includes(codiceEvento))
    throw fault(`element codiceEvento must be one of ${EVENTS.join(', ')}`);
  return {
    soapVersion,
    codCL: codCLOf(top),
    codDocumentoDipartimentale: text(top, 'codDocumentoDipartimentale', 256, true),
    idDocumentoIlec: text(top, 'idDocumentoIlec', 256, false),
    codiceEvento,
    sorgente: text(top, 'sorgente', 64, true),
  };
}

function recuperoOf(soapVersion: '1.1' | '1.2', request: Node): OnDemandRequest {
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
  if (!requesterNode) throw fault('element richiedente is required');
  const requester = fields(requesterNode, [
    'codiceFiscale',
    'ruolo',
    'applicazione',
    'numeroTransazione',
    'ip',
  ]);
  const codiceFiscale = text(requester, 'codiceFiscale', 16, true).toUpperCase();
  const assistito = text(top, 'codiceFiscaleAssistito', 16, true).toUpperCase();
  for (const [name, value] of [
    ['codiceFiscale', codiceFiscale],
    ['codiceFiscaleAssistito', assistito],
  ])
    if (!CODICE_FISCALE.test(value!)) throw fault(`element ${name} must be 16 letters and digits`);
  const formato = text(top, 'formato', 20, true) as Formato;
  if (!FORMATS.includes(formato))
    throw fault(`element formato must be one of ${FORMATS.join(', ')}`);
  const deadline = text(top, 'tempoMassimoAttesaMs', 9, false);
  if (deadline !== undefined && !/^[1-9][0-9]*$/.test(deadline))
    throw fault('element tempoMassimoAttesaMs must be a positive integer');
  return {
    soapVersion,
    richiedente: {
      codiceFiscale,
      ruolo: text(requester, 'ruolo', 32, true),
      applicazione: text(requester, 'applicazione', 64, true),
      numeroTransazione: text(requester, 'numeroTransazione', 128, true),
      ip: text(requester, 'ip', 45, true),
    },
    codiceFiscaleAssistito: assistito,
    codCL: codCLOf(top),
    codDocumentoDipartimentale: text(top, 'codDocumentoDipartimentale', 256, true),
    idDocumentoIlec: text(top, 'idDocumentoIlec', 256, false),
    accessionNumber: text(top, 'accessionNumber', 16, false),
    formato,
    deadlineMs: deadline === undefined ? undefined : Number(deadline),
  };
}
