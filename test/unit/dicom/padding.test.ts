import { describe, expect, it } from 'vitest';
import { analyseDataset } from '../../../src/dicom/analyse.js';
import { decodeIdentifier } from '../../../src/dicom/identifier-decode.js';
import { MAX_INDEXED_CHARS } from '../../../src/dicom/metadata.js';
import { trimEnd, trimStart } from '../../../src/dicom/padding.js';
import { decodeCommand } from '../../../src/dimse/command.js';
import { decodeAssociateRq, encodeAssociateRq } from '../../../src/dimse/pdu.js';
import { foldName } from '../../../src/index/qr-match.js';

/*
 * Values from peers lose their padding in linear time. A run of padding followed by another
 * character made the regular expression this replaces retry from every position: a 1 MB value
 * took minutes of CPU on the event loop, during which the daemon served nothing. The cases below
 * take milliseconds; with quadratic trimming this file would hang for that long (synchronous
 * work cannot be interrupted by a test timeout).
 */

const MB = 1024 * 1024;
/** `n` bytes of spaces followed by one other character: the worst case for a trailing trim. */
const spacesThen = (n: number, last = 'X'): string => ' '.repeat(n - 1) + last;

function implicit(group: number, element: number, value: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(element, 2);
  header.writeUInt32LE(value.length, 4);
  return Buffer.concat([header, value]);
}
const uid = (value: string): Buffer => Buffer.from(value.length % 2 ? `${value}\0` : value);

describe('trimEnd and trimStart', () => {
  it('remove the padding characters at one end only', () => {
    expect(trimEnd('1.2.3\0')).toBe('1.2.3');
    expect(trimEnd('DOE^JOHN  \0 ')).toBe('DOE^JOHN');
    expect(trimEnd('  DOE  ')).toBe('  DOE');
    expect(trimEnd(' \0 ')).toBe('');
    expect(trimEnd('')).toBe('');
    expect(trimEnd('Doe^John^^ ^', '^ ')).toBe('Doe^John');
    expect(trimStart('  DOE  ', ' ')).toBe('DOE  ');
    expect(trimStart('\0 \0x')).toBe('x');
  });
});

describe('padding in values from peers', () => {
  it('is removed from a 1 MB patient name of an instance', () => {
    const dataset = Buffer.concat([
      implicit(0x0008, 0x0016, uid('1.2.840.10008.5.1.4.1.1.7')),
      implicit(0x0008, 0x0018, uid('1.2.3.4.5')),
      implicit(0x0010, 0x0010, Buffer.from(`${spacesThen(MB - 4)}  `)),
      implicit(0x0020, 0x000d, uid('1.2.3.4')),
      implicit(0x0020, 0x000e, uid('1.2.3.4.6')),
    ]);
    const analysis = analyseDataset(dataset, '1.2.840.10008.1.2', 64 * MB);
    expect(analysis.uids.sopInstanceUid).toBe('1.2.3.4.5');
    expect(analysis.metadata.patient.name).toBe('X');
  });

  it('is removed from a 1 MB value of a C-FIND identifier', () => {
    const identifier = Buffer.concat([
      implicit(0x0008, 0x0052, Buffer.from('STUDY ')),
      implicit(0x0010, 0x0010, Buffer.from(`${spacesThen(MB - 4)}  `)),
    ]);
    const decoded = decodeIdentifier(identifier, { explicitVr: false });
    expect(decoded.get(0x00100010)?.value).toBe(spacesThen(MB - 4));
  });

  it('is removed from a 1 MB patient name as the index folds it for matching', () => {
    expect(foldName(`${spacesThen(MB, 'Doe')}^^ ^`)).toBe(spacesThen(MB, 'doe'));
  });

  it('is removed from a UID of an association request and from a command element', () => {
    const padded = `${spacesThen(60_000, '1')}\0`;
    const rq = decodeAssociateRq(
      encodeAssociateRq({
        calledAe: 'FSEBRIDGE',
        callingAe: 'STORESCU',
        applicationContext: padded,
        contexts: [{ id: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: [padded] }],
        user: {
          maxPduLength: 16384,
          implementationClassUid: '1.2.3',
          implementationVersionName: undefined,
          roles: [],
          asyncOps: undefined,
        },
      }).subarray(6),
    );
    expect(rq.applicationContext).toBe(spacesThen(60_000, '1'));
    expect(rq.contexts[0]!.transferSyntaxes).toEqual([spacesThen(60_000, '1')]);

    const command = decodeCommand(
      Buffer.concat([
        implicit(0x0000, 0x0002, Buffer.from(`${spacesThen(60_000, '1')}\0`)),
        implicit(0x0000, 0x0100, Buffer.from([0x30, 0x00])),
        implicit(0x0000, 0x0800, Buffer.from([0x01, 0x01])),
      ]),
    );
    expect(command.affectedSopClassUid).toBe('1');
  });
});

describe('text values longer than the index takes', () => {
  function patientNamed(name: string): ReturnType<typeof analyseDataset> {
    const value = Buffer.from(name.length % 2 ? `${name} ` : name);
    return analyseDataset(
      Buffer.concat([
        implicit(0x0008, 0x0016, uid('1.2.840.10008.5.1.4.1.1.7')),
        implicit(0x0008, 0x0018, uid('1.2.3.4.5')),
        implicit(0x0010, 0x0010, value),
        implicit(0x0010, 0x0020, Buffer.from('PID7')),
        implicit(0x0020, 0x000d, uid('1.2.3.4')),
        implicit(0x0020, 0x000e, uid('1.2.3.4.6')),
      ]),
      '1.2.840.10008.1.2',
      64 * MB,
    );
  }

  it(`are left out of the index with a warning naming the field, over ${MAX_INDEXED_CHARS} characters`, () => {
    const long = patientNamed('A'.repeat(MAX_INDEXED_CHARS + 1));
    expect(long.metadata.patient.name).toBeUndefined();
    expect(long.metadata.patient.id).toBe('PID7');
    expect(long.warnings).toEqual([
      `PatientName is longer than ${MAX_INDEXED_CHARS} characters: not indexed`,
    ]);
    const atLimit = patientNamed('A'.repeat(MAX_INDEXED_CHARS));
    expect(atLimit.metadata.patient.name).toBe('A'.repeat(MAX_INDEXED_CHARS));
    expect(atLimit.warnings).toEqual([]);
  });
});
