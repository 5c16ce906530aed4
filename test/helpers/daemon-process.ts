import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exited, waitFor } from './tools.js';
import type { LogLine } from './bridge.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface DaemonProcess {
  child: ChildProcess;
  port: number;
  logs: LogLine[];
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The daemon's command line, as `npm start` runs it but from the TypeScript sources. */
export function daemonCommand(args: string[]): [string, string[]] {
  return [process.execPath, ['--import', 'tsx', 'src/main.ts', ...args]];
}

/** Start the daemon as its own process (for kill -9 and signal tests); resolves once it listens. */
export async function startDaemon(
  configFile: string,
  env: NodeJS.ProcessEnv = {},
): Promise<DaemonProcess> {
  const [command, args] = daemonCommand(['--config', configFile]);
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  let stderr = '';
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        stderr += `${line}\n`;
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = exited(child);
  let port = 0;
  let ended = false;
  void exit.then(() => (ended = true));
  await waitFor(
    () => {
      if (ended) throw new Error(`daemon exited before it started:\n${stderr}`);
      const started = logs.find((line) => line.msg === 'bridge started');
      port = Number(started?.dicomPort ?? 0);
      return port > 0;
    },
    30_000,
    'the daemon to start',
  );
  return { child, port, logs, stderr: () => stderr, exit };
}
