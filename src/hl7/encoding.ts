import { Hl7Error, Hl7ErrorCode } from './errors.js';

/** The five HL7 delimiters, from MSH-1 and MSH-2. */
export interface Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
}

/** `|^~\&`: what nearly every sender uses, and what an answer to an unreadable frame uses. */
export const DEFAULT_DELIMITERS: Delimiters = Object.freeze({
  field: '|',
  component: '^',
  repetition: '~',
  escape: '\\',
  subcomponent: '&',
});

/** How the bytes of a message were decoded (and how its answer is encoded). */
export type Charset = 'utf-8' | 'latin1' | 'latin9';

/** MSH-18 values (HL7 table 0211) the bridge reads, and how. */
const DECLARED: Record<string, Charset | 'ascii'> = {
  '': 'ascii',
  ASCII: 'ascii',
  '8859/1': 'latin1',
  '8859/15': 'latin9',
  'UNICODE UTF-8': 'utf-8',
  // Not in table 0211, but senders write it; v2.3's bare UNICODE meant UTF-8 in practice.
  'UTF-8': 'utf-8',
  UNICODE: 'utf-8',
};

/** The charset MSH-18 names, or an `Hl7Error` (AR, table value not found) naming the value. */
export function declaredCharset(msh18: string): Charset | 'ascii' {
  const charset = DECLARED[msh18.trim().toUpperCase()];
  if (charset === undefined)
    throw new Hl7Error(`unsupported character set ${JSON.stringify(msh18)}`, {
      location: { segment: 'MSH', field: 18 },
      code: Hl7ErrorCode.TableValueNotFound,
    });
  return charset;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const latin9 = new TextDecoder('iso-8859-15');

function isAscii(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte > 0x7f) return false;
  return true;
}

/**
 * Decode message bytes as MSH-18 declares. A message that declares ASCII (or nothing) but
 * holds other bytes is read as UTF-8 when they are valid UTF-8, else as ISO 8859-1: senders
 * here leave MSH-18 empty with either, and accented Latin-1 text is almost never valid UTF-8.
 */
export function decodeBytes(
  bytes: Uint8Array,
  declared: Charset | 'ascii',
): {
  text: string;
  charset: Charset;
} {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (declared) {
    case 'latin1':
      return { text: buffer.toString('latin1'), charset: 'latin1' };
    case 'latin9':
      return { text: latin9.decode(bytes), charset: 'latin9' };
    case 'utf-8':
      try {
        return { text: utf8.decode(bytes), charset: 'utf-8' };
      } catch (error) {
        throw new Hl7Error('message is not valid UTF-8, as MSH-18 declares', {
          location: { segment: 'MSH', field: 18 },
          code: Hl7ErrorCode.DataTypeError,
          cause: error,
        });
      }
    case 'ascii':
      if (isAscii(bytes)) return { text: buffer.toString('latin1'), charset: 'utf-8' };
      try {
        return { text: utf8.decode(bytes), charset: 'utf-8' };
      } catch {
        return { text: buffer.toString('latin1'), charset: 'latin1' };
      }
  }
}

const QUESTION_MARK = 0x3f;

/**
 * The eight characters ISO 8859-15 puts where ISO 8859-1 has ¤ ¦ ¨ ´ ¸ ¼ ½ ¾, and their
 * bytes; every other byte means the same in both.
 */
const LATIN9_BYTES = new Map<number, number>([
  [0x20ac, 0xa4], // €
  [0x0160, 0xa6], // Š
  [0x0161, 0xa8], // š
  [0x017d, 0xb4], // Ž
  [0x017e, 0xb8], // ž
  [0x0152, 0xbc], // Œ
  [0x0153, 0xbd], // œ
  [0x0178, 0xbe], // Ÿ
]);
/** ¤ ¦ ¨ ´ ¸ ¼ ½ ¾: Latin-1 characters that ISO 8859-15 has no byte for. */
const NOT_LATIN9 = new Set(LATIN9_BYTES.values());

function latin9Byte(code: number): number {
  const byte = LATIN9_BYTES.get(code);
  if (byte !== undefined) return byte;
  return code <= 0xff && !NOT_LATIN9.has(code) ? code : QUESTION_MARK;
}

/** Encode text (an ACK) in a message's charset; characters it cannot hold become `?`. */
export function encodeText(text: string, charset: Charset): Buffer {
  if (charset === 'utf-8') return Buffer.from(text, 'utf8');
  const bytes = Buffer.alloc(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (charset === 'latin9') bytes[i] = latin9Byte(code);
    else bytes[i] = code <= 0xff ? code : QUESTION_MARK;
  }
  return bytes;
}

function decodeHex(hex: string, charset: Charset): string | undefined {
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9A-Fa-f]+$/.test(hex)) return undefined;
  const bytes = Buffer.from(hex, 'hex');
  if (charset === 'latin1') return bytes.toString('latin1');
  if (charset === 'latin9') return latin9.decode(bytes);
  try {
    return utf8.decode(bytes);
  } catch {
    // A sender that writes plain ASCII may still hex-escape a Latin-1 byte.
    return bytes.toString('latin1');
  }
}

/**
 * Replace escape sequences in a leaf value (after it was split on delimiters): \F\ \S\ \T\
 * \R\ \E\, \Xhh..\ (bytes in the message's charset), \.br\ (line break). Highlighting and
 * character set switches (\H\ \N\ \C..\ \M..\) are dropped; anything else, and an escape
 * without its closing character, is kept as written.
 */
export function unescapeValue(value: string, delimiters: Delimiters, charset: Charset): string {
  const esc = delimiters.escape;
  if (esc === '' || !value.includes(esc)) return value;
  let out = '';
  let i = 0;
  while (i < value.length) {
    const start = value.indexOf(esc, i);
    if (start < 0) break;
    const end = value.indexOf(esc, start + 1);
    if (end < 0) break;
    out += value.slice(i, start);
    const body = value.slice(start + 1, end);
    const replaced = escapeBody(body, delimiters, charset);
    out += replaced ?? value.slice(start, end + 1);
    i = end + 1;
  }
  return out + value.slice(i);
}

function escapeBody(body: string, d: Delimiters, charset: Charset): string | undefined {
  switch (body) {
    case 'F':
      return d.field;
    case 'S':
      return d.component;
    case 'T':
      return d.subcomponent;
    case 'R':
      return d.repetition;
    case 'E':
      return d.escape;
    case 'H':
    case 'N':
      return '';
    case '.br':
      return '\n';
  }
  const kind = body[0];
  if (kind === 'X') return decodeHex(body.slice(1), charset);
  if (kind === 'C' || kind === 'M') return /^[CM][0-9A-Fa-f]+$/.test(body) ? '' : undefined;
  return undefined;
}

/** A C0 control character (NUL to US, VT and FS included) or DEL. */
export function isControlChar(char: string): boolean {
  const code = char.charCodeAt(0);
  return code <= 0x1f || code === 0x7f;
}

/**
 * Escape text so that it is one leaf value under the given delimiters (for the ACK). CR and
 * LF become spaces; other control characters become `\Xhh\` (a space without an escape
 * character): written raw, a VT or FS would break the MLLP framing of the ACK, and the rest
 * have no place in a segment either.
 */
export function escapeValue(text: string, d: Delimiters): string {
  let out = '';
  for (const char of text) {
    if (char === d.escape) out += `${d.escape}E${d.escape}`;
    else if (char === d.field) out += `${d.escape}F${d.escape}`;
    else if (char === d.component) out += `${d.escape}S${d.escape}`;
    else if (char === d.subcomponent) out += `${d.escape}T${d.escape}`;
    else if (char === d.repetition) out += `${d.escape}R${d.escape}`;
    else if (char === '\r' || char === '\n') out += ' ';
    else if (isControlChar(char)) out += d.escape === '' ? ' ' : hexEscape(char, d.escape);
    else out += char;
  }
  return out;
}

/** `\Xhh\` for a character below 0x80, which is one and the same byte in every charset. */
function hexEscape(char: string, escape: string): string {
  const hex = char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
  return `${escape}X${hex}${escape}`;
}
