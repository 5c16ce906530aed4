import { describe, expect, it } from 'vitest';
import {
  CommandError,
  CommandField,
  NO_DATASET,
  decodeCommand,
  encodeCommand,
  type Command,
} from '../../../src/dimse/command.js';

const CT = '1.2.840.10008.5.1.4.1.1.2'; // odd length
const SOP = '1.2.3.4.5.6.7.8.9.10'; // even length

/** Walk an implicit VR little endian command set: [tag, value bytes] in order. */
function elements(bytes: Buffer): Array<[number, Buffer]> {
  const out: Array<[number, Buffer]> = [];
  for (let offset = 0; offset < bytes.length;) {
    const tag = ((bytes.readUInt16LE(offset) << 16) | bytes.readUInt16LE(offset + 2)) >>> 0;
    const length = bytes.readUInt32LE(offset + 4);
    out.push([tag, bytes.subarray(offset + 8, offset + 8 + length)]);
    offset += 8 + length;
  }
  return out;
}

function element(tag: number, value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  const header = Buffer.alloc(8);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  header.writeUInt32LE(bytes.length, 4);
  return Buffer.concat([header, bytes]);
}

function us(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16LE(value, 0);
  return bytes;
}

describe('DIMSE command sets', () => {
  const commands: Array<[string, Command]> = [
    [
      'C-ECHO-RQ',
      {
        commandField: CommandField.CEchoRq,
        messageId: 1,
        affectedSopClassUid: '1.2.840.10008.1.1',
        hasDataset: false,
      },
    ],
    [
      'C-ECHO-RSP',
      {
        commandField: CommandField.CEchoRsp,
        messageIdBeingRespondedTo: 1,
        affectedSopClassUid: '1.2.840.10008.1.1',
        hasDataset: false,
        status: 0,
      },
    ],
    [
      'C-STORE-RQ',
      {
        commandField: CommandField.CStoreRq,
        messageId: 0xffff,
        affectedSopClassUid: CT,
        affectedSopInstanceUid: SOP,
        priority: 0,
        hasDataset: true,
        moveOriginatorAe: 'MOVESCU',
        moveOriginatorMessageId: 7,
      },
    ],
    [
      'C-STORE-RSP with error comment',
      {
        commandField: CommandField.CStoreRsp,
        messageIdBeingRespondedTo: 3,
        affectedSopClassUid: CT,
        affectedSopInstanceUid: SOP,
        hasDataset: false,
        status: 0xc000,
        errorComment: 'dataset is truncated',
        offendingElement: [0x00080018, 0x7fe00010],
      },
    ],
    [
      'C-FIND-RQ',
      {
        commandField: CommandField.CFindRq,
        messageId: 2,
        affectedSopClassUid: '1.2.840.10008.5.1.4.1.2.2.1',
        priority: 2,
        hasDataset: true,
      },
    ],
    [
      'C-MOVE-RSP',
      {
        commandField: CommandField.CMoveRsp,
        messageIdBeingRespondedTo: 4,
        hasDataset: false,
        status: 0xff00,
        remaining: 10,
        completed: 5,
        failed: 1,
        warning: 0,
        errorId: 3,
      },
    ],
    [
      'C-MOVE-RQ',
      {
        commandField: CommandField.CMoveRq,
        messageId: 9,
        affectedSopClassUid: '1.2.840.10008.5.1.4.1.2.2.2',
        priority: 0,
        moveDestination: 'FSEBRIDGE',
        hasDataset: true,
      },
    ],
    [
      'C-CANCEL-RQ',
      { commandField: CommandField.CCancelRq, messageIdBeingRespondedTo: 2, hasDataset: false },
    ],
    [
      'N-style requested UIDs',
      {
        commandField: 0x0120,
        messageId: 5,
        requestedSopClassUid: CT,
        requestedSopInstanceUid: SOP,
        hasDataset: false,
      },
    ],
  ];

  for (const [name, command] of commands) {
    it(`round-trips ${name}`, () => {
      expect(decodeCommand(encodeCommand(command))).toEqual(command);
    });
  }

  it('starts with a correct command group length and writes elements in ascending tag order', () => {
    for (const [name, command] of commands) {
      const encoded = encodeCommand(command);
      const list = elements(encoded);
      expect(list[0]![0], name).toBe(0x00000000);
      expect(list[0]![1].length, name).toBe(4);
      expect(list[0]![1].readUInt32LE(0), name).toBe(encoded.length - 12);
      const tags = list.map(([tag]) => tag);
      expect(tags, name).toEqual([...tags].sort((a, b) => a - b));
      expect(new Set(tags).size, name).toBe(tags.length);
      for (const [tag, value] of list)
        expect(value.length % 2, `${name} (0000,${tag.toString(16)}) even length`).toBe(0);
    }
  });

  it('pads odd-length UIDs with NUL and AE titles with a space, and writes CommandDataSetType', () => {
    const encoded = encodeCommand({
      commandField: CommandField.CMoveRq,
      messageId: 1,
      affectedSopClassUid: CT,
      moveDestination: 'DEST',
      hasDataset: true,
    });
    const byTag = new Map(elements(encoded));
    expect(byTag.get(0x00000002)!.toString('latin1')).toBe(`${CT}\0`);
    expect(byTag.get(0x00000600)!.toString('latin1')).toBe('DEST');
    expect(byTag.get(0x00000100)!.readUInt16LE(0)).toBe(CommandField.CMoveRq);
    expect(byTag.get(0x00000800)!.readUInt16LE(0)).not.toBe(NO_DATASET);
    const odd = new Map(
      elements(
        encodeCommand({
          commandField: CommandField.CMoveRq,
          moveDestination: 'ODD',
          hasDataset: false,
        }),
      ),
    );
    expect(odd.get(0x00000600)!.toString('latin1')).toBe('ODD ');
    expect(odd.get(0x00000800)!.readUInt16LE(0)).toBe(NO_DATASET);
  });

  it('decodes a command from another implementation: unknown elements skipped, padding and leading spaces stripped', () => {
    const body = Buffer.concat([
      element(0x00000002, `${CT}\0`),
      element(0x00000100, us(CommandField.CStoreRq)),
      element(0x00000110, us(12)),
      element(0x00000700, us(0)),
      element(0x00000800, us(0x0102)), // any value other than 0x0101 means a dataset follows
      element(0x00000888, us(1)), // not a DIMSE-C element
      element(0x00001000, `${SOP}`),
      element(0x00001030, '  MOVESCU '),
    ]);
    const groupLength = element(
      0x00000000,
      Buffer.from([body.length & 0xff, body.length >> 8, 0, 0]),
    );
    expect(decodeCommand(Buffer.concat([groupLength, body]))).toEqual({
      commandField: CommandField.CStoreRq,
      messageId: 12,
      priority: 0,
      affectedSopClassUid: CT,
      affectedSopInstanceUid: SOP,
      moveOriginatorAe: 'MOVESCU',
      hasDataset: true,
    });
  });

  it('throws CommandError when CommandField is missing', () => {
    const bytes = Buffer.concat([
      element(0x00000002, `${CT}\0`),
      element(0x00000110, us(1)),
      element(0x00000800, us(NO_DATASET)),
    ]);
    expect(() => decodeCommand(bytes)).toThrow(CommandError);
    expect(() => decodeCommand(bytes)).toThrow(/CommandField/);
  });

  it('throws CommandError when CommandDataSetType is missing', () => {
    expect(() => decodeCommand(element(0x00000100, us(CommandField.CEchoRq)))).toThrow(
      CommandError,
    );
  });

  it('throws CommandError on truncation, a non-command group and a malformed US value', () => {
    const encoded = encodeCommand(commands[2]![1]);
    for (const cut of [1, 7, 12, 20, encoded.length - 1]) {
      expect(() => decodeCommand(encoded.subarray(0, cut)), `cut at ${cut}`).toThrow(CommandError);
    }
    const withGroup8 = Buffer.concat([encodeCommand(commands[0]![1]), element(0x00080018, SOP)]);
    expect(() => decodeCommand(withGroup8)).toThrow(CommandError);
    expect(() =>
      decodeCommand(
        Buffer.concat([element(0x00000100, Buffer.alloc(4)), element(0x00000800, us(NO_DATASET))]),
      ),
    ).toThrow(CommandError);
  });

  it('throws CommandError on an empty command set', () => {
    expect(() => decodeCommand(Buffer.alloc(0))).toThrow(CommandError);
  });
});
