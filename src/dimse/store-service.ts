import type { DatasetSink } from './association.js';

/** What the SCP knows about an incoming C-STORE before its dataset arrives. */
export interface StoreRequest {
  callingAe: string;
  calledAe: string;
  /** AffectedSOPClassUID of the command. */
  sopClassUid: string;
  /** AffectedSOPInstanceUID of the command. */
  sopInstanceUid: string;
  /** Transfer syntax of the presentation context the dataset arrives on. */
  transferSyntaxUid: string;
  /** Abstract syntax of that presentation context. */
  contextSopClassUid: string;
}

/** The answer to send: a DIMSE status, with a comment for failures and warnings. */
export interface StoreOutcome {
  status: number;
  errorComment?: string;
}

/** Receives one C-STORE dataset and settles once the instance is durable, or refused. */
export interface StoreReceiver extends DatasetSink {
  /** Settles after `end()` or `fail()`; never rejects. */
  readonly outcome: Promise<StoreOutcome>;
}

/** The port through which the SCP hands instances to the ingest pipeline. */
export interface StoreService {
  begin(request: StoreRequest): StoreReceiver;
}
