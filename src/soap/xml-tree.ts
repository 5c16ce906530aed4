/**
 * The XML reader of SOAP requests: a small tree built with saxes, refusing what a hostile
 * request uses, and the fault every refusal is.
 */
import { SaxesParser, type SaxesTagNS } from 'saxes';
import type { ReadableFields } from './request.js';

/**
 * The fault codes the bridge answers with (SOAP 1.2 names; SOAP 1.1 calls Sender `Client` and
 * Receiver `Server`).
 */
export type FaultCode = 'Sender' | 'Receiver' | 'MustUnderstand';

/** A request answered with a SOAP Fault: malformed, hostile or invalid against the schema. */
export class SoapFaultError extends Error {
  override readonly name: string = 'SoapFaultError';
  /** What could be read of the request before it was refused, for its audit. */
  readable: ReadableFields = {};
  /**
   * The user name the request gave in its envelope (a WS-Security UsernameToken), right or
   * wrong, for its audit.
   */
  user: string | undefined;
  /**
   * A finer code under `code`: the SOAP 1.2 Subcode, and in SOAP 1.1 the faultcode itself (as
   * WS-Security's wsse:FailedAuthentication).
   */
  subcode: { ns: string; local: string } | undefined;
  constructor(
    /** Sender: the request is at fault. */
    readonly code: FaultCode,
    reason: string,
    /** The HTTP status, when not the one the SOAP binding gives a fault of `code`. */
    readonly httpStatus?: number,
    /** What the log says besides the reason (a parser's own words), never sent. */
    readonly detail?: string,
  ) {
    super(reason);
  }
}

/** A fault for a request that is at fault itself. */
export function senderFault(reason: string): SoapFaultError {
  return new SoapFaultError('Sender', reason);
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

/** An attribute: its namespace ('' when unqualified), local name and value. */
export interface XmlAttribute {
  ns: string;
  name: string;
  value: string;
}

/** An element: its namespace, local name, attributes (not namespace declarations), text and child elements. */
export interface XmlNode {
  ns: string;
  name: string;
  attributes: XmlAttribute[];
  text: string;
  children: XmlNode[];
}

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/**
 * Parse the XML into a small tree with saxes, refusing what a hostile request uses: any DOCTYPE
 * (so no entity expansion and no external entities: saxes expands only the five predefined
 * entities and fails on any other), processing instructions other than the declaration, and
 * sizes beyond `limits`.
 */
export function parseTree(xml: string, limits: ParseLimits): XmlNode {
  // Positions are kept for the fault of malformed XML, which names the line and column.
  const parser = new SaxesParser({ xmlns: true });
  const stack: XmlNode[] = [];
  let root: XmlNode | undefined;
  let elements = 0;
  let error: SoapFaultError | undefined;
  // Refusing throws out of the handler, which ends the parse at once: carrying on to the end
  // of a hostile body would cost what the limits are there to prevent (saxes resolves each
  // element's namespace through every open element, so deep nesting costs depth squared).
  const stop = (reason: string): never => {
    throw (error ??= senderFault(reason));
  };
  parser.on('doctype', () => stop('una richiesta non può contenere una DOCTYPE'));
  parser.on('processinginstruction', () =>
    stop('una richiesta non può contenere istruzioni di elaborazione'),
  );
  parser.on('opentag', (tag) => {
    const open = tag as SaxesTagNS;
    if (++elements > limits.maxElements) return stop(`più di ${limits.maxElements} elementi`);
    if (stack.length >= limits.maxDepth)
      return stop(`elementi annidati a più di ${limits.maxDepth} livelli`);
    const attributes = Object.values(open.attributes)
      .filter((a) => a.uri !== XMLNS_NS)
      .map((a) => ({ ns: a.uri, name: a.local, value: a.value }));
    const node: XmlNode = { ns: open.uri, name: open.local, attributes, text: '', children: [] };
    if (stack.length === 0) root = node;
    else stack.at(-1)!.children.push(node);
    stack.push(node);
  });
  const append = (text: string): void => {
    const node = stack.at(-1);
    if (!node) return;
    node.text += text;
    if (node.text.length > limits.maxTextLength)
      stop(`l'elemento ${node.name} ha più di ${limits.maxTextLength} caratteri`);
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
    throw new SoapFaultError(
      'Sender',
      `XML malformato alla riga ${parser.line}, colonna ${parser.column}`,
      undefined,
      (cause as Error).message.split('\n')[0],
    );
  }
  if (error) throw error;
  if (!root) throw senderFault('nessun elemento XML');
  return root;
}
