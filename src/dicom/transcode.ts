/**
 * Which stored instances may be converted for a peer that does not accept their transfer
 * syntax, and into what: the rule C-GET and C-MOVE sub-operations and PDI packages share.
 */
import { isDecompressible, isLossySyntax } from './decompress.js';
import { isNativeSyntax } from './reencode.js';
import { TransferSyntax } from './transfer-syntax.js';

export interface TranscodingPolicy {
  /** none: instances go as stored or not at all; lossless: converted when nothing is lost. */
  mode: 'none' | 'lossless';
  /** Decompress images stored lossy-compressed too (their loss is already in them). */
  decompressLossy: boolean;
}

/** What an instance can be converted into: targets in order of preference, or why none. */
export type Conversions = { targets: string[] } | { targets: []; refusal: string };

/** The syntaxes conversions produce, in order of preference. */
export const CONVERSION_TARGETS: readonly string[] = [
  TransferSyntax.ExplicitVrLittleEndian,
  TransferSyntax.ImplicitVrLittleEndian,
];

/** The syntaxes an instance stored in `stored` may be converted into under `policy`. */
export function conversionsFor(stored: string, policy: TranscodingPolicy): Conversions {
  if (policy.mode === 'none') return { targets: [], refusal: 'transcoding is off' };
  const targets = CONVERSION_TARGETS.filter((target) => target !== stored);
  if (isNativeSyntax(stored)) return { targets };
  if (!isDecompressible(stored))
    return { targets: [], refusal: `the bridge does not decompress ${stored}` };
  if (isLossySyntax(stored) && !policy.decompressLossy)
    return {
      targets: [],
      refusal: `the image is stored lossy-compressed (${stored}) and lossy images are not decompressed`,
    };
  return { targets };
}
