import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFileMeta } from '../../src/dicom/file-meta.js';
import { DCMTK_ENV, exited, freePort, waitFor } from './tools.js';
import { createConnection } from 'node:net';

export const STORESCP_PROFILE = fileURLToPath(new URL('../fixtures/storescp.cfg', import.meta.url));

/** DCMTK storescp +B: keeps the dataset bytes exactly as received, the reference for "what went on the wire". */
export interface ReferenceScp {
  port: number;
  dir: string;
  /** Dataset bytes (after the file meta) received for a SOP Instance UID. */
  dataset(sopInstanceUid: string): Buffer | undefined;
  /** Transfer syntax the instance arrived in. */
  transferSyntax(sopInstanceUid: string): string | undefined;
  stop(): Promise<void>;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/**
 * Start storescp +B. `acceptance` replaces the presentation contexts it accepts (by default
 * the profile's, every syntax the bridge accepts), e.g. ['+xi'] for Implicit VR Little Endian
 * only.
 */
export async function startReferenceScp(
  aeTitle = 'FSEBRIDGE',
  acceptance: string[] = ['-xf', STORESCP_PROFILE, 'Bridge'],
): Promise<ReferenceScp> {
  const dir = mkdtempSync(join(tmpdir(), 'storescp-ref-'));
  const port = await freePort();
  const child: ChildProcess = spawn(
    'storescp',
    ['+B', '-aet', aeTitle, ...acceptance, '-od', dir, '-uf', String(port)],
    {
      env: DCMTK_ENV,
      stdio: 'ignore',
    },
  );
  const exit = exited(child);
  await waitFor(() => canConnect(port), 10_000, 'storescp to listen');
  const find = (uid: string): string | undefined =>
    readdirSync(dir).find(
      (name) => name.endsWith(`.${uid}`) || name === uid || name.endsWith(`${uid}.dcm`),
    );
  return {
    port,
    dir,
    dataset(uid) {
      const name = find(uid);
      if (!name) return undefined;
      const file = readFileSync(join(dir, name));
      return file.subarray(parseFileMeta(file).datasetOffset);
    },
    transferSyntax(uid) {
      const name = find(uid);
      return name ? parseFileMeta(readFileSync(join(dir, name))).transferSyntaxUid : undefined;
    },
    async stop() {
      child.kill('SIGTERM');
      await exit;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
