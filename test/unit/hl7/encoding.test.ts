import { describe, expect, it } from 'vitest';
import {
  type Charset,
  DEFAULT_DELIMITERS,
  encodeText,
  escapeValue,
  unescapeValue,
} from '../../../src/hl7/encoding.js';

const CHARSETS: Charset[] = ['utf-8', 'latin1', 'latin9'];

describe('escapeValue', () => {
  it('writes control characters other than CR and LF as \\Xhh\\', () => {
    expect(escapeValue('a\x00b\x0bc\x1cd\x1fe\x7ff\tg', DEFAULT_DELIMITERS)).toBe(
      'a\\X00\\b\\X0B\\c\\X1C\\d\\X1F\\e\\X7F\\f\\X09\\g',
    );
    expect(escapeValue('a\rb\nc', DEFAULT_DELIMITERS)).toBe('a b c');
    expect(escapeValue('città 10 €', DEFAULT_DELIMITERS)).toBe('città 10 €');
  });

  it('escapes so that the value reads back the same in every charset', () => {
    let controls = '';
    for (let code = 0; code <= 0x1f; code++)
      if (code !== 0x0d && code !== 0x0a) controls += String.fromCharCode(code);
    const text = `${controls}\x7f|^~\\&é`;
    const escaped = escapeValue(text, DEFAULT_DELIMITERS);
    expect([...escaped].filter((c) => c < ' ' || c === '\x7f')).toEqual([]);
    for (const charset of CHARSETS)
      expect(unescapeValue(escaped, DEFAULT_DELIMITERS, charset)).toBe(text);
  });

  it('writes a space for a control character when there is no escape character', () => {
    expect(escapeValue('a\x1cb\x0bc', { ...DEFAULT_DELIMITERS, escape: '' })).toBe('a b c');
  });
});

describe('encodeText', () => {
  it('encodes ISO 8859-15 so that every byte decodes and encodes back the same', () => {
    const latin9 = new TextDecoder('iso-8859-15');
    for (let byte = 0; byte <= 0xff; byte++) {
      const text = latin9.decode(Uint8Array.of(byte));
      expect([...encodeText(text, 'latin9')]).toEqual([byte]);
    }
  });

  it('writes € Š š Ž ž Œ œ Ÿ in ISO 8859-15, and ? for the Latin-1 characters it lacks', () => {
    expect([...encodeText('€ŠšŽžŒœŸ', 'latin9')]).toEqual([
      0xa4, 0xa6, 0xa8, 0xb4, 0xb8, 0xbc, 0xbd, 0xbe,
    ]);
    expect(encodeText('¤¦¨´¸¼½¾', 'latin9').toString('latin1')).toBe('????????');
  });

  it('writes ISO 8859-1 byte for character, ? beyond it', () => {
    expect([...encodeText('¤é€', 'latin1')]).toEqual([0xa4, 0xe9, 0x3f]);
    expect(encodeText('é€', 'utf-8')).toEqual(Buffer.from('é€', 'utf8'));
  });
});
