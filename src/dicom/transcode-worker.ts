/**
 * A transcoder's thread: re-encodes and decompresses datasets off the event loop. Jobs run one
 * at a time; between two frames of a decompression the thread reads its messages, so a job
 * given up (its sub-operation cancelled, its association gone) stops there.
 */
import { parentPort } from 'node:worker_threads';
import { transferableBytes } from '../worker-thread.js';
import { convertDataset } from './convert.js';

export interface TranscodeRequest {
  kind: 'convert';
  id: number;
  /** The stored dataset bytes (after the file meta), transferred. */
  dataset: ArrayBuffer;
  from: string;
  to: string;
}

export interface CancelRequest {
  kind: 'cancel';
  id: number;
}

export type TranscodeMessage =
  | { kind: 'progress'; id: number; decoded: number; frames: number }
  | { kind: 'done'; id: number; dataset: ArrayBuffer }
  | { kind: 'failed'; id: number; name: string; message: string };

const port = parentPort!;
const cancelled = new Set<number>();
let queue: Promise<void> = Promise.resolve();

class Cancelled extends Error {
  override readonly name = 'Cancelled';
}

async function run(request: TranscodeRequest): Promise<void> {
  const { id } = request;
  try {
    if (cancelled.has(id)) throw new Cancelled('cancelled');
    const dataset = await convertDataset(Buffer.from(request.dataset), request.from, request.to, {
      onFrame: async (decoded, frames) => {
        port.postMessage({ kind: 'progress', id, decoded, frames } satisfies TranscodeMessage);
        // Let a cancel message in before the next frame.
        await new Promise((resolve) => setImmediate(resolve));
        if (cancelled.has(id)) throw new Cancelled('cancelled');
      },
    });
    const bytes = transferableBytes(dataset);
    port.postMessage({ kind: 'done', id, dataset: bytes } satisfies TranscodeMessage, [bytes]);
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    port.postMessage({ kind: 'failed', id, name, message } satisfies TranscodeMessage);
  } finally {
    cancelled.delete(id);
  }
}

port.on('message', (request: TranscodeRequest | CancelRequest) => {
  if (request.kind === 'cancel') cancelled.add(request.id);
  else queue = queue.then(() => run(request));
});
