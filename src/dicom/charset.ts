import { TextDecoder } from 'node:util';

/** What decodes the bytes of a text value. */
export interface TextDecoderLike {
  decode(bytes: Uint8Array): string;
}

/** ISO 8859-1 exactly (a WHATWG 'latin1' decoder is windows-1252). */
const LATIN1: TextDecoderLike = {
  decode: (bytes) =>
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'),
};

/**
 * Specific Character Set defined terms (PS3.3 C.12.1.1.2) and the WHATWG encodings that decode
 * them. ISO 2022 escape sequences are interpreted only where the encoding itself does (the
 * Japanese ISO-2022-JP); otherwise the term's repertoire is used for the whole value.
 */
const ENCODINGS: Readonly<Record<string, string>> = {
  'ISO_IR 101': 'iso-8859-2',
  'ISO_IR 109': 'iso-8859-3',
  'ISO_IR 110': 'iso-8859-4',
  'ISO_IR 144': 'iso-8859-5',
  'ISO_IR 127': 'iso-8859-6',
  'ISO_IR 126': 'iso-8859-7',
  'ISO_IR 138': 'iso-8859-8',
  'ISO_IR 148': 'iso-8859-9',
  'ISO_IR 203': 'iso-8859-15',
  'ISO_IR 13': 'shift_jis',
  'ISO_IR 166': 'tis-620',
  'ISO_IR 192': 'utf-8',
  GB18030: 'gb18030',
  GBK: 'gbk',
  'ISO 2022 IR 87': 'iso-2022-jp',
  'ISO 2022 IR 159': 'iso-2022-jp',
  'ISO 2022 IR 149': 'euc-kr',
  'ISO 2022 IR 58': 'gbk',
};

/** Terms naming the default repertoire (ASCII). */
const DEFAULT_TERMS = new Set(['', 'ISO_IR 6', 'ISO 2022 IR 6']);

const decoders = new Map<string, TextDecoderLike>();

function decoderFor(label: string): TextDecoderLike {
  let decoder = decoders.get(label);
  if (!decoder) {
    try {
      decoder = new TextDecoder(label);
    } catch {
      decoder = LATIN1; // an encoding this Node build lacks: best effort
    }
    decoders.set(label, decoder);
  }
  return decoder;
}

/**
 * The decoder for a Specific Character Set value (PS3.5 6.1.2.3), for the text VRs it governs
 * (SH, LO, ST, LT, PN, UC, UT). The first term other than the default repertoire decides
 * (`\ISO 2022 IR 87` is Japanese, its first term being the default); Latin-1 (ISO_IR 100), a
 * value naming no other term and a term without a decoder are read as ISO 8859-1.
 */
export function characterSetDecoder(specificCharacterSet: string | undefined): TextDecoderLike {
  const terms = (specificCharacterSet ?? '').replace(/\0/g, '').split('\\');
  for (const term of terms.map((t) => t.trim())) {
    if (DEFAULT_TERMS.has(term)) continue;
    const encoding = ENCODINGS[term] ?? ENCODINGS[term.replace(/^ISO 2022 IR /, 'ISO_IR ')];
    return encoding ? decoderFor(encoding) : LATIN1;
  }
  return LATIN1;
}
