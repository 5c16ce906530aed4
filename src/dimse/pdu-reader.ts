import { AbortReason, PduError, PduType } from './pdu.js';

export interface PduReaderHandlers {
  /** A whole non-data PDU (association, release, abort). */
  onPdu(type: number, body: Buffer): void;
  /**
   * Part of a PDV's data, in order. `pdvEnd` marks the last chunk of this PDV; `last` is the
   * PDV's "last fragment" bit, so a message is complete at a chunk with both set.
   */
  onPdvChunk(
    contextId: number,
    command: boolean,
    last: boolean,
    chunk: Buffer,
    pdvEnd: boolean,
  ): void;
}

export interface PduReaderLimits {
  /** Largest P-DATA-TF length accepted (what we advertised); 0 = no limit. */
  maxPDataLength: number;
  /** Largest association/release/abort PDU accepted. */
  maxControlLength: number;
}

const enum State {
  PduHeader,
  ControlBody,
  PdvHeader,
  PdvData,
}

/**
 * Incremental PDU parser. Data PDVs are handed on chunk by chunk as they arrive, never held
 * whole, so a 200 MB instance flows through in socket-sized pieces. Any framing error throws
 * a `PduError`; the caller aborts the association.
 */
export class PduReader {
  #handlers: PduReaderHandlers;
  readonly #limits: PduReaderLimits;
  #state = State.PduHeader;
  #header = Buffer.alloc(6);
  #headerFill = 0;
  #control: Buffer[] = [];
  #controlType = 0;
  #remaining = 0; // bytes left in the current control body or P-DATA PDU
  #pdvRemaining = 0;
  #pdvContext = 0;
  #pdvCommand = false;
  #pdvLast = false;

  constructor(handlers: PduReaderHandlers, limits: PduReaderLimits) {
    this.#handlers = handlers;
    this.#limits = limits;
  }

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      switch (this.#state) {
        case State.PduHeader:
        case State.PdvHeader: {
          // PDU and PDV headers are both 6 bytes.
          const take = Math.min(6 - this.#headerFill, chunk.length - offset);
          chunk.copy(this.#header, this.#headerFill, offset, offset + take);
          this.#headerFill += take;
          offset += take;
          if (this.#headerFill < 6) return;
          this.#headerFill = 0;
          if (this.#state === State.PduHeader) this.#startPdu();
          else this.#startPdv();
          break;
        }
        case State.ControlBody: {
          const take = Math.min(this.#remaining, chunk.length - offset);
          this.#control.push(chunk.subarray(offset, offset + take));
          this.#remaining -= take;
          offset += take;
          if (this.#remaining === 0) this.#endControl();
          break;
        }
        case State.PdvData: {
          const take = Math.min(this.#pdvRemaining, chunk.length - offset);
          const piece = chunk.subarray(offset, offset + take);
          this.#pdvRemaining -= take;
          this.#remaining -= take;
          offset += take;
          const pdvEnd = this.#pdvRemaining === 0;
          if (pdvEnd) this.#state = this.#afterPdv();
          if (piece.length > 0 || pdvEnd) {
            this.#handlers.onPdvChunk(
              this.#pdvContext,
              this.#pdvCommand,
              this.#pdvLast,
              piece,
              pdvEnd,
            );
          }
          break;
        }
      }
    }
  }

  #startPdu(): void {
    const type = this.#header.readUInt8(0);
    const length = this.#header.readUInt32BE(2);
    if (type === PduType.PData) {
      const max = this.#limits.maxPDataLength;
      if (max > 0 && length > max) {
        throw new PduError(
          `P-DATA-TF of ${length} bytes exceeds the negotiated maximum ${max}`,
          AbortReason.InvalidPduParameterValue,
        );
      }
      if (length < 6) throw new PduError(`P-DATA-TF of ${length} bytes holds no PDV`);
      this.#remaining = length;
      this.#state = State.PdvHeader;
      return;
    }
    if (type < PduType.AssociateRq || type > PduType.Abort) {
      throw new PduError(
        `unrecognized PDU type 0x${type.toString(16)}`,
        AbortReason.UnrecognizedPdu,
      );
    }
    if (length > this.#limits.maxControlLength) {
      throw new PduError(`PDU type 0x${type.toString(16)} of ${length} bytes is too large`);
    }
    this.#controlType = type;
    this.#control = [];
    this.#remaining = length;
    this.#state = State.ControlBody;
    if (length === 0) this.#endControl();
  }

  #endControl(): void {
    const body = this.#control.length === 1 ? this.#control[0]! : Buffer.concat(this.#control);
    this.#control = [];
    this.#state = State.PduHeader;
    this.#handlers.onPdu(this.#controlType, body);
  }

  /**
   * What follows the PDV that just ended: the next PDU, or another PDV of this one. Fewer bytes
   * left than a PDV header are refused now, rather than waiting for bytes of the next PDU.
   */
  #afterPdv(): State {
    if (this.#remaining === 0) return State.PduHeader;
    if (this.#remaining < 6)
      throw new PduError(
        `P-DATA-TF has ${this.#remaining} bytes after its last PDV`,
        AbortReason.InvalidPduParameterValue,
      );
    return State.PdvHeader;
  }

  #startPdv(): void {
    const length = this.#header.readUInt32BE(0);
    if (length < 2 || length + 4 > this.#remaining) {
      throw new PduError(
        `PDV length ${length} does not fit its P-DATA-TF`,
        AbortReason.InvalidPduParameterValue,
      );
    }
    this.#pdvContext = this.#header.readUInt8(4);
    const control = this.#header.readUInt8(5);
    this.#pdvCommand = (control & 1) === 1;
    this.#pdvLast = (control & 2) === 2;
    this.#remaining -= 6;
    this.#pdvRemaining = length - 2;
    this.#state = State.PdvData;
    if (this.#pdvRemaining === 0) {
      this.#state = this.#afterPdv();
      this.#handlers.onPdvChunk(
        this.#pdvContext,
        this.#pdvCommand,
        this.#pdvLast,
        Buffer.alloc(0),
        true,
      );
    }
  }
}
