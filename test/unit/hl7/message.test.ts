import { describe, expect, it } from 'vitest';
import { Hl7Error } from '../../../src/hl7/errors.js';
import { parseHl7, readHeader } from '../../../src/hl7/message.js';
import { CODICE_FISCALE, mdm, msh } from '../../helpers/hl7-messages.js';

function parseError(input: string | Buffer): Hl7Error {
  try {
    parseHl7(input);
  } catch (error) {
    expect(error).toBeInstanceOf(Hl7Error);
    return error as Hl7Error;
  }
  throw new Error('expected an Hl7Error');
}

describe('parseHl7', () => {
  it('reads the header, numbering MSH fields as HL7 does', () => {
    const message = parseHl7(mdm());
    expect(message.header).toEqual({
      sendingApplication: 'RIS_ELCO',
      sendingFacility: 'ASLTO3',
      receivingApplication: 'FSEBRIDGE',
      receivingFacility: 'ASLTO3',
      dateTime: '20250114093005',
      messageType: 'MDM',
      triggerEvent: 'T02',
      messageStructure: 'MDM_T02',
      controlId: 'RIS000123456',
      processingId: 'P',
      version: '2.5',
      characterSet: '',
    });
    expect(message.msh.field(1).value).toBe('|');
    expect(message.msh.field(2).value).toBe('^~\\&');
    expect(message.msh.field(2).repetitions()).toHaveLength(1);
    expect(message.field('MSH', 9).component(3)).toBe('MDM_T02');
    expect(message.segments.map((s) => s.name)).toEqual([
      'MSH',
      'EVN',
      'PID',
      'PV1',
      'TXA',
      'OBX',
      'OBX',
    ]);
  });

  it('reads repetitions, components and subcomponents', () => {
    const message = parseHl7(mdm());
    const ids = message.field('PID', 3).repetitions();
    expect(ids.map((r) => r.component(1))).toEqual(['12345', CODICE_FISCALE, 'PAT0099887']);
    expect(ids[0]!.component(4)).toBe('RIS');
    expect(ids[1]!.component(4, 2)).toBe('2.16.840.1.113883.2.9.4.3.2');
    expect(ids[1]!.subcomponents(4)).toEqual(['', '2.16.840.1.113883.2.9.4.3.2', 'ISO']);
    expect(ids[1]!.component(5)).toBe('NNITA');
    expect(ids[2]!.components()).toEqual(['PAT0099887', '', '', 'PACS_ASLTO3', 'PI']);
    expect(message.field('PV1', 3).component(4)).toBe('010301');
    expect(message.field('PID', 5).component(2)).toBe('MARIO');
    expect(message.segmentsNamed('OBX').map((obx) => obx.field(2).value)).toEqual(['RP', 'TX']);
  });

  it('gives empty values for what is absent, and reads HL7 null ("") as empty', () => {
    const message = parseHl7(`${msh()}\rPID|1||""~7^^^RIS||""\r`);
    expect(message.field('PID', 5).isEmpty).toBe(true);
    expect(message.field('PID', 5).value).toBe('');
    expect(
      message
        .field('PID', 3)
        .repetitions()
        .map((r) => r.component(1)),
    ).toEqual(['', '7']);
    expect(message.field('PID', 40).isEmpty).toBe(true);
    expect(message.field('PID', 40).repetitions()).toEqual([]);
    expect(message.field('ZZZ', 1).value).toBe('');
    expect(message.field('PID', 3).component(9, 3)).toBe('');
    expect(message.segment('PID')!.fieldCount).toBe(5);
  });

  it('unescapes \\F\\ \\S\\ \\T\\ \\R\\ \\E\\, hex and line breaks only in leaf values', () => {
    const text = 'a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\X41\\\\.br\\g';
    const message = parseHl7(`${msh()}\rOBX|1|TX|||${text}^second\r`);
    const obx5 = message.field('OBX', 5);
    expect(obx5.component(1)).toBe('a|b^c&d~e\\fA\ng');
    expect(obx5.component(2)).toBe('second');
    expect(obx5.repetitions()).toHaveLength(1);
  });

  it('keeps unknown and unterminated escapes as written, drops highlighting', () => {
    const message = parseHl7(
      `${msh()}\rNTE|1||\\H\\bold\\N\\ \\Zlocal\\ \\Xzz\\ tail\\unterminated\r`,
    );
    expect(message.field('NTE', 3).value).toBe('bold \\Zlocal\\ \\Xzz\\ tail\\unterminated');
  });

  it('uses the delimiters MSH-1 and MSH-2 declare', () => {
    const header = 'MSH#*@!%#RIS#ASLTO3#FSEBRIDGE#ASLTO3#20250114##MDM*T02#ID1#P#2.5';
    const message = parseHl7(`${header}\rPID#1##A*B@C%D!E%%X#x!F!y\r`);
    expect(message.delimiters).toEqual({
      field: '#',
      component: '*',
      repetition: '@',
      escape: '!',
      subcomponent: '%',
    });
    expect(message.header.triggerEvent).toBe('T02');
    const pid3 = message.field('PID', 3).repetitions();
    expect(pid3.map((r) => r.raw)).toEqual(['A*B', 'C%D!E%%X']);
    expect(pid3[1]!.subcomponents(1)).toEqual(['C', 'D!E', '', 'X']);
    expect(message.field('PID', 4).value).toBe('x#y');
  });

  it('accepts a fifth (truncation) encoding character', () => {
    const message = parseHl7('MSH|^~\\&#|A|B|C|D|20250101||MDM^T02|X1|P|2.7\r');
    expect(message.delimiters.subcomponent).toBe('&');
    expect(message.header.version).toBe('2.7');
  });

  it('accepts LF and CRLF segment separators and blank lines', () => {
    for (const separator of ['\n', '\r\n', '\r\r', '\n\n']) {
      const text = mdm().split('\r').join(separator);
      const message = parseHl7(`${separator}${text}${separator}`);
      expect(message.segments).toHaveLength(7);
      expect(message.field('TXA', 12).value).toBe('RAD-2025-000123');
    }
  });

  it('decodes ISO 8859-1 when MSH-18 says 8859/1', () => {
    const text = `${msh({ charset: '8859/1' })}\rPID|1||1^^^RIS||NICCOLÒ^D'ANNUNZIO GIOSUÈ\r`;
    const message = parseHl7(Buffer.from(text, 'latin1'));
    expect(message.charset).toBe('latin1');
    expect(message.field('PID', 5).component(1)).toBe('NICCOLÒ');
    expect(message.field('PID', 5).component(2)).toBe("D'ANNUNZIO GIOSUÈ");
  });

  it('decodes UTF-8 when MSH-18 says UNICODE UTF-8, with hex escapes as UTF-8 bytes', () => {
    const text = `${msh({ charset: 'UNICODE UTF-8' })}\rPID|1||1^^^RIS||MÜLLER^JÖRG\\XC3A8\\\r`;
    const message = parseHl7(Buffer.from(text, 'utf8'));
    expect(message.charset).toBe('utf-8');
    expect(message.field('PID', 5).components()).toEqual(['MÜLLER', 'JÖRGè']);
  });

  it('reads hex escapes as Latin-1 bytes in a Latin-1 message', () => {
    const text = `${msh({ charset: '8859/1' })}\rPID|1||1^^^RIS||FORL\\XEC\\\r`;
    expect(parseHl7(Buffer.from(text, 'latin1')).field('PID', 5).value).toBe('FORLì');
  });

  it('decodes ISO 8859-15 (euro sign) when MSH-18 says 8859/15', () => {
    const bytes = Buffer.from(`${msh({ charset: '8859/15' })}\rNTE|1||10 X\r`, 'latin1');
    bytes[bytes.length - 2] = 0xa4;
    const message = parseHl7(bytes);
    expect(message.charset).toBe('latin9');
    expect(message.field('NTE', 3).value).toBe('10 €');
  });

  it('tells UTF-8 from Latin-1 when MSH-18 is empty', () => {
    const text = `${msh()}\rPID|1||1^^^RIS||NICCOLÒ\r`;
    const asUtf8 = parseHl7(Buffer.from(text, 'utf8'));
    expect(asUtf8.charset).toBe('utf-8');
    expect(asUtf8.field('PID', 5).value).toBe('NICCOLÒ');
    const asLatin1 = parseHl7(Buffer.from(text, 'latin1'));
    expect(asLatin1.charset).toBe('latin1');
    expect(asLatin1.field('PID', 5).value).toBe('NICCOLÒ');
  });

  it('skips a UTF-8 byte order mark', () => {
    const bytes = Buffer.concat([Buffer.of(0xef, 0xbb, 0xbf), Buffer.from(mdm())]);
    expect(parseHl7(bytes).header.controlId).toBe('RIS000123456');
  });

  it('refuses bytes that are not the UTF-8 MSH-18 declares', () => {
    const bytes = Buffer.from(
      `${msh({ charset: 'UNICODE UTF-8' })}\rPID|1||1||NICCOLÒ\r`,
      'latin1',
    );
    const error = parseError(bytes);
    expect(error.location).toEqual({ segment: 'MSH', field: 18 });
    expect(error.ack).toBe('AR');
    expect(error.code).toBe(102);
  });

  it('refuses a character set it does not know, naming MSH-18 and the value', () => {
    const error = parseError(`${msh({ charset: 'ISO IR87' })}\r`);
    expect(error.message).toBe('unsupported character set "ISO IR87" (MSH-18)');
    expect(error.code).toBe(103);
  });

  it.each([
    ['', 'empty message', undefined],
    ['\r\n\r', 'empty message', undefined],
    ['PID|1||1\rMSH|^~\\&|A', 'message does not start with an MSH segment', undefined],
    ['BHS|^~\\&|A\r', 'batch messages (FHS/BHS) are not supported', undefined],
    ['MSHA^~\\&|A|B', 'invalid field separator "A"', { segment: 'MSH', field: 1 }],
    ['MSH', 'invalid field separator ""', { segment: 'MSH', field: 1 }],
    ['MSH|^~|A|B', 'invalid encoding characters "^~"', { segment: 'MSH', field: 2 }],
    ['MSH|^^\\&|A|B', 'invalid encoding characters "^^\\\\&"', { segment: 'MSH', field: 2 }],
    ['MSH|^~\\a|A|B', 'invalid encoding characters', { segment: 'MSH', field: 2 }],
    ['MSH|^~\\||A', 'invalid encoding characters', { segment: 'MSH', field: 2 }],
    [
      'MSH|^~\\&|A|B|C|D|2025||^T02|ID1|P|2.5',
      'message type is missing',
      { segment: 'MSH', field: 9 },
    ],
    [
      'MSH|^~\\&|A|B|C|D|2025||MDM^T02||P|2.5',
      'message control id is missing',
      { segment: 'MSH', field: 10 },
    ],
    [`${msh()}\rpid|1`, 'segment 2 does not start with a segment name', undefined],
    [`${msh()}\r|PID|1`, 'segment 2 does not start with a segment name', undefined],
    [
      `${msh()}\r${msh()}`,
      'more than one message (MSH segment) in one frame',
      { segment: 'MSH', sequence: 2 },
    ],
  ])('refuses %j: %s', (input, reason, location) => {
    const error = parseError(input);
    expect(error.reason.startsWith(reason)).toBe(true);
    expect(error.location).toEqual(location);
    expect(error.ack).toBe('AR');
  });

  it.each(['00', '01', '0B', '1C', '1F', '7F'])(
    'refuses control character 0x%s as a delimiter with AR, naming MSH-1 or MSH-2',
    (hex) => {
      const c = String.fromCharCode(parseInt(hex, 16));
      const rest = ['A', 'B', 'C', 'D', '2025', '', 'MDM^T02', 'X1', 'P', '2.5'];
      const asField = `${['MSH', '^~\\&', ...rest].join(c)}\r`;
      expect(parseError(asField)).toMatchObject({
        ack: 'AR',
        code: 102,
        reason: `invalid field separator ${JSON.stringify(c)}`,
        location: { segment: 'MSH', field: 1 },
      });
      expect(readHeader(Buffer.from(asField, 'latin1'))).toBeUndefined();
      for (const encoding of [`${c}~\\&`, `^${c}\\&`, `^~${c}&`, `^~\\${c}`, `^~\\&${c}`]) {
        const error = parseError(`${['MSH', encoding, ...rest].join('|')}\r`);
        expect(error).toMatchObject({
          ack: 'AR',
          code: 102,
          location: { segment: 'MSH', field: 2 },
        });
        expect(error.reason).toBe(
          `invalid encoding characters ${JSON.stringify(encoding)}: expected 4 distinct separators such as ^~\\&`,
        );
      }
    },
  );
});

describe('readHeader', () => {
  it('reads the MSH of a message cut short, for an answer', () => {
    const bytes = Buffer.from(mdm()).subarray(0, 140);
    const head = readHeader(bytes);
    expect(head?.msh.field(10).value).toBe('RIS000123456');
    expect(head?.msh.field(4).value).toBe('ASLTO3');
    expect(() =>
      parseHl7(Buffer.from('MSH|^~\\&|A|B|C|D|2025||MDM^T02|X|P|2.5\rnot a segment')),
    ).toThrow(Hl7Error);
    expect(
      readHeader(
        Buffer.from('\r\nMSH|^~\\&|A|B|C|D|2025||MDM^T02|X|P|2.5\rnot a segment'),
      )?.msh.field(10).value,
    ).toBe('X');
  });

  it('reads the MSH of a message whose character set is unknown', () => {
    expect(readHeader(Buffer.from(`${msh({ charset: 'KLINGON' })}\r`))?.msh.field(10).value).toBe(
      'RIS000123456',
    );
  });

  it('finds nothing in bytes without an MSH', () => {
    expect(readHeader(Buffer.from('GET / HTTP/1.1\r\n'))).toBeUndefined();
    expect(readHeader(Buffer.alloc(0))).toBeUndefined();
    expect(readHeader(Buffer.from('   '))).toBeUndefined();
    expect(readHeader(Buffer.from('MSH|^^^^|x'))).toBeUndefined();
  });
});
