import type { Identifier } from '../dicom/identifier.js';
import type { QrModel } from '../dicom/sop-class.js';
import type { TranscodingPolicy } from '../dicom/transcode.js';

/** Who asks, and in which information model. */
export interface QrRequest {
  callingAe: string;
  calledAe: string;
  model: QrModel;
}

/** A stored instance selected by a C-MOVE or C-GET identifier. */
export interface RetrieveInstance {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** The stored dataset bytes (after the file meta), exactly as received. */
  open(): Promise<AsyncIterable<Buffer>>;
}

/** Where C-MOVE sub-operations go. */
export interface MoveDestination {
  aeTitle: string;
  host: string;
  port: number;
}

/** How instances are converted for a peer that does not accept their own transfer syntax. */
export interface Transcoding {
  /** Which instances may be converted, into what (see `conversionsFor`). */
  policy: TranscodingPolicy;
  /** Convert a stored dataset, off the event loop; `signal` gives the conversion up. */
  convert(dataset: Buffer, from: string, to: string, signal?: AbortSignal): Promise<Buffer>;
}

/** Instances go out as stored or not at all. */
export const NO_TRANSCODING: Transcoding = {
  policy: { mode: 'none', decompressLossy: false },
  convert: () => Promise.reject(new Error('transcoding is off')),
};

/** A request the service refuses, with the DIMSE status to answer. */
export class QrRefusal extends Error {
  override readonly name = 'QrRefusal';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The port through which the SCP answers query/retrieve requests from the bridge's own index
 * and storage. Methods throw `QrRefusal` for requests they refuse.
 */
export interface QrService {
  /** C-FIND matches, each already shaped as the response identifier. */
  find(request: QrRequest, identifier: Identifier): Identifier[];
  /** The instances a C-MOVE / C-GET identifier selects. */
  select(request: QrRequest, identifier: Identifier): RetrieveInstance[];
  /** A configured move destination, or undefined when unknown. */
  moveDestination(aeTitle: string): MoveDestination | undefined;
  /** Take a retrieve slot; undefined when all are busy. Call the returned function to free it. */
  acquireRetrieveSlot(): (() => void) | undefined;
  /** What a peer that refuses an instance's own syntax gets instead. */
  readonly transcoding: Transcoding;
  /** Longest wait for each C-STORE sub-operation response. */
  readonly sendTimeoutMs: number;
}
