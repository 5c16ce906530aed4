/**
 * The SOAP envelope around a request: SOAP 1.1 or 1.2, at most one Header (its mandatory blocks
 * understood, see header-blocks.ts) and one Body holding one request element.
 */
import { requireUnderstood, type QName } from './header-blocks.js';
import { SOAP11_NS, SOAP12_NS } from './namespaces.js';
import { senderFault, type XmlNode } from './xml-tree.js';

export interface OpenedEnvelope {
  soapVersion: '1.1' | '1.2';
  /** The Header, when the envelope has one. */
  header: XmlNode | undefined;
  /** The one element of the Body: the request. */
  payload: XmlNode;
}

/**
 * Check the envelope's layout and its header blocks (every one addressed to this node and marked
 * mustUnderstand must be one of `understood`), and return its parts.
 */
export function openEnvelope(envelope: XmlNode, understood: readonly QName[]): OpenedEnvelope {
  if (envelope.name !== 'Envelope' || (envelope.ns !== SOAP11_NS && envelope.ns !== SOAP12_NS))
    throw senderFault('il documento non è un Envelope SOAP 1.1 o 1.2');
  const soapVersion = envelope.ns === SOAP11_NS ? '1.1' : '1.2';
  const parts = envelope.children.filter((child) => child.ns === envelope.ns);
  const layout = parts.map((child) => child.name).join(' ');
  if (layout !== 'Body' && layout !== 'Header Body')
    throw senderFault("l'Envelope deve contenere un solo Body, dopo al massimo un Header");
  const header = parts.length === 2 ? parts[0]! : undefined;
  if (header) requireUnderstood(soapVersion, header, understood);
  const body = parts.at(-1)!;
  if (body.children.length !== 1)
    throw senderFault('il Body deve contenere esattamente un elemento di richiesta');
  return { soapVersion, header, payload: body.children[0]! };
}

/** The Body of an envelope, when it has one (for what can be read of a refused request). */
export function bodyOf(envelope: XmlNode): XmlNode | undefined {
  return envelope.children.find((child) => child.ns === envelope.ns && child.name === 'Body');
}
