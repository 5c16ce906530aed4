import { describe, expect, it } from 'vitest';
import { mtomRootPart } from '../../../src/soap/mtom-request.js';
import { SoapFaultError } from '../../../src/soap/request.js';

const CONTENT_TYPE =
  'multipart/related; type="application/xop+xml"; boundary="b1"; start="<root>"; start-info="application/soap+xml"';

function multipart(xml: string, preamble = ''): Buffer {
  return Buffer.from(
    `${preamble}--b1\r\nContent-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"\r\nContent-ID: <root>\r\n\r\n${xml}\r\n--b1\r\nContent-ID: <other>\r\n\r\nnot the root\r\n--b1--\r\n`,
  );
}

describe('MTOM request root part', () => {
  it('reads the root part whole, with the charset its headers name', () => {
    const xml = '<v>a\r\nb</v>';
    for (const preamble of ['', 'a preamble\r\n']) {
      const root = mtomRootPart(multipart(xml, preamble), CONTENT_TYPE);
      expect(root.body.toString()).toBe(xml);
      expect(root.charset).toBe('UTF-8');
    }
  });

  it('takes "--boundary" not preceded by a line break as text, not as a delimiter', () => {
    const xml = '<v>before --b1 after</v><w>--b1--</w>';
    expect(mtomRootPart(multipart(xml), CONTENT_TYPE).body.toString()).toBe(xml);
  });

  it('refuses a body whose first boundary is neither at its start nor after a line break', () => {
    // "preamble--b1" is not a delimiter, so the root part is not found.
    expect(() => mtomRootPart(multipart('<v/>', 'preamble'), CONTENT_TYPE)).toThrow(
      new SoapFaultError(
        'Sender',
        'richiesta MTOM: nessuna parte ha il Content-ID di start <root>',
      ),
    );
  });
});
