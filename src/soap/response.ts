/**
 * The wire form of answers: SOAP 1.1/1.2 envelopes, faults, and the document either inline as
 * base64 or as an MTOM/XOP attachment. Bodies are produced as streams with an exact length, so
 * a package of any size goes out without being held in memory (a Node string cannot even hold
 * 1 GB of base64).
 */
import { randomUUID } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { QName } from './header-blocks.js';
import { ON_DEMAND_NS, SOAP11_NS, SOAP12_NS } from './namespaces.js';
import type { FaultCode } from './xml-tree.js';

export type SoapVersion = '1.1' | '1.2';

export function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

export function soapContentType(version: SoapVersion): string {
  return version === '1.2' ? 'application/soap+xml; charset=utf-8' : 'text/xml; charset=utf-8';
}

/** An envelope of `version` holding `body` (and `header` blocks, when given). */
export function soapEnvelope(version: SoapVersion, body: string, header = ''): string {
  const ns = version === '1.2' ? SOAP12_NS : SOAP11_NS;
  const head = header === '' ? '' : `<soap:Header>${header}</soap:Header>`;
  return `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="${ns}">${head}<soap:Body>${body}</soap:Body></soap:Envelope>`;
}

const FAULTCODES_11: Readonly<Record<FaultCode, string>> = {
  Sender: 'soap:Client',
  Receiver: 'soap:Server',
  MustUnderstand: 'soap:MustUnderstand',
};

/** A SOAP 1.2 NotUnderstood header block naming `name` (its namespace bound to a prefix of its own). */
function notUnderstoodBlock(name: QName): string {
  const qname = name.ns === '' ? name.local : `nu:${name.local}`;
  const binding = name.ns === '' ? '' : ` xmlns:nu="${escapeXml(name.ns)}"`;
  return `<soap:NotUnderstood qname="${escapeXml(qname)}"${binding}/>`;
}

/**
 * A SOAP Fault: `Sender` (the request is at fault), `Receiver`, or `MustUnderstand` for the
 * header blocks `notUnderstood` (named in SOAP 1.2 by NotUnderstood header blocks). A `subcode`
 * (such as wsse:FailedAuthentication) is the SOAP 1.2 Subcode, and the SOAP 1.1 faultcode.
 */
export function faultEnvelope(
  version: SoapVersion,
  code: FaultCode,
  reason: string,
  notUnderstood: readonly QName[] = [],
  subcode?: QName,
): string {
  const text = escapeXml(reason);
  const sub = subcode && {
    binding: ` xmlns:sc="${escapeXml(subcode.ns)}"`,
    value: `sc:${escapeXml(subcode.local)}`,
  };
  if (version === '1.1') {
    const faultcode = sub
      ? `<faultcode${sub.binding}>${sub.value}</faultcode>`
      : `<faultcode>${FAULTCODES_11[code]}</faultcode>`;
    return soapEnvelope(
      version,
      `<soap:Fault>${faultcode}<faultstring xml:lang="it">${text}</faultstring></soap:Fault>`,
    );
  }
  const subcodeXml = sub
    ? `<soap:Subcode><soap:Value${sub.binding}>${sub.value}</soap:Value></soap:Subcode>`
    : '';
  return soapEnvelope(
    version,
    `<soap:Fault><soap:Code><soap:Value>soap:${code}</soap:Value>${subcodeXml}</soap:Code><soap:Reason><soap:Text xml:lang="it">${text}</soap:Text></soap:Reason></soap:Fault>`,
    notUnderstood.map(notUnderstoodBlock).join(''),
  );
}

/**
 * The HTTP status of a fault: SOAP 1.1 always 500; SOAP 1.2 400 for Sender, 500 otherwise
 * (MustUnderstand among them).
 */
export function faultStatus(version: SoapVersion, code: FaultCode): number {
  return version === '1.2' && code === 'Sender' ? 400 : 500;
}

export interface ResponseFields {
  esito: 'SUCCESSO' | 'FALLIMENTO';
  stato?: 'DISPONIBILE' | 'ELAB_IN_CORSO';
  tempoAttesaSuggeritoMs?: number;
  errori?: Array<{ codice: string; descrizione: string }>;
  tipoMime?: string;
  identificativoDocumento?: string;
  identificativoRepository?: string;
}

/** The response element's fields, in the schema's order, before `documento`. */
function fieldsXml(fields: ResponseFields): string {
  const element = (name: string, value: string | number | undefined): string =>
    value === undefined ? '' : `<tns:${name}>${escapeXml(String(value))}</tns:${name}>`;
  return [
    element('esito', fields.esito),
    element('stato', fields.stato),
    element('tempoAttesaSuggeritoMs', fields.tempoAttesaSuggeritoMs),
    ...(fields.errori ?? []).map(
      (e) =>
        `<tns:errori>${element('codice', e.codice)}${element('descrizione', e.descrizione)}</tns:errori>`,
    ),
    element('tipoMime', fields.tipoMime),
    element('identificativoDocumento', fields.identificativoDocumento),
    element('identificativoRepository', fields.identificativoRepository),
  ].join('');
}

const OPEN = `<tns:RecuperoDocumentoResponse xmlns:tns="${ON_DEMAND_NS}">`;
const CLOSE = '</tns:RecuperoDocumentoResponse>';

/** A response without a document. */
export function responseEnvelope(version: SoapVersion, fields: ResponseFields): string {
  return soapEnvelope(version, `${OPEN}${fieldsXml(fields)}${CLOSE}`);
}

/** The answer to an obscuration change. */
export function variazioneEnvelope(
  version: SoapVersion,
  fields: {
    esito: 'SUCCESSO' | 'FALLIMENTO';
    errori?: Array<{ codice: string; descrizione: string }>;
    oscuramentiInVigore?: string;
  },
): string {
  const element = (name: string, value: string): string =>
    `<tns:${name}>${escapeXml(value)}</tns:${name}>`;
  const errors = (fields.errori ?? [])
    .map(
      (e) =>
        `<tns:errori>${element('codice', e.codice)}${element('descrizione', e.descrizione)}</tns:errori>`,
    )
    .join('');
  const inForce =
    fields.oscuramentiInVigore === undefined
      ? ''
      : element('oscuramentiInVigore', fields.oscuramentiInVigore);
  return soapEnvelope(
    version,
    `<tns:NotificaVariazioneMetadatiResponse xmlns:tns="${ON_DEMAND_NS}">${element('esito', fields.esito)}${errors}${inForce}</tns:NotificaVariazioneMetadatiResponse>`,
  );
}

/** A body to send: its content type, exact length, and a stream of its bytes. */
export interface StreamedBody {
  contentType: string;
  contentLength: number;
  stream: Readable;
}

/** Base64 of a byte stream, in chunks whose length is a multiple of 3 bytes before encoding. */
class Base64Encoder extends Transform {
  #rest: Buffer = Buffer.alloc(0);

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const data = this.#rest.length > 0 ? Buffer.concat([this.#rest, chunk]) : chunk;
    const whole = data.length - (data.length % 3);
    this.#rest = data.subarray(whole);
    if (whole > 0) this.push(data.subarray(0, whole).toString('base64'));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.#rest.length > 0) this.push(this.#rest.toString('base64'));
    callback();
  }
}

function concatStreams(parts: Array<Buffer | Readable>): Readable {
  return Readable.from(
    (async function* () {
      for (const part of parts) {
        if (Buffer.isBuffer(part)) yield part;
        else for await (const chunk of part) yield chunk as Buffer;
      }
    })(),
    { objectMode: false },
  );
}

/**
 * The Body content of an answer carrying a document: the XML before the document's bytes (up to
 * the opening tag of the element that holds them) and after them (from its closing tag).
 */
export interface DocumentSlot {
  before: string;
  after: string;
}

/** RecuperoDocumentoResponse around its `documento`. */
export function recuperoSlot(fields: ResponseFields): DocumentSlot {
  return {
    before: `${OPEN}${fieldsXml(fields)}<tns:documento>`,
    after: `</tns:documento>${CLOSE}`,
  };
}

/** An answer with the document's bytes inline, base64, between `slot.before` and `slot.after`. */
export function inlineBody(
  version: SoapVersion,
  slot: DocumentSlot,
  document: { bytes: number; stream: Readable },
): StreamedBody {
  const head = Buffer.from(soapEnvelope(version, `${slot.before}\u0000`).split('\u0000')[0]!);
  const tail = Buffer.from(`${slot.after}</soap:Body></soap:Envelope>`);
  const encoded = 4 * Math.ceil(document.bytes / 3);
  return {
    contentType: soapContentType(version),
    contentLength: head.length + encoded + tail.length,
    stream: concatStreams([head, document.stream.pipe(new Base64Encoder()), tail]),
  };
}

/**
 * An answer with the document as an MTOM/XOP attachment: a multipart/related body whose root
 * part is the envelope with an `xop:Include` between `slot.before` and `slot.after`, and whose
 * second part is the bytes as they are (`binary`).
 */
export function mtomBody(
  version: SoapVersion,
  slot: DocumentSlot,
  document: { bytes: number; stream: Readable; mimeType: string },
): StreamedBody {
  const boundary = `MIMEBoundary_${randomUUID()}`;
  const rootId = `root.${randomUUID()}@pacs-fse-bridge`;
  const documentId = `documento.${randomUUID()}@pacs-fse-bridge`;
  const soapType = version === '1.2' ? 'application/soap+xml' : 'text/xml';
  const xml = soapEnvelope(
    version,
    `${slot.before}<xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:${documentId}"/>${slot.after}`,
  );
  const head = Buffer.from(
    [
      `--${boundary}`,
      `Content-Type: application/xop+xml; charset=UTF-8; type="${soapType}"`,
      'Content-Transfer-Encoding: 8bit',
      `Content-ID: <${rootId}>`,
      '',
      xml,
      `--${boundary}`,
      `Content-Type: ${document.mimeType}`,
      'Content-Transfer-Encoding: binary',
      `Content-ID: <${documentId}>`,
      '',
      '',
    ].join('\r\n'),
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return {
    contentType: `multipart/related; type="application/xop+xml"; boundary="${boundary}"; start="<${rootId}>"; start-info="${soapType}"`,
    contentLength: head.length + document.bytes + tail.length,
    stream: concatStreams([head, document.stream, tail]),
  };
}
