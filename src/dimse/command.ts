/**
 * PS3.7 command sets: group 0000, always Implicit VR Little Endian, with the command group
 * length first. Only the elements of the DIMSE-C services are known; an unknown element in a
 * received command is kept out of the typed result but does not fail decoding.
 */
import { trimEnd, trimStart } from '../dicom/padding.js';

export const CommandField = {
  CStoreRq: 0x0001,
  CStoreRsp: 0x8001,
  CGetRq: 0x0010,
  CGetRsp: 0x8010,
  CFindRq: 0x0020,
  CFindRsp: 0x8020,
  CMoveRq: 0x0021,
  CMoveRsp: 0x8021,
  CEchoRq: 0x0030,
  CEchoRsp: 0x8030,
  CCancelRq: 0x0fff,
} as const;

/** CommandDataSetType value meaning "no dataset follows". */
export const NO_DATASET = 0x0101;

export interface Command {
  commandField: number;
  messageId?: number;
  messageIdBeingRespondedTo?: number;
  affectedSopClassUid?: string;
  requestedSopClassUid?: string;
  affectedSopInstanceUid?: string;
  requestedSopInstanceUid?: string;
  moveDestination?: string;
  priority?: number;
  /** True when a dataset follows the command (CommandDataSetType != 0x0101). */
  hasDataset: boolean;
  status?: number;
  offendingElement?: number[];
  errorComment?: string;
  errorId?: number;
  remaining?: number;
  completed?: number;
  failed?: number;
  warning?: number;
  moveOriginatorAe?: string;
  moveOriginatorMessageId?: number;
}

type Vr = 'UI' | 'US' | 'AE' | 'LO' | 'AT';
type Field = Exclude<keyof Command, 'hasDataset'>;

/** Elements in ascending tag order, as they must be encoded. */
const ELEMENTS: ReadonlyArray<readonly [tag: number, field: Field | 'dataSetType', vr: Vr]> = [
  [0x00000002, 'affectedSopClassUid', 'UI'],
  [0x00000003, 'requestedSopClassUid', 'UI'],
  [0x00000100, 'commandField', 'US'],
  [0x00000110, 'messageId', 'US'],
  [0x00000120, 'messageIdBeingRespondedTo', 'US'],
  [0x00000600, 'moveDestination', 'AE'],
  [0x00000700, 'priority', 'US'],
  [0x00000800, 'dataSetType', 'US'],
  [0x00000900, 'status', 'US'],
  [0x00000901, 'offendingElement', 'AT'],
  [0x00000902, 'errorComment', 'LO'],
  [0x00000903, 'errorId', 'US'],
  [0x00001000, 'affectedSopInstanceUid', 'UI'],
  [0x00001001, 'requestedSopInstanceUid', 'UI'],
  [0x00001020, 'remaining', 'US'],
  [0x00001021, 'completed', 'US'],
  [0x00001022, 'failed', 'US'],
  [0x00001023, 'warning', 'US'],
  [0x00001030, 'moveOriginatorAe', 'AE'],
  [0x00001031, 'moveOriginatorMessageId', 'US'],
];

const BY_TAG = new Map(ELEMENTS.map(([tag, field, vr]) => [tag, { field, vr }]));

/** A command set that cannot be decoded. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

function encodeValue(vr: Vr, value: unknown): Buffer {
  switch (vr) {
    case 'US': {
      const buffer = Buffer.allocUnsafe(2);
      buffer.writeUInt16LE(Number(value) & 0xffff, 0);
      return buffer;
    }
    case 'AT': {
      const tags = value as number[];
      const buffer = Buffer.allocUnsafe(4 * tags.length);
      tags.forEach((tag, i) => {
        buffer.writeUInt16LE(tag >>> 16, 4 * i);
        buffer.writeUInt16LE(tag & 0xffff, 4 * i + 2);
      });
      return buffer;
    }
    default: {
      let text = String(value);
      if (text.length % 2 === 1) text += vr === 'UI' ? '\0' : ' ';
      return Buffer.from(text, 'latin1');
    }
  }
}

/** Encode a command set, group length included. */
export function encodeCommand(command: Command): Buffer {
  const parts: Buffer[] = [];
  for (const [tag, field, vr] of ELEMENTS) {
    const value =
      field === 'dataSetType' ? (command.hasDataset ? 0x0000 : NO_DATASET) : command[field];
    if (value === undefined) continue;
    const encoded = encodeValue(vr, value);
    const header = Buffer.allocUnsafe(8);
    header.writeUInt16LE(tag >>> 16, 0);
    header.writeUInt16LE(tag & 0xffff, 2);
    header.writeUInt32LE(encoded.length, 4);
    parts.push(header, encoded);
  }
  const body = Buffer.concat(parts);
  const groupLength = Buffer.allocUnsafe(12);
  groupLength.writeUInt32LE(0x00000000, 0);
  groupLength.writeUInt32LE(4, 4);
  groupLength.writeUInt32LE(body.length, 8);
  return Buffer.concat([groupLength, body]);
}

function decodeValue(vr: Vr, bytes: Buffer): unknown {
  switch (vr) {
    case 'US':
      if (bytes.length !== 2) throw new CommandError(`US value has ${bytes.length} bytes`);
      return bytes.readUInt16LE(0);
    case 'AT': {
      const tags: number[] = [];
      for (let i = 0; i + 4 <= bytes.length; i += 4) {
        tags.push(((bytes.readUInt16LE(i) << 16) | bytes.readUInt16LE(i + 2)) >>> 0);
      }
      return tags;
    }
    default:
      return trimStart(trimEnd(bytes.toString('latin1')), ' ');
  }
}

/** Decode a command set received in command PDVs. */
export function decodeCommand(bytes: Buffer): Command {
  const command: Partial<Command> & { dataSetType?: number } = {};
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 8 > bytes.length) throw new CommandError('command element header is truncated');
    const group = bytes.readUInt16LE(offset);
    const element = bytes.readUInt16LE(offset + 2);
    const length = bytes.readUInt32LE(offset + 4);
    const end = offset + 8 + length;
    if (end > bytes.length)
      throw new CommandError(
        `command element (${group.toString(16)},${element.toString(16)}) is truncated`,
      );
    if (group !== 0)
      throw new CommandError(`command set holds element of group ${group.toString(16)}`);
    const known = BY_TAG.get(element);
    if (known) {
      (command as Record<string, unknown>)[known.field] = decodeValue(
        known.vr,
        bytes.subarray(offset + 8, end),
      );
    }
    offset = end;
  }
  if (command.commandField === undefined) throw new CommandError('command set has no CommandField');
  if (command.dataSetType === undefined)
    throw new CommandError('command set has no CommandDataSetType');
  const { dataSetType, ...rest } = command;
  return { ...rest, commandField: command.commandField, hasDataset: dataSetType !== NO_DATASET };
}
