import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../dimse/implementation.js';
import { trimEnd } from './padding.js';

export interface FileMetaFields {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** Source Application Entity Title (0002,0016): who sent the instance. */
  sourceAeTitle?: string;
}

function element(group: number, elementNumber: number, vr: string, value: Buffer): Buffer {
  const longForm = vr === 'OB';
  const header = Buffer.alloc(longForm ? 12 : 8);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(elementNumber, 2);
  header.write(vr, 4, 'latin1');
  if (longForm) header.writeUInt32LE(value.length, 8);
  else header.writeUInt16LE(value.length, 6);
  return Buffer.concat([header, value]);
}

function text(value: string, pad: '\0' | ' '): Buffer {
  return Buffer.from(value.length % 2 === 1 ? value + pad : value, 'latin1');
}

/**
 * The PS3.10 preamble, `DICM` prefix and file meta information group the bridge writes in front
 * of the dataset bytes it received.
 */
export function encodeFileMeta(fields: FileMetaFields): Buffer {
  const elements = [
    element(0x0002, 0x0001, 'OB', Buffer.from([0x00, 0x01])),
    element(0x0002, 0x0002, 'UI', text(fields.sopClassUid, '\0')),
    element(0x0002, 0x0003, 'UI', text(fields.sopInstanceUid, '\0')),
    element(0x0002, 0x0010, 'UI', text(fields.transferSyntaxUid, '\0')),
    element(0x0002, 0x0012, 'UI', text(IMPLEMENTATION_CLASS_UID, '\0')),
    element(0x0002, 0x0013, 'SH', text(IMPLEMENTATION_VERSION_NAME, ' ')),
  ];
  if (fields.sourceAeTitle)
    elements.push(element(0x0002, 0x0016, 'AE', text(fields.sourceAeTitle, ' ')));
  const body = Buffer.concat(elements);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(body.length, 0);
  return Buffer.concat([
    Buffer.alloc(128),
    Buffer.from('DICM', 'latin1'),
    element(0x0002, 0x0000, 'UL', groupLength),
    body,
  ]);
}

export interface ParsedFileMeta {
  transferSyntaxUid: string;
  sopClassUid: string;
  sopInstanceUid: string;
  /** Source Application Entity Title (0002,0016), when present. */
  sourceAeTitle: string | undefined;
  /** Offset of the first dataset byte. */
  datasetOffset: number;
}

/** Read the file meta of a PS3.10 file; throws when the file has none. */
export function parseFileMeta(file: Buffer): ParsedFileMeta {
  if (file.length < 144 || file.toString('latin1', 128, 132) !== 'DICM') {
    throw new Error('not a DICOM PS3.10 file (no DICM prefix)');
  }
  const values = new Map<number, string>();
  let offset = 132;
  while (offset + 8 <= file.length && file.readUInt16LE(offset) === 0x0002) {
    const elementNumber = file.readUInt16LE(offset + 2);
    const vr = file.toString('latin1', offset + 4, offset + 6);
    const long = ['OB', 'OW', 'UN', 'SQ', 'UT', 'UC', 'UR'].includes(vr);
    const start = offset + (long ? 12 : 8);
    if (start > file.length) throw new Error('file meta information is truncated');
    const length = long ? file.readUInt32LE(offset + 8) : file.readUInt16LE(offset + 6);
    if (start + length > file.length) throw new Error('file meta information is truncated');
    values.set(elementNumber, trimEnd(file.toString('latin1', start, start + length)));
    offset = start + length;
  }
  const transferSyntaxUid = values.get(0x0010);
  if (!transferSyntaxUid) throw new Error('file meta information has no TransferSyntaxUID');
  return {
    transferSyntaxUid,
    sopClassUid: values.get(0x0002) ?? '',
    sopInstanceUid: values.get(0x0003) ?? '',
    sourceAeTitle: values.get(0x0016) || undefined,
    datasetOffset: offset,
  };
}
