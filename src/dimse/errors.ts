import type { AssociateRj } from './pdu.js';
import { formatStatus } from './status.js';

/** The peer refused the association. */
export class AssociationRejectedError extends Error {
  override readonly name = 'AssociationRejectedError';
  constructor(readonly rejection: AssociateRj) {
    super(
      `association rejected: result ${rejection.result}, source ${rejection.source}, reason ${rejection.reason}`,
    );
  }
}

/** The association ended (abort, disconnect) before an answer arrived. */
export class AssociationClosedError extends Error {
  override readonly name = 'AssociationClosedError';
}

/** Sub-operation counts of a C-MOVE or C-GET response. */
export interface SubOperationCounts {
  remaining: number;
  completed: number;
  failed: number;
  warning: number;
}

function describeCounts(counts: SubOperationCounts): string {
  return `${counts.completed} completed, ${counts.failed} failed, ${counts.warning} warning, ${counts.remaining} remaining`;
}

/** A DIMSE response whose status is neither success nor pending (a refusal or failure). */
export class DimseStatusError extends Error {
  override readonly name: string = 'DimseStatusError';
  constructor(
    readonly status: number,
    readonly errorComment: string | undefined,
    /** The counts of a refused C-MOVE/C-GET, when the peer gave them. */
    readonly counts?: SubOperationCounts,
  ) {
    super(`DIMSE status ${formatStatus(status)}${errorComment ? `: ${errorComment}` : ''}`);
  }
}

/** The peer does not know the C-MOVE destination (0xA801): register our AE on the PACS. */
export class MoveDestinationUnknownError extends DimseStatusError {
  override readonly name = 'MoveDestinationUnknownError';
  constructor(errorComment: string | undefined) {
    super(0xa801, errorComment);
    this.message = `move destination unknown to the peer (0xA801)${errorComment ? `: ${errorComment}` : ''}`;
  }
}

/** A retrieve ended with failed or warning sub-operations. */
export class SubOperationsFailedError extends Error {
  override readonly name = 'SubOperationsFailedError';
  constructor(
    readonly status: number,
    readonly counts: SubOperationCounts,
    readonly errorComment: string | undefined,
  ) {
    super(
      `retrieve ended with status ${formatStatus(status)}: ${describeCounts(counts)}${errorComment ? ` (${errorComment})` : ''}`,
    );
  }
}

/** A retrieve answered success after fewer sub-operations than it announced. */
export class RetrieveIncompleteError extends Error {
  override readonly name = 'RetrieveIncompleteError';
  constructor(
    readonly announced: number,
    readonly counts: SubOperationCounts,
  ) {
    super(`retrieve announced ${announced} instances but reported ${describeCounts(counts)}`);
  }
}

/** The operation was cancelled (C-CANCEL) before it completed. */
export class RetrieveCancelledError extends Error {
  override readonly name = 'RetrieveCancelledError';
  constructor(readonly counts: SubOperationCounts) {
    super(`operation cancelled: ${describeCounts(counts)}`);
  }
}

/** A C-FIND returned more matches than the caller accepts; the query was cancelled. */
export class TooManyMatchesError extends Error {
  override readonly name = 'TooManyMatchesError';
  constructor(readonly maxMatches: number) {
    super(`more than ${maxMatches} matches; query cancelled`);
  }
}

/** The matches of a C-FIND took more bytes than a query may hold in memory. */
export class MatchesTooLargeError extends Error {
  override readonly name = 'MatchesTooLargeError';
  constructor(readonly maxBytes: number) {
    super(`matches of more than ${maxBytes} bytes in all; query cancelled`);
  }
}

/** No response to a request within its time limit. */
export class ResponseTimeoutError extends Error {
  override readonly name = 'ResponseTimeoutError';
}
