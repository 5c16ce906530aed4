import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment for DCMTK tools: without TCP_NODELAY they are throttled by Nagle's algorithm. */
export const DCMTK_ENV = { ...process.env, TCP_NODELAY: '1' };

/** Run a command to completion and collect its output (never rejects on a non-zero exit). */
export function runTool(
  command: string,
  args: string[],
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: DCMTK_ENV,
      ...options,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A TCP port that was free a moment ago (for tools that cannot listen on port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolve when `predicate` holds, polling; rejects after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Wait for a child process to exit; resolves with its exit code and signal. */
export function exited(
  child: ChildProcess,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/**
 * DCMTK dcmsend of `files` to a bridge on loopback, each in its own transfer syntax; with
 * `recurse`, `files` may name directories, sent with every file below them.
 */
export function dcmsend(
  port: number,
  files: string[],
  options: { callingAe?: string; calledAe?: string; recurse?: boolean } = {},
): Promise<ToolResult> {
  return runTool('dcmsend', [
    '-aet',
    options.callingAe ?? 'DCMSEND',
    '-aec',
    options.calledAe ?? 'FSEBRIDGE',
    '--decompress-never',
    ...(options.recurse ? ['--scan-directories', '--recurse'] : []),
    '127.0.0.1',
    String(port),
    ...files,
  ]);
}

/**
 * DCMTK storescu (verbose) of `files` to a bridge on loopback; `storeResponses` reads the
 * answers it printed.
 */
export function storescu(
  port: number,
  files: string[],
  options: { callingAe?: string; calledAe?: string } = {},
): Promise<ToolResult> {
  return runTool('storescu', [
    '-v',
    '-aet',
    options.callingAe ?? 'STORESCU',
    '-aec',
    options.calledAe ?? 'FSEBRIDGE',
    '127.0.0.1',
    String(port),
    ...files,
  ]);
}

/** The C-STORE answers storescu -v printed, in order, as DCMTK names them ("Success", ...). */
export function storeResponses(result: ToolResult): string[] {
  return [...(result.stdout + result.stderr).matchAll(/Received Store Response \(([^)]*)\)/g)].map(
    (match) => match[1]!,
  );
}
