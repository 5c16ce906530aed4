/**
 * One conversion of a stored dataset into Explicit or Implicit VR Little Endian: native
 * instances are re-encoded element by element, compressed ones decompressed.
 */
import { decompressDataset, isDecompressible, type DecompressOptions } from './decompress.js';
import { reencodeDataset } from './reencode.js';
import { TransferSyntax } from './transfer-syntax.js';

/**
 * Convert `dataset`, stored in `from`, into `to` (Explicit or Implicit VR Little Endian).
 * Throws, naming the reason, what cannot be converted.
 */
export async function convertDataset(
  dataset: Buffer,
  from: string,
  to: string,
  options: Pick<DecompressOptions, 'onFrame'> = {},
): Promise<Buffer> {
  if (!isDecompressible(from)) return reencodeDataset(dataset, from, to);
  if (to !== TransferSyntax.ExplicitVrLittleEndian && to !== TransferSyntax.ImplicitVrLittleEndian)
    throw new Error(`cannot decompress into ${to}`);
  return decompressDataset(dataset, from, {
    explicitOut: to === TransferSyntax.ExplicitVrLittleEndian,
    onFrame: options.onFrame,
  });
}
