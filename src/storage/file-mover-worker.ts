/**
 * A file mover's thread: makes a spooled file durable under its final name in one go, with
 * synchronous system calls, so the event loop hands the whole sequence over once instead of
 * waiting for each step in turn.
 */
import { closeSync, constants, fdatasyncSync, fsyncSync, openSync, renameSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

export interface MoveRequest {
  id: number;
  /** Open descriptor of the file; closed here whatever happens. */
  fd: number;
  from: string;
  to: string;
  /** The directory of `to`, fsync'd once the rename is done. */
  dir: string;
  /** False when the caller has synced the file's data already. */
  sync: boolean;
}

/** How far a move got; `unknown` when its thread died (the descriptor may be left open). */
export type MoveStage = 'sync' | 'rename' | 'dirsync' | 'unknown';

export type MoveResponse =
  | { id: number; ok: true }
  | { id: number; ok: false; stage: MoveStage; code: string | undefined; message: string };

function syncAndClose(fd: number, sync: boolean): void {
  try {
    if (sync) fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function handle(request: MoveRequest): MoveResponse {
  let stage: MoveStage = 'sync';
  try {
    // The data must be durable before the rename can make it visible under its name.
    syncAndClose(request.fd, request.sync);
    stage = 'rename';
    renameSync(request.from, request.to);
    stage = 'dirsync';
    syncDirectory(request.dir);
    return { id: request.id, ok: true };
  } catch (error) {
    const { message, code } = error as Error & { code?: string };
    return { id: request.id, ok: false, stage, code, message };
  }
}

function serve(): void {
  const port = parentPort;
  if (!port) throw new Error('the file mover must run in a worker thread');
  port.on('message', (request: MoveRequest) => port.postMessage(handle(request)));
}

serve();
