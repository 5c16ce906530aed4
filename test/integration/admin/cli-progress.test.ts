import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { SAMPLES_DIR } from '../../helpers/samples.js';
import { dcmsend, runTool, type ToolResult } from '../../helpers/tools.js';

/*
 * Progress of `bridge rebuild-index` on stderr: with --progress it is written even into a pipe,
 * ending with the totals; without it a pipe gets none (a terminal would). stdout keeps the
 * result line either way.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
let bridge: TestBridge;
let stored: number;

function cli(args: string[]): Promise<ToolResult> {
  return runTool(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: process.env,
    timeoutMs: 60_000,
  });
}

beforeAll(async () => {
  bridge = await startBridge({ log: { level: 'warn' } });
  const sent = await dcmsend(bridge.port, [join(SAMPLES_DIR, 'studies')], { recurse: true });
  expect(sent.code, sent.stderr).toBe(0);
  stored = bridge.app.index.countInstances();
  expect(stored).toBeGreaterThan(1);
  // The index is rebuilt with the daemon stopped.
  await bridge.stop();
});

afterAll(() => disposeBridge(bridge));

const configFile = (): string => join(bridge.dataDir, 'test-config.json');

describe('rebuild-index progress', () => {
  it('writes progress lines to stderr with --progress, ending with the totals', async () => {
    const result = await cli(['rebuild-index', '--progress', '--config', configFile()]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      `index rebuilt: ${stored} instances indexed, 0 objects skipped`,
    );
    const lines = result.stderr.split('\n').filter((line) => line.startsWith('rebuild-index: '));
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^rebuild-index: done, ${stored} objects read( \\([0-9.]+/s\\))?, ${stored} indexed, 0 skipped$`,
      ),
    );
  });

  it('writes none into a pipe without --progress', async () => {
    const result = await cli(['rebuild-index', '--config', configFile()]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toContain('rebuild-index: ');
    expect(result.stdout).toContain(`index rebuilt: ${stored} instances indexed`);
  });
});
