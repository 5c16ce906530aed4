import { spawn, type ChildProcess } from 'node:child_process';
import { BRIDGE_AE } from './bridge.js';
import { DCMTK_ENV } from './tools.js';

/** One C-STORE response storescu reported, with the file it answered. */
export interface StorescuResponse {
  file: string;
  /** What storescu printed in the parentheses: "Success", "Warning", "Error: ...". */
  status: string;
}

/** A running `storescu -v` whose progress is followed line by line as it happens. */
export interface StorescuRun {
  child: ChildProcess;
  /** Files in the order storescu started sending them ("Sending file: ..."). */
  sent: string[];
  /** Every store response, in order, with the file it belongs to. */
  responses: StorescuResponse[];
  /** Files answered with Success, in order: what the sender may consider delivered. */
  acknowledged: string[];
  /** Everything storescu wrote (stdout and stderr interleaved as received). */
  output(): string;
  /** Resolves when storescu has exited and all its output was read. */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Start `storescu -v` to the bridge (one association) and follow its log: the DCMTK logger writes
 * "Sending file: F" before each request and "Received Store Response (Success)" when the answer
 * to it arrives, so the files acknowledged are known exactly, while storescu runs.
 * `inputs` are the trailing arguments (files, or `+sd DIR` options go in `extraArgs`).
 */
export function startStorescu(
  port: number,
  inputs: string[],
  extraArgs: string[] = [],
  callingAe = 'STORESCU',
): StorescuRun {
  const child = spawn(
    'storescu',
    [
      '-v',
      '-aet',
      callingAe,
      '-aec',
      BRIDGE_AE,
      ...extraArgs,
      '127.0.0.1',
      String(port),
      ...inputs,
    ],
    {
      env: DCMTK_ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const run: StorescuRun = {
    child,
    sent: [],
    responses: [],
    acknowledged: [],
    output: () => all,
    // 'close', not 'exit': the last lines of its output are parsed by then.
    exit: new Promise((resolve) =>
      child.once('close', (code, signal) => resolve({ code, signal })),
    ),
  };
  let all = '';
  let current: string | undefined;
  const onLine = (line: string): void => {
    const sending = /Sending file: (.+)$/.exec(line);
    if (sending) {
      current = sending[1]!.trim();
      run.sent.push(current);
      return;
    }
    const response = /Received Store Response \((.*)\)\s*$/.exec(line);
    if (response && current !== undefined) {
      run.responses.push({ file: current, status: response[1]! });
      if (response[1] === 'Success') run.acknowledged.push(current);
      current = undefined;
    }
  };
  for (const stream of [child.stdout!, child.stderr!]) {
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      all += text;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
    stream.on('end', () => {
      if (partial) onLine(partial);
      partial = '';
    });
  }
  return run;
}
