import { describe, expect, it } from 'vitest';
import { buildAck, decisionFromError, formatHl7Time } from '../../../src/hl7/ack.js';
import { encodeText } from '../../../src/hl7/encoding.js';
import { Hl7Error } from '../../../src/hl7/errors.js';
import { parseHl7 } from '../../../src/hl7/message.js';
import { MllpDecoder, frame } from '../../../src/hl7/mllp-framing.js';
import { mdm } from '../../helpers/hl7-messages.js';

const NOW = new Date(2025, 0, 14, 9, 30, 5);
const OPTIONS = { now: NOW, controlId: 'ACK1' };

function lines(ack: string): string[] {
  expect(ack.endsWith('\r')).toBe(true);
  return ack.slice(0, -1).split('\r');
}

describe('formatHl7Time', () => {
  it('writes local time to the second with the UTC offset', () => {
    expect(formatHl7Time(NOW)).toMatch(/^20250114093005[+-]\d{4}$/);
    const offset = -NOW.getTimezoneOffset();
    const sign = offset >= 0 ? '+' : '-';
    const hh = String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0');
    const mm = String(Math.abs(offset) % 60).padStart(2, '0');
    expect(formatHl7Time(NOW)).toBe(`20250114093005${sign}${hh}${mm}`);
  });
});

describe('buildAck', () => {
  it('answers AA with sender and receiver swapped, same version, MSA-2 = MSH-10', () => {
    const message = parseHl7(mdm());
    const [header, msa, ...rest] = lines(buildAck(message, { code: 'AA' }, OPTIONS));
    expect(header).toBe(
      `MSH|^~\\&|FSEBRIDGE|ASLTO3|RIS_ELCO|ASLTO3|${formatHl7Time(NOW)}||ACK^T02^ACK|ACK1|P|2.5`,
    );
    expect(msa).toBe('MSA|AA|RIS000123456');
    expect(rest).toEqual([]);
  });

  it('echoes hierarchic designators, processing id and MSH-18 as received', () => {
    const text =
      'MSH|^~\\&|RIS^2.16.840.1.113883.2.9.2.10^ISO|ASLTO3|BRIDGE^1.2.3^ISO|ASR|2025||ORU^R01^ORU_R01|C9|T|2.6|||||ITA|8859/1\r';
    const [header, msa] = lines(buildAck(parseHl7(text), { code: 'AA' }, OPTIONS));
    expect(header).toBe(
      `MSH|^~\\&|BRIDGE^1.2.3^ISO|ASR|RIS^2.16.840.1.113883.2.9.2.10^ISO|ASLTO3|${formatHl7Time(NOW)}||ACK^R01^ACK|ACK1|T|2.6||||||8859/1`,
    );
    expect(msa).toBe('MSA|AA|C9');
  });

  it('answers AE with the reason in MSA-3 and a v2.5 ERR (location, table 0357 code, text)', () => {
    const message = parseHl7(mdm());
    const ack = buildAck(
      message,
      {
        code: 'AE',
        reason: 'no OBX with OBX-2 = RP (accession number)',
        errorCode: 101,
        location: { segment: 'OBX', field: 2 },
      },
      OPTIONS,
    );
    const [, msa, err] = lines(ack);
    expect(msa).toBe('MSA|AE|RIS000123456|no OBX with OBX-2 = RP (accession number)');
    expect(err).toBe(
      'ERR||OBX^1^2|101^Required field missing^HL70357|E||||no OBX with OBX-2 = RP (accession number)',
    );
  });

  it('writes the component in ERR-2 and the occurrence of the segment', () => {
    const ack = buildAck(
      parseHl7(mdm()),
      {
        code: 'AE',
        reason: 'x',
        errorCode: 102,
        location: { segment: 'OBX', sequence: 3, field: 5, component: 1 },
      },
      OPTIONS,
    );
    expect(lines(ack)[2]).toBe('ERR||OBX^3^5^^1|102^Data type error^HL70357|E||||x');
  });

  it('escapes delimiters in the reason, so that it reads back the same', () => {
    const reason = 'bad | field ^ with & and ~ and \\ inside\nand a line break';
    const ack = buildAck(parseHl7(mdm()), { code: 'AR', reason }, OPTIONS);
    const parsed = parseHl7(ack);
    expect(parsed.field('ERR', 8).value).toBe(reason.replace('\n', ' '));
    expect(parsed.field('MSA', 3).value).toBe(reason.replace('\n', ' '));
    expect(parsed.field('ERR', 3).value).toBe('207');
    expect(parsed.header.messageType).toBe('ACK');
  });

  it("answers in the message's own delimiters", () => {
    const text = 'MSH#*@!%#RIS#ASLTO3#FSEBRIDGE#ASLTO3#20250114##MDM*T02*MDM_T02#ID1#P#2.5\r';
    const ack = buildAck(parseHl7(text), { code: 'AR', reason: 'a*b' }, OPTIONS);
    const [header, msa, err] = lines(ack);
    expect(header).toBe(
      `MSH#*@!%#FSEBRIDGE#ASLTO3#RIS#ASLTO3#${formatHl7Time(NOW)}##ACK*T02*ACK#ACK1#P#2.5`,
    );
    expect(msa).toBe('MSA#AR#ID1#a!S!b');
    expect(err).toBe('ERR###207*Application internal error*HL70357#E####a!S!b');
  });

  it('uses the ERR-1 layout and no message structure before v2.5 / v2.3.1', () => {
    const text = 'MSH|^~\\&|RIS|ASLTO3|FSEBRIDGE|ASLTO3|20250114||MDM^T02|ID1|P|2.3\r';
    const ack = buildAck(
      parseHl7(text),
      {
        code: 'AE',
        reason: 'PV1 segment is missing',
        errorCode: 100,
        location: { segment: 'PV1' },
      },
      OPTIONS,
    );
    const [header, msa, err] = lines(ack);
    expect(header).toContain('|ACK^T02|ACK1|P|2.3');
    expect(msa).toBe('MSA|AE|ID1|PV1 segment is missing');
    expect(err).toBe('ERR|PV1^1^^100&PV1 segment is missing&HL70357');
  });

  it('leaves MSA-3 out from v2.7 on', () => {
    const text = 'MSH|^~\\&|RIS|ASLTO3|FSEBRIDGE|ASLTO3|20250114||MDM^T02^MDM_T02|ID1|P|2.7.1\r';
    const [, msa, err] = lines(buildAck(parseHl7(text), { code: 'AR', reason: 'nope' }, OPTIONS));
    expect(msa).toBe('MSA|AR|ID1');
    expect(err).toContain('|nope');
  });

  it('answers what has no readable MSH in |^~\\& v2.5 with MSA-2 empty and our names', () => {
    const ack = buildAck(
      {},
      { code: 'AR', reason: 'message does not start with an MSH segment' },
      {
        ...OPTIONS,
        application: 'FSEBRIDGE',
        facility: 'ASR',
      },
    );
    const [header, msa] = lines(ack);
    expect(header).toBe(`MSH|^~\\&|FSEBRIDGE|ASR|||${formatHl7Time(NOW)}||ACK|ACK1|P|2.5`);
    expect(msa).toBe('MSA|AR||message does not start with an MSH segment');
  });

  it.each(['\\X1C\\', '\\X0B\\', '\\X00\\', '\\X7F\\'])(
    'writes no raw control character for a trigger event of %s, so the ACK frames and reads back',
    (trigger) => {
      const text = `MSH|^~\\&|RIS|ASLTO3|BRIDGE|ASLTO3|20250114093005||MDM^${trigger}|C1|P|2.5\r`;
      const message = parseHl7(Buffer.from(text));
      const bytes = encodeText(buildAck(message, { code: 'AR', reason: 'no' }, OPTIONS), 'utf-8');
      expect([...bytes].filter((b) => (b < 0x20 && b !== 0x0d) || b === 0x7f)).toEqual([]);
      expect(new MllpDecoder(1024).push(frame(bytes))).toEqual([{ type: 'message', bytes }]);
      const ack = parseHl7(bytes);
      expect(ack.msh.field(9).raw).toBe(`ACK^${trigger}^ACK`);
      expect(ack.header.triggerEvent).toBe(message.header.triggerEvent);
      expect(ack.field('MSA', 1).value).toBe('AR');
      expect(ack.field('MSA', 2).value).toBe('C1');
    },
  );

  it.each([
    ['+', '2.5'],
    ['-', '2.5'],
    ['.', ''],
  ])(
    'answers a field separator %j with an ACK that reads back the same (time, version escaped)',
    (separator, version) => {
      // `+` and `-` cover the sign of the UTC offset in any time zone; `.` the default version.
      const fields = ['MSH', '^~\\&', 'RIS', 'ASLTO3', 'BRIDGE', 'ASLTO3', '20250114093005', ''];
      const text = [...fields, 'MDM^T02', 'C1', 'P', version].join(separator) + '\r';
      const ack = parseHl7(buildAck(parseHl7(text), { code: 'AA' }, OPTIONS));
      expect(ack.delimiters.field).toBe(separator);
      expect(ack.header).toMatchObject({
        sendingApplication: 'BRIDGE',
        receivingFacility: 'ASLTO3',
        dateTime: formatHl7Time(NOW),
        messageType: 'ACK',
        triggerEvent: 'T02',
        messageStructure: 'ACK',
        controlId: 'ACK1',
        processingId: 'P',
        version: '2.5',
      });
      expect(ack.msh.fieldCount).toBe(12);
      expect(ack.field('MSA', 1).value).toBe('AA');
      expect(ack.field('MSA', 2).value).toBe('C1');
    },
  );

  it('echoes a control id in ISO 8859-15 (MSH-18 8859/15) as the same bytes', () => {
    const text =
      'MSH|^~\\&|RIS|ASLTO3|BRIDGE|ASLTO3|20250114093005||MDM^T02|CTRL\xa41|P|2.5||||||8859/15\r';
    const message = parseHl7(Buffer.from(text, 'latin1'));
    expect(message.header.controlId).toBe('CTRL€1');
    const bytes = encodeText(buildAck(message, { code: 'AA' }, OPTIONS), message.charset);
    expect(bytes.subarray(bytes.indexOf('MSA|'))).toEqual(
      Buffer.from('MSA|AA|CTRL\xa41\r', 'latin1'),
    );
    expect(parseHl7(bytes).field('MSA', 2).value).toBe('CTRL€1');
  });

  it('makes a fresh control id for each ACK by default', () => {
    const message = parseHl7(mdm());
    const a = parseHl7(buildAck(message, { code: 'AA' })).header.controlId;
    const b = parseHl7(buildAck(message, { code: 'AA' })).header.controlId;
    expect(a).toMatch(/^A[0-9a-f]{16}$/);
    expect(a).not.toBe(b);
  });
});

describe('decisionFromError', () => {
  it('keeps the answer an Hl7Error carries', () => {
    const error = new Hl7Error('PID segment is missing', {
      ack: 'AE',
      code: 100,
      location: { segment: 'PID' },
    });
    expect(decisionFromError(error)).toEqual({
      code: 'AE',
      reason: 'PID segment is missing',
      errorCode: 100,
      location: { segment: 'PID' },
    });
  });

  it('answers AR 207 to any other error, without its text', () => {
    expect(decisionFromError(new Error('SQLITE_BUSY: patient RSSMRA80A01H501U'))).toEqual({
      code: 'AR',
      reason: 'application internal error',
      errorCode: 207,
    });
  });
});
