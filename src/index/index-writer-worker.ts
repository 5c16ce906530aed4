/**
 * The index writer's thread: owns one write connection to the SQLite index, so that commits
 * (and their WAL fsync) never block the event loop that serves associations.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { StoredInstance } from '../dicom/instance-metadata.js';
import { StudyIndex } from './study-index.js';

export type WriterRequest =
  | { id: number; op: 'commit'; items: StoredInstance[]; replace: string[] }
  | { id: number; op: 'remove'; sopInstanceUid: string }
  | { id: number; op: 'setExpected'; studyUid: string; expected: number | null }
  | { id: number; op: 'close' };

export type WriterResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { message: string; code: string | undefined } };

function serve(): void {
  const port = parentPort;
  if (!port) throw new Error('the index writer must run in a worker thread');
  const index = StudyIndex.open((workerData as { path: string }).path);
  port.on('message', (request: WriterRequest) => {
    let response: WriterResponse;
    try {
      let result: unknown;
      if (request.op === 'commit')
        result = index.commitInstances(request.items, new Set(request.replace));
      else if (request.op === 'remove') result = index.removeInstance(request.sopInstanceUid);
      else if (request.op === 'setExpected')
        result = index.setExpectedInstances(request.studyUid, request.expected);
      else {
        index.close();
        result = true;
      }
      response = { id: request.id, ok: true, result };
    } catch (error) {
      const { message, code } = error as Error & { code?: string };
      response = { id: request.id, ok: false, error: { message, code } };
    }
    port.postMessage(response);
    if (request.op === 'close') port.close();
  });
}

serve();
