import dcmjs from 'dcmjs';
import { encodeFileMeta, parseFileMeta } from './file-meta.js';
import { TransferSyntax } from './transfer-syntax.js';

/** Syntaxes whose pixel data is native: an instance can move between them without a codec. */
const UNCOMPRESSED: ReadonlySet<string> = new Set([
  TransferSyntax.ExplicitVrLittleEndian,
  TransferSyntax.ImplicitVrLittleEndian,
  TransferSyntax.ExplicitVrBigEndian,
]);

/** Syntaxes an uncompressed instance can be re-encoded into, in order of preference. */
export const TRANSCODE_TARGETS: readonly string[] = [
  TransferSyntax.ExplicitVrLittleEndian,
  TransferSyntax.ImplicitVrLittleEndian,
];

export function isUncompressed(transferSyntaxUid: string): boolean {
  return UNCOMPRESSED.has(transferSyntaxUid);
}

/**
 * Re-encode an uncompressed dataset in another little endian syntax. This is the fallback when
 * a peer refuses the stored syntax; it parses the whole dataset, so the bytes sent are no longer
 * the ones received (values are re-written by dcmjs), which is why it is off unless configured.
 */
export function transcodeUncompressed(
  dataset: Buffer,
  ids: { sopClassUid: string; sopInstanceUid: string },
  from: string,
  to: string,
): Buffer {
  if (!isUncompressed(from) || !TRANSCODE_TARGETS.includes(to))
    throw new Error(`cannot transcode from ${from} to ${to}`);
  const file = Buffer.concat([encodeFileMeta({ ...ids, transferSyntaxUid: from }), dataset]);
  const parsed = dcmjs.data.DicomMessage.readFile(
    file.buffer.slice(file.byteOffset, file.byteOffset + file.length) as ArrayBuffer,
    {
      ignoreErrors: false,
      untilTag: null,
      includeUntilTagValue: false,
      noCopy: false,
      forceStoreRaw: false,
    },
  );
  parsed.meta['00020010'] = { vr: 'UI', Value: [to] };
  const written = Buffer.from(parsed.write());
  return written.subarray(parseFileMeta(written).datasetOffset);
}
