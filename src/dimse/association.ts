import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { decodeCommand, encodeCommand, type Command } from './command.js';
import {
  AbortReason,
  AbortSource,
  PduError,
  PduType,
  decodeAbort,
  encodeAbort,
  encodePDataHeader,
  encodeReleaseRp,
  encodeReleaseRq,
  type Abort,
} from './pdu.js';
import { PduReader } from './pdu-reader.js';

/** Receives one dataset, chunk by chunk, in order. */
export interface DatasetSink {
  /**
   * Returns false when the sink is behind: the socket pauses until `onDrain` fires. The chunk is
   * the sink's to keep: its bytes never change afterwards.
   */
  write(chunk: Buffer): boolean;
  onDrain(listener: () => void): void;
  /** The last fragment has arrived. */
  end(): void;
  /** The dataset will never complete (abort, disconnect, protocol error). */
  fail(error: Error): void;
}

/** A command as it arrived, with the presentation context it came on. */
export interface IncomingCommand {
  contextId: number;
  command: Command;
}

export type CloseReason =
  'released' | 'aborted-by-us' | 'aborted-by-peer' | 'disconnected' | 'timeout';

export interface AssociationHooks {
  /** A-ASSOCIATE-RQ (acceptor side) or AC/RJ (requestor side): the whole PDU body. */
  onAssociatePdu(type: number, body: Buffer): void;
  /** A command is complete. Return the sink for its dataset when it has one. */
  onCommand(message: IncomingCommand): DatasetSink | undefined;
  onReleaseRq(): void;
  onReleaseRp(): void;
  onClose(reason: CloseReason, detail: string | undefined): void;
}

export interface AssociationOptions {
  /** Largest P-DATA-TF we accept (our own advertised maximum). */
  maxPduLength: number;
  /** Time allowed for the peer to complete association set-up or release (ARTIM). */
  artimMs: number;
  /** An established association with no PDU for this long is aborted. */
  idleTimeoutMs: number;
}

/** Fragment size when the peer advertises no limit. */
const UNLIMITED_FRAGMENT = 1024 * 1024;

/**
 * The smallest maximum PDU length a peer may announce (0 means unlimited). PS3.8 sets no floor,
 * but below a few hundred bytes every fragment is mostly header, and below 7 none can carry
 * data: a peer announcing 6 would have the bridge send empty PDVs for ever.
 */
export const MIN_PEER_MAX_PDU = 1024;

/** Refuses (aborts the set-up) a peer whose maximum PDU length is below MIN_PEER_MAX_PDU. */
export function checkPeerMaxPdu(maxPduLength: number): void {
  if (maxPduLength !== 0 && maxPduLength < MIN_PEER_MAX_PDU)
    throw new PduError(
      `peer's maximum PDU length ${maxPduLength} is below ${MIN_PEER_MAX_PDU}`,
      AbortReason.InvalidPduParameterValue,
    );
}
const MAX_COMMAND_BYTES = 64 * 1024;

type Phase = 'negotiating' | 'established' | 'releasing' | 'closed';

/**
 * One DICOM association over a socket: PDU framing, message reassembly, fragmentation, release,
 * abort and timers. The acceptor and requestor sides (scp.ts, client.ts) decide what to do with
 * association PDUs and commands through `AssociationHooks`.
 */
export class Association {
  readonly socket: Socket;
  readonly log: Logger;
  #hooks: AssociationHooks;
  #options: AssociationOptions;
  #reader: PduReader;
  #phase: Phase = 'negotiating';
  #peerMaxPdu = 0;
  #timer: NodeJS.Timeout | undefined;
  #commandChunks: Buffer[] = [];
  #commandBytes = 0;
  #commandContext = -1;
  #sink: DatasetSink | undefined;
  #sinkContext = -1;
  #closeReason: CloseReason | undefined;
  #closeDetail: string | undefined;
  /** Settles when the message being sent is out; the next one starts after it. */
  #outgoing: Promise<void> = Promise.resolve();

  constructor(socket: Socket, log: Logger, hooks: AssociationHooks, options: AssociationOptions) {
    this.socket = socket;
    this.log = log;
    this.#hooks = hooks;
    this.#options = options;
    this.#reader = new PduReader(
      {
        onPdu: (type, body) => this.#onPdu(type, body),
        onPdvChunk: (contextId, command, last, chunk, pdvEnd) =>
          this.#onPdvChunk(contextId, command, last, chunk, pdvEnd),
      },
      { maxPDataLength: options.maxPduLength, maxControlLength: 256 * 1024 },
    );
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) => {
      this.#closeDetail ??= error.message;
    });
    socket.on('close', () => this.#onSocketClose());
    this.#arm(options.artimMs);
  }

  get phase(): Phase {
    return this.#phase;
  }

  /** Called by the owner once AC has been sent or received. */
  established(peerMaxPdu: number): void {
    this.#phase = 'established';
    this.#peerMaxPdu = peerMaxPdu;
    this.#arm(this.#options.idleTimeoutMs);
  }

  /** Send a raw PDU (association set-up or rejection). */
  sendPdu(pdu: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(pdu);
  }

  /** Reject or end the set-up: send the PDU, then close once the peer has had ARTIM to read it. */
  sendAndClose(pdu: Buffer, reason: CloseReason): void {
    this.#closeReason ??= reason;
    this.#phase = 'closed';
    this.socket.end(pdu);
    this.#arm(this.#options.artimMs);
  }

  /**
   * Send a DIMSE message: the command, then its dataset, whole or as a stream of chunks
   * fragmented to the peer's maximum PDU length. Resolves when the socket has taken the bytes
   * (back-pressure honoured). Messages never interleave: one that is sent while another is
   * going out (a C-CANCEL behind its request, a response during a C-GET sub-operation) waits.
   */
  sendMessage(
    contextId: number,
    command: Command,
    dataset?: Buffer | AsyncIterable<Buffer>,
  ): Promise<void> {
    const send = this.#outgoing.then(async () => {
      await this.#sendFragments(contextId, true, encodeCommand(command));
      if (dataset === undefined) return;
      if (Buffer.isBuffer(dataset)) {
        await this.#sendFragments(contextId, false, dataset);
        return;
      }
      let pending: Buffer | undefined;
      for await (const chunk of dataset) {
        if (pending) await this.#sendFragments(contextId, false, pending, false);
        pending = chunk;
      }
      await this.#sendFragments(contextId, false, pending ?? Buffer.alloc(0), true);
    });
    this.#outgoing = send.catch(() => undefined);
    return send;
  }

  async #sendFragments(
    contextId: number,
    command: boolean,
    data: Buffer,
    lastOfMessage = true,
  ): Promise<void> {
    const maxData =
      (this.#peerMaxPdu > 0 ? Math.min(this.#peerMaxPdu, UNLIMITED_FRAGMENT) : UNLIMITED_FRAGMENT) -
      6;
    let offset = 0;
    do {
      const size = Math.min(maxData, data.length - offset);
      const last = lastOfMessage && offset + size === data.length;
      if (this.socket.destroyed || this.#phase === 'closed')
        throw new Error('association is closed');
      this.socket.write(encodePDataHeader(contextId, command, last, size));
      const ok = this.socket.write(data.subarray(offset, offset + size));
      offset += size;
      if (!ok) await this.#drained();
    } while (offset < data.length);
  }

  #drained(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onDrain = (): void => {
        this.socket.off('close', onClose);
        resolve();
      };
      const onClose = (): void => {
        this.socket.off('drain', onDrain);
        reject(new Error('association closed while sending'));
      };
      this.socket.once('drain', onDrain);
      this.socket.once('close', onClose);
    });
  }

  requestRelease(): void {
    this.#phase = 'releasing';
    this.sendPdu(encodeReleaseRq());
    this.#arm(this.#options.artimMs);
  }

  /** Answer the peer's A-RELEASE-RQ and close. */
  confirmRelease(): void {
    this.sendAndClose(encodeReleaseRp(), 'released');
  }

  /** Send A-ABORT and close the socket. */
  abort(
    abort: Abort = { source: AbortSource.ServiceUser, reason: AbortReason.NotSpecified },
    detail?: string,
  ): void {
    if (this.#phase === 'closed' && this.socket.destroyed) return;
    this.#closeReason ??= 'aborted-by-us';
    this.#closeDetail ??= detail;
    this.#phase = 'closed';
    this.#failSink(new Error(`association aborted: ${detail ?? 'by the bridge'}`));
    if (!this.socket.destroyed) {
      this.socket.end(encodeAbort(abort));
      // The peer may not close its side; don't leave the socket half-open.
      setTimeout(() => this.socket.destroy(), 1000).unref();
    }
  }

  #arm(ms: number): void {
    clearTimeout(this.#timer);
    if (ms <= 0) return;
    this.#timer = setTimeout(() => this.#onTimeout(), ms);
    this.#timer.unref();
  }

  #onTimeout(): void {
    this.#closeReason ??= 'timeout';
    if (this.#phase === 'established') {
      this.abort(
        { source: AbortSource.ServiceProvider, reason: AbortReason.NotSpecified },
        'idle timeout',
      );
    } else {
      this.#closeDetail ??= `no answer from the peer within ${this.#options.artimMs} ms (ARTIM)`;
      this.socket.destroy();
    }
  }

  #onData(chunk: Buffer): void {
    // After an abort or rejection nothing more from the peer matters.
    if (this.#phase === 'closed') return;
    if (this.#phase === 'established') this.#arm(this.#options.idleTimeoutMs);
    try {
      this.#reader.push(chunk);
    } catch (error) {
      const pduError = error instanceof PduError ? error : new PduError(String(error));
      this.log.warn({ err: pduError.message }, 'protocol error; aborting association');
      this.abort(
        { source: AbortSource.ServiceProvider, reason: pduError.reason },
        pduError.message,
      );
    }
  }

  #onPdu(type: number, body: Buffer): void {
    switch (type) {
      case PduType.AssociateRq:
      case PduType.AssociateAc:
      case PduType.AssociateRj:
        if (this.#phase !== 'negotiating')
          throw new PduError('unexpected A-ASSOCIATE PDU', AbortReason.UnexpectedPdu);
        this.#hooks.onAssociatePdu(type, body);
        return;
      case PduType.ReleaseRq:
        if (this.#phase !== 'established')
          throw new PduError('unexpected A-RELEASE-RQ', AbortReason.UnexpectedPdu);
        if (this.#sink)
          throw new PduError('A-RELEASE-RQ in the middle of a dataset', AbortReason.UnexpectedPdu);
        this.#phase = 'releasing';
        this.#hooks.onReleaseRq();
        return;
      case PduType.ReleaseRp:
        if (this.#phase !== 'releasing')
          throw new PduError('unexpected A-RELEASE-RP', AbortReason.UnexpectedPdu);
        this.#closeReason ??= 'released';
        this.#phase = 'closed';
        this.#hooks.onReleaseRp();
        this.socket.end();
        return;
      case PduType.Abort: {
        const abort = decodeAbort(body);
        this.#closeReason ??= 'aborted-by-peer';
        this.#closeDetail ??= `source ${abort.source}, reason ${abort.reason}`;
        this.#phase = 'closed';
        this.#failSink(new Error('association aborted by the peer'));
        this.socket.destroy();
        return;
      }
      default:
        throw new PduError(`unexpected PDU type 0x${type.toString(16)}`, AbortReason.UnexpectedPdu);
    }
  }

  #onPdvChunk(
    contextId: number,
    command: boolean,
    last: boolean,
    chunk: Buffer,
    pdvEnd: boolean,
  ): void {
    if (this.#phase !== 'established')
      throw new PduError('P-DATA-TF outside an established association', AbortReason.UnexpectedPdu);
    if (command) {
      if (this.#sink)
        throw new PduError(
          'command fragment in the middle of a dataset',
          AbortReason.UnexpectedPdu,
        );
      if (this.#commandContext !== -1 && this.#commandContext !== contextId) {
        throw new PduError(
          'command fragments on two presentation contexts',
          AbortReason.UnexpectedPdu,
        );
      }
      this.#commandContext = contextId;
      this.#commandBytes += chunk.length;
      if (this.#commandBytes > MAX_COMMAND_BYTES) throw new PduError('command set is too large');
      this.#commandChunks.push(chunk);
      if (last && pdvEnd) this.#commandComplete(contextId);
      return;
    }
    const sink = this.#sink;
    if (!sink || this.#sinkContext !== contextId) {
      throw new PduError(
        'dataset fragment without a command on its context',
        AbortReason.UnexpectedPdu,
      );
    }
    if (chunk.length > 0 && !sink.write(chunk)) {
      this.socket.pause();
      sink.onDrain(() => this.socket.resume());
    }
    if (last && pdvEnd) {
      this.#sink = undefined;
      sink.end();
    }
  }

  #commandComplete(contextId: number): void {
    const bytes = Buffer.concat(this.#commandChunks);
    this.#commandChunks = [];
    this.#commandBytes = 0;
    this.#commandContext = -1;
    let command: Command;
    try {
      command = decodeCommand(bytes);
    } catch (error) {
      throw new PduError(`undecodable command set: ${(error as Error).message}`);
    }
    const sink = this.#hooks.onCommand({ contextId, command });
    if (command.hasDataset) {
      if (!sink)
        throw new PduError(
          'no receiver for the dataset of this command',
          AbortReason.UnexpectedPdu,
        );
      this.#sink = sink;
      this.#sinkContext = contextId;
    }
  }

  #failSink(error: Error): void {
    const sink = this.#sink;
    this.#sink = undefined;
    sink?.fail(error);
  }

  #onSocketClose(): void {
    clearTimeout(this.#timer);
    this.#phase = 'closed';
    this.#failSink(new Error('peer disconnected before the dataset was complete'));
    this.#hooks.onClose(this.#closeReason ?? 'disconnected', this.#closeDetail);
  }
}
