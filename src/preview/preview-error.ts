/** Why a preview could not be made; a caller may skip the instance and go on. */
export type PreviewFailure =
  | 'not-dicom'
  | 'no-pixel-data'
  | 'unsupported-photometric'
  | 'unsupported-transfer-syntax'
  | 'unsupported-geometry'
  | 'decode-failed'
  | 'encode-failed';

/** A preview that could not be made, with the reason a caller can act on. */
export class PreviewError extends Error {
  override readonly name = 'PreviewError';
  readonly reason: PreviewFailure;

  constructor(reason: PreviewFailure, message: string, options?: { cause?: unknown }) {
    super(`${reason}: ${message}`, options);
    this.reason = reason;
  }
}
