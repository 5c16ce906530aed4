/**
 * The sending side of MLLP: one message per connection. `exchange` connects, sends the message
 * in an MLLP frame, waits for the answer frame and closes; `readAck` reads what the answer
 * says (MSA and ERR). Nothing here retries: the caller decides what a failure means.
 */
import { connect } from 'node:net';
import { Hl7Error, Hl7ErrorCode } from './errors.js';
import { parseHl7, type Hl7Message } from './message.js';
import { frame } from './mllp-framing.js';

const START_BLOCK = 0x0b;
const END_BLOCK = 0x1c;

/** Largest answer read by default: an ACK is a few hundred bytes. */
export const DEFAULT_MAX_ANSWER_BYTES = 64 * 1024;

export interface MllpClientOptions {
  host: string;
  port: number;
  /** Longest time for the whole exchange, connection included. */
  timeoutMs: number;
  /** Largest answer frame read; a larger one fails the exchange. */
  maxAnswerBytes?: number;
}

/**
 * What an exchange came to:
 * - `answer`: the bytes of the first frame the peer sent back (between its start and end block);
 * - `timeout`: no whole answer within the time limit (the connection may have been made);
 * - `failed`: the connection could not be made, or was closed or reset before an answer, or the
 *   answer was too large; `reason` says which, without any message content;
 * - `aborted`: the caller's signal fired first.
 */
export type MllpExchange =
  | { kind: 'answer'; bytes: Buffer }
  | { kind: 'timeout' }
  | { kind: 'failed'; reason: string }
  | { kind: 'aborted' };

/**
 * Sends one message over a new connection and waits for its answer; the connection is closed
 * when the exchange ends, whatever its outcome. Never throws.
 */
export function exchange(
  options: MllpClientOptions,
  message: Uint8Array,
  signal?: AbortSignal,
): Promise<MllpExchange> {
  if (signal?.aborted) return Promise.resolve({ kind: 'aborted' });
  const maxBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
  return new Promise((resolve) => {
    const socket = connect({ host: options.host, port: options.port, noDelay: true });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (outcome: MllpExchange): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(outcome);
    };
    const onAbort = (): void => finish({ kind: 'aborted' });
    const timer = setTimeout(() => finish({ kind: 'timeout' }), options.timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => socket.write(frame(message)));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const start = received.indexOf(START_BLOCK);
      const end = start < 0 ? -1 : received.indexOf(END_BLOCK, start + 1);
      if (end >= 0) return finish({ kind: 'answer', bytes: received.subarray(start + 1, end) });
      if (received.length > maxBytes + 1)
        finish({ kind: 'failed', reason: `answer larger than ${maxBytes} bytes` });
    });
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish({ kind: 'failed', reason: error.code ?? error.message }),
    );
    socket.once('close', () =>
      finish({ kind: 'failed', reason: 'connection closed before an answer' }),
    );
  });
}

/** What an acknowledgement says. */
export interface AckReply {
  /** MSA-1: AA, AE, AR (or CA, CE, CR in enhanced mode). */
  code: string;
  /** MSA-2: the control id of the message acknowledged. */
  controlId: string;
  /**
   * The receiver's words for an error, '' when it gave none: the text of ERR-3 (ERR-3.9, the
   * v2.5 layout), ERR-8, ERR-1 (ERR-1.4.5, the layout before v2.5) or MSA-3, in that order of
   * preference, after the error code (ERR-3.1 or ERR-1.4.1) and its name when given.
   */
  text: string;
}

/**
 * Reads an acknowledgement. Throws `Hl7Error` when the bytes are no HL7 message or it has no
 * MSA segment with MSA-1.
 */
export function readAck(bytes: Uint8Array): AckReply {
  const message = parseHl7(bytes);
  const msa = message.segment('MSA');
  const code = msa?.field(1).value.trim() ?? '';
  if (code === '')
    throw new Hl7Error('the answer has no acknowledgment code (MSA-1)', {
      location: { segment: 'MSA', field: 1 },
      code: Hl7ErrorCode.RequiredFieldMissing,
    });
  return { code, controlId: msa!.field(2).value.trim(), text: errorText(message) };
}

function errorText(message: Hl7Message): string {
  const specific: string[] = [];
  const codes: string[] = [];
  for (const err of message.segmentsNamed('ERR')) {
    specific.push(err.field(3).component(9), err.field(8).value);
    codes.push(err.field(3).component(1), err.field(3).component(2));
    for (const location of err.field(1).repetitions()) {
      specific.push(location.component(4, 5));
      codes.push(location.component(4, 1), location.component(4, 2));
    }
  }
  specific.push(message.field('MSA', 3).value);
  const known = unique(codes);
  // Before v2.5 HAPI puts the error code's name in MSA-3: it is no more than the code says.
  const words = unique(specific).filter((word) => !known.includes(word));
  const code = known.join(' ');
  if (words.length === 0) return code;
  return code === '' ? words.join('; ') : `${code}: ${words.join('; ')}`;
}

function unique(values: string[]): string[] {
  return [...new Set(values.map((v) => v.trim()).filter((v) => v !== ''))];
}
