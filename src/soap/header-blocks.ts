/**
 * Header blocks and the SOAP processing model: a block addressed to this node and marked
 * mustUnderstand is either processed or refused, never ignored (SOAP 1.1 §4.2.3; SOAP 1.2 Part 1
 * §2.4, §2.6, §5.4.8). The bridge is the ultimate receiver of every request and acts in no other
 * role, so a block is addressed to it when it names no actor or role, the "next" one, or (SOAP
 * 1.2) the ultimate receiver. Blocks for other roles, and blocks not marked, are ignored.
 */
import { SOAP11_NS, SOAP12_NS, WSSE_SECURITY } from './namespaces.js';
import { senderFault, SoapFaultError, type XmlNode } from './xml-tree.js';

/** A qualified name: namespace ('' for none) and local name. */
export interface QName {
  ns: string;
  local: string;
}

/**
 * The header blocks the bridge processes, by endpoint. The processor of a header block declares
 * its block's QName here, for the endpoint whose requests it processes; only there is a block of
 * that name marked mustUnderstand accepted.
 */
export const UNDERSTOOD_HEADERS = {
  /** RecuperoDocumento and NotificaVariazioneMetadati: none. */
  recuperoDocumento: [],
  /** GetDocumento of CLEpisodioService: WS-Security's header (ws-security.ts). */
  clEpisodio: [WSSE_SECURITY],
} as const satisfies Record<string, readonly QName[]>;

/** The roles the bridge plays, besides having none named. */
const OWN_ROLES: Readonly<Record<'1.1' | '1.2', readonly string[]>> = {
  '1.1': ['http://schemas.xmlsoap.org/soap/actor/next'],
  '1.2': [`${SOAP12_NS}/role/next`, `${SOAP12_NS}/role/ultimateReceiver`],
};

/** A request refused because mandatory header blocks addressed to the bridge are not processed. */
export class MustUnderstandFault extends SoapFaultError {
  override readonly name = 'MustUnderstandFault';
  constructor(
    /** The envelope's version: the fault is answered in it. */
    readonly soapVersion: '1.1' | '1.2',
    readonly notUnderstood: readonly QName[],
  ) {
    super(
      'MustUnderstand',
      `blocchi di intestazione con mustUnderstand non elaborati da questo servizio: ${notUnderstood
        .map(clark)
        .join(', ')}`,
    );
  }
}

/** A QName as {namespace}local. */
export function clark(name: QName): string {
  return `{${name.ns}}${name.local}`;
}

function attribute(block: XmlNode, ns: string, name: string): string | undefined {
  return block.attributes.find((a) => a.ns === ns && a.name === name)?.value;
}

/** Whether `block` is marked mustUnderstand (xs:boolean: true, false, 1, 0). */
function mandatory(block: XmlNode, ns: string): boolean {
  const value = attribute(block, ns, 'mustUnderstand')?.trim();
  if (value === undefined || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw senderFault(
    `blocco di intestazione ${clark({ ns: block.ns, local: block.name })}: mustUnderstand deve essere true, false, 1 o 0`,
  );
}

/** Whether `block` is addressed to the bridge: no actor (1.1) or role (1.2), or one it plays. */
export function addressedHere(version: '1.1' | '1.2', block: XmlNode): boolean {
  const ns = version === '1.1' ? SOAP11_NS : SOAP12_NS;
  const role = attribute(block, ns, version === '1.1' ? 'actor' : 'role')?.trim();
  return role === undefined || role === '' || OWN_ROLES[version].includes(role);
}

/**
 * Refuse the request when a header block of `header` is addressed to the bridge, marked
 * mustUnderstand, and not one of `understood`: a `MustUnderstandFault` naming every such block.
 */
export function requireUnderstood(
  version: '1.1' | '1.2',
  header: XmlNode,
  understood: readonly QName[],
): void {
  const ns = version === '1.1' ? SOAP11_NS : SOAP12_NS;
  const notUnderstood = header.children
    .filter((block) => addressedHere(version, block) && mandatory(block, ns))
    .map((block) => ({ ns: block.ns, local: block.name }))
    .filter((name) => !understood.some((u) => u.ns === name.ns && u.local === name.local));
  if (notUnderstood.length > 0) throw new MustUnderstandFault(version, notUnderstood);
}
