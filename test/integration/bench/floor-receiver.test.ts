import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startFloorReceiver, type BenchTarget } from '../../../bench/daemon.js';
import { parseFileMeta } from '../../../src/dicom/file-meta.js';
import { startReferenceScp, type ReferenceScp } from '../../helpers/reference-scp.js';
import { writeSyntheticInstances } from '../../helpers/synthetic.js';

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

  it.each([
    { flags: [], seed: 7 },
    { flags: ['--hash'], seed: 8 },
    { flags: ['--hash', '--durable'], seed: 9 },
  ])('writes every dataset as storescp +B does (options $flags)', async ({ flags, seed }) => {
    const target = await startFloorReceiver('floor', root, flags);
    started.push(target);
    const input = join(root, `in-${seed}`);
    const sent = writeSyntheticInstances(input, 3, { rows: 512, columns: 512 }, seed);

    // Throws when a storescu exits with an error or logs one (a refused instance included).
    await send(target, [input]);
    await send({ name: 'storescp', port: reference.port }, [input]);

    const written = new Map<string, Buffer>();
    for (const name of readdirSync(target.dir)) {
      const file = readFileSync(join(target.dir, name));
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
