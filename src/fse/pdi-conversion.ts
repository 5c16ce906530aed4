/**
 * The DICOM files of a PDI package in Explicit VR Little Endian, for the viewers that read only
 * that (the General Purpose CD-R profile of PS3.11 allows nothing else): what the Q/R SCP does
 * for a peer that accepts only it, by the same rule (see `conversionsFor`).
 */
import { Readable } from 'node:stream';
import { encodeFileMeta } from '../dicom/file-meta.js';
import { readWhole, splitPart10 } from '../dicom/part10-stream.js';
import { conversionsFor } from '../dicom/transcode.js';
import { sharedTranscoder, type Transcoder } from '../dicom/transcoder.js';
import { TransferSyntax } from '../dicom/transfer-syntax.js';

/** How the files of a package are written (`onDemand.pdi.transferSyntax`). */
export type PdiTransferSyntax = 'as-stored' | 'explicit-little-endian';

export interface PdiConversion {
  transferSyntax: PdiTransferSyntax;
  /** Decompress lossy-compressed images too (`onDemand.pdi.decompressLossy`). */
  decompressLossy: boolean;
}

/**
 * The transfer syntax a stored instance has in the package: Explicit VR Little Endian when so
 * configured and it can be converted into it; otherwise as stored (an image stored lossy when
 * lossy ones are not decompressed, video: the file as received beats no file).
 */
export function pdiTransferSyntax(stored: string, conversion: PdiConversion): string {
  if (conversion.transferSyntax === 'as-stored') return stored;
  const target = TransferSyntax.ExplicitVrLittleEndian;
  const targets: readonly string[] = conversionsFor(stored, {
    mode: 'lossless',
    decompressLossy: conversion.decompressLossy,
  }).targets;
  return targets.includes(target) ? target : stored;
}

/** The stored PS3.10 file read from `file`, converted into `to`, as a PS3.10 file. */
export async function convertedFile(
  file: Readable,
  to: string,
  transcoder: Pick<Transcoder, 'convert'> = sharedTranscoder(),
): Promise<Readable> {
  const { meta, dataset } = await splitPart10(file);
  const converted = await transcoder.convert(await readWhole(dataset), meta.transferSyntaxUid, to);
  const header = encodeFileMeta({
    sopClassUid: meta.sopClassUid,
    sopInstanceUid: meta.sopInstanceUid,
    transferSyntaxUid: to,
    sourceAeTitle: meta.sourceAeTitle,
  });
  return Readable.from([header, converted]);
}
