import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type BenchTarget } from '../../../bench/daemon.js';
import { parseFileMeta } from '../../../src/dicom/file-meta.js';
import { startReferenceScp, type ReferenceScp } from '../../helpers/reference-scp.js';
import { writeSyntheticInstances } from '../../helpers/synthetic.js';
import { runTool } from '../../helpers/tools.js';

// The floor receiver bounds what the bridge can reach in `bench:ingest-floor`: it must do the
// whole of the work it claims (every dataset byte written behind its file meta), or the bound
// would be too kind.
describe('benchmark floor receiver', () => {
  let root: string;
  let reference: ReferenceScp;
  const started: BenchTarget[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'floor-test-'));
    reference = await startReferenceScp();
  });

  afterAll(async () => {
    await Promise.all(started.map((target) => target.stop()));
    await reference.stop();
    rmSync(root, { recursive: true, force: true });
  });

  function sendTo(port: number, dir: string): ReturnType<typeof runTool> {
    return runTool('storescu', [
      '-aet',
      'STORESCU',
      '-aec',
      'FSEBRIDGE',
      '+sd',
      '127.0.0.1',
      String(port),
      dir,
    ]);
  }

  it.each([
    { flags: [], seed: 7 },
    { flags: ['--hash'], seed: 8 },
    { flags: ['--hash', '--durable'], seed: 9 },
  ])('writes every dataset as storescp +B does (options $flags)', async ({ flags, seed }) => {
    let dataDir = '';
    const target = await startReceiver('floor', root, process.execPath, (port, dir) => {
      dataDir = dir;
      return [
        '--import',
        'tsx',
        'bench/floor-receiver.ts',
        '--port',
        String(port),
        '--dir',
        dir,
        ...flags,
      ];
    });
    started.push(target);
    const input = join(root, `in-${seed}`);
    const sent = writeSyntheticInstances(input, 3, { rows: 512, columns: 512 }, seed);

    const result = await sendTo(target.port, input);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/E: /);
    expect((await sendTo(reference.port, input)).code).toBe(0);

    const written = new Map<string, Buffer>();
    for (const name of readdirSync(dataDir)) {
      const file = readFileSync(join(dataDir, name));
      if (file.length === 0) continue; // created ahead, not used
      const meta = parseFileMeta(file);
      written.set(meta.sopInstanceUid, file.subarray(meta.datasetOffset));
    }
    expect([...written.keys()].sort()).toEqual(sent.map((s) => s.sopInstanceUid).sort());
    for (const { sopInstanceUid } of sent) {
      const expected = reference.dataset(sopInstanceUid);
      expect(expected).toBeDefined();
      expect(written.get(sopInstanceUid)!.equals(expected!)).toBe(true);
    }
  });
});
