/**
 * Requests sent as MTOM (multipart/related, XOP): the envelope is the root part. Our requests
 * carry no attachments, so only the root part is read; an envelope that refers to parts
 * (xop:Include) is refused by the request parser as an unexpected element.
 */
import { SoapFaultError } from './request.js';

/** Parameters of a Content-Type header value, keys lower-cased, quotes removed. */
export function contentTypeParams(header: string): { type: string; params: Map<string, string> } {
  const [type = '', ...rest] = header.split(';');
  const params = new Map<string, string>();
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const value = part.slice(eq + 1).trim();
    params.set(
      part.slice(0, eq).trim().toLowerCase(),
      value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value,
    );
  }
  return { type: type.trim().toLowerCase(), params };
}

function fault(reason: string): SoapFaultError {
  return new SoapFaultError('Sender', `richiesta MTOM: ${reason}`);
}

/** The root part of a multipart/related request: its body, and the charset its headers name. */
export function mtomRootPart(
  body: Buffer,
  contentType: string,
): { body: Buffer; charset: string | undefined } {
  const { params } = contentTypeParams(contentType);
  const boundary = params.get('boundary');
  if (!boundary || boundary.length > 200) throw fault('manca il parametro boundary');
  // A delimiter is CRLF, "--" and the boundary (RFC 2046), the CRLF being part of it and not of
  // the part before; only at the very start of the body may it be missing, hence the CRLF put
  // before the body. So "--boundary" within a part's text does not end the part.
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const text = Buffer.concat([Buffer.from('\r\n'), body]);
  const start = params.get('start')?.replace(/^<|>$/g, '');
  const parts: Array<{ id: string | undefined; charset: string | undefined; body: Buffer }> = [];
  let position = text.indexOf(delimiter);
  if (position < 0) throw fault('boundary non trovato nel corpo');
  while (position >= 0) {
    const after = position + delimiter.length;
    if (text.subarray(after, after + 2).toString() === '--') break;
    const next = text.indexOf(delimiter, after);
    if (next < 0) throw fault('il corpo finisce senza il boundary di chiusura');
    const part = text.subarray(after, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd < 0) throw fault('una parte non ha intestazioni');
    const headers = part.subarray(0, headerEnd).toString('latin1');
    const id = /^content-id:\s*<?([^>\r\n]*)>?/im.exec(headers)?.[1]?.trim();
    const type = /^content-type:([^\r\n]*)/im.exec(headers)?.[1];
    const charset = type === undefined ? undefined : contentTypeParams(type).params.get('charset');
    parts.push({ id, charset, body: part.subarray(headerEnd + 4) });
    position = next;
  }
  const root = start ? parts.find((part) => part.id === start) : parts[0];
  if (!root)
    throw fault(start ? `nessuna parte ha il Content-ID di start <${start}>` : 'nessuna parte');
  return { body: root.body, charset: root.charset };
}
