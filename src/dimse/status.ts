/** DIMSE status codes used by the bridge (PS3.7 Annex C, PS3.4). */
export const Status = {
  Success: 0x0000,
  Pending: 0xff00,
  PendingWarning: 0xff01,
  Cancel: 0xfe00,
  /** C-STORE warning: here, an instance with this SOP Instance UID but other content is kept. */
  CoercionOfDataElements: 0xb000,
  /** Refused: out of resources (storage, index, disk space floor, busy). */
  OutOfResources: 0xa700,
  /** Error: the dataset does not match the SOP class. */
  DatasetDoesNotMatchSopClass: 0xa900,
  /** Error: cannot understand (malformed, truncated, invalid UIDs). */
  CannotUnderstand: 0xc000,
  /**
   * C-STORE error, in the "cannot understand" range: the instance reuses a Series or SOP
   * Instance UID the bridge holds under another study or patient. Refused, nothing stored.
   */
  UidHeldElsewhere: 0xc001,
  /** Refused: SOP class not supported. */
  SopClassNotSupported: 0x0122,
  /** Failure: unrecognized operation. */
  UnrecognizedOperation: 0x0211,
  /** C-MOVE/C-GET warning: sub-operations complete, one or more failed or had warnings. */
  SubOperationsCompleteWithFailures: 0xb000,
  /** C-MOVE refused: the move destination is unknown. */
  MoveDestinationUnknown: 0xa801,
  /** C-MOVE refused: out of resources, unable to perform sub-operations. */
  OutOfResourcesMove: 0xa701,
  /** C-GET refused: out of resources, unable to perform sub-operations. */
  OutOfResourcesGet: 0xa702,
  /** C-FIND/C-MOVE/C-GET failed: the identifier does not match the SOP class. */
  IdentifierDoesNotMatchSopClass: 0xa900,
  /** C-FIND/C-MOVE/C-GET failed: unable to process. */
  UnableToProcess: 0xc000,
  /** Failure: processing failure. */
  ProcessingFailure: 0x0110,
} as const;

/** Hex form used in logs and errors, e.g. `0xA700`. */
export function formatStatus(status: number): string {
  return `0x${status.toString(16).toUpperCase().padStart(4, '0')}`;
}
