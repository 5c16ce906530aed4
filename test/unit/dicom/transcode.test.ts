import { describe, expect, it } from 'vitest';
import { conversionsFor, type TranscodingPolicy } from '../../../src/dicom/transcode.js';
import { TransferSyntax } from '../../../src/dicom/transfer-syntax.js';
import type { StudyIndex } from '../../../src/index/study-index.js';
import { IndexQrService } from '../../../src/qr/index-qr-service.js';
import type { ObjectStore } from '../../../src/storage/object-store.js';

const EXPLICIT = TransferSyntax.ExplicitVrLittleEndian;
const IMPLICIT = TransferSyntax.ImplicitVrLittleEndian;
const LOSSLESS: TranscodingPolicy = { mode: 'lossless', decompressLossy: false };
const LOSSY_TOO: TranscodingPolicy = { mode: 'lossless', decompressLossy: true };

describe('what a stored instance may be converted into', () => {
  it('native syntaxes: re-encoded into the little endian ones they are not in', () => {
    expect(conversionsFor(IMPLICIT, LOSSLESS)).toEqual({ targets: [EXPLICIT] });
    expect(conversionsFor(EXPLICIT, LOSSLESS)).toEqual({ targets: [IMPLICIT] });
    for (const ts of [
      TransferSyntax.ExplicitVrBigEndian,
      TransferSyntax.DeflatedExplicitVrLittleEndian,
    ])
      expect(conversionsFor(ts, LOSSLESS)).toEqual({ targets: [EXPLICIT, IMPLICIT] });
  });

  it('lossless compression: decompressed; lossy only when allowed, saying why not', () => {
    for (const ts of [
      TransferSyntax.JpegLossless,
      TransferSyntax.JpegLosslessSv1,
      TransferSyntax.JpegLsLossless,
      TransferSyntax.Jpeg2000Lossless,
      TransferSyntax.Rle,
    ])
      expect(conversionsFor(ts, LOSSLESS), ts).toEqual({ targets: [EXPLICIT, IMPLICIT] });
    for (const ts of [
      TransferSyntax.JpegBaseline,
      TransferSyntax.JpegExtended,
      TransferSyntax.JpegLsNearLossless,
      TransferSyntax.Jpeg2000,
    ]) {
      expect(conversionsFor(ts, LOSSLESS), ts).toEqual({
        targets: [],
        refusal: `the image is stored lossy-compressed (${ts}) and lossy images are not decompressed`,
      });
      expect(conversionsFor(ts, LOSSY_TOO), ts).toEqual({ targets: [EXPLICIT, IMPLICIT] });
    }
  });

  it('nothing with transcoding none, nor from syntaxes the bridge does not decode', () => {
    expect(conversionsFor(IMPLICIT, { mode: 'none', decompressLossy: true })).toEqual({
      targets: [],
      refusal: 'transcoding is off',
    });
    expect(conversionsFor('1.2.840.10008.1.2.4.201', LOSSY_TOO)).toEqual({
      targets: [],
      refusal: 'the bridge does not decompress 1.2.840.10008.1.2.4.201',
    });
  });

  it('the Q/R service reads transcoding uncompressed, an earlier name, as lossless', () => {
    const policyOf = (
      transcoding: 'none' | 'lossless' | 'uncompressed',
      decompressLossy?: boolean,
    ): TranscodingPolicy =>
      new IndexQrService({} as StudyIndex, {} as ObjectStore, {
        moveDestinations: [],
        maxConcurrentRetrieves: 1,
        maxMatches: 1,
        transcoding,
        decompressLossy,
        sendTimeoutMs: 1000,
      }).transcoding.policy;
    expect(policyOf('uncompressed')).toEqual(LOSSLESS);
    expect(policyOf('lossless', true)).toEqual(LOSSY_TOO);
    expect(policyOf('none')).toEqual({ mode: 'none', decompressLossy: false });
  });
});
