/** Transfer syntax UIDs the bridge accepts and stores as received. */
export const TransferSyntax = {
  ImplicitVrLittleEndian: '1.2.840.10008.1.2',
  ExplicitVrLittleEndian: '1.2.840.10008.1.2.1',
  EncapsulatedUncompressed: '1.2.840.10008.1.2.1.98',
  DeflatedExplicitVrLittleEndian: '1.2.840.10008.1.2.1.99',
  ExplicitVrBigEndian: '1.2.840.10008.1.2.2',
  JpegBaseline: '1.2.840.10008.1.2.4.50',
  JpegExtended: '1.2.840.10008.1.2.4.51',
  JpegLossless: '1.2.840.10008.1.2.4.57',
  JpegLosslessSv1: '1.2.840.10008.1.2.4.70',
  JpegLsLossless: '1.2.840.10008.1.2.4.80',
  JpegLsNearLossless: '1.2.840.10008.1.2.4.81',
  Jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
  Jpeg2000: '1.2.840.10008.1.2.4.91',
  Rle: '1.2.840.10008.1.2.5',
} as const;

/** Encapsulated syntaxes also accepted as received: HTJ2K, MPEG-2/4, HEVC video. */
const OTHER_ENCAPSULATED = [
  '1.2.840.10008.1.2.4.100',
  '1.2.840.10008.1.2.4.101',
  '1.2.840.10008.1.2.4.102',
  '1.2.840.10008.1.2.4.103',
  '1.2.840.10008.1.2.4.104',
  '1.2.840.10008.1.2.4.105',
  '1.2.840.10008.1.2.4.106',
  '1.2.840.10008.1.2.4.107',
  '1.2.840.10008.1.2.4.108',
  '1.2.840.10008.1.2.4.201',
  '1.2.840.10008.1.2.4.202',
  '1.2.840.10008.1.2.4.203',
];

export const SUPPORTED_TRANSFER_SYNTAXES: ReadonlySet<string> = new Set([
  ...Object.values(TransferSyntax),
  ...OTHER_ENCAPSULATED,
]);

/** How the dataset bytes of a transfer syntax are laid out. */
export interface Encoding {
  explicitVr: boolean;
  littleEndian: boolean;
  deflated: boolean;
}

export function encodingOf(transferSyntaxUid: string): Encoding {
  switch (transferSyntaxUid) {
    case TransferSyntax.ImplicitVrLittleEndian:
      return { explicitVr: false, littleEndian: true, deflated: false };
    case TransferSyntax.ExplicitVrBigEndian:
      return { explicitVr: true, littleEndian: false, deflated: false };
    case TransferSyntax.DeflatedExplicitVrLittleEndian:
      return { explicitVr: true, littleEndian: true, deflated: true };
    default:
      return { explicitVr: true, littleEndian: true, deflated: false };
  }
}
