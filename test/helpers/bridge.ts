import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startApp, type RunningApp } from '../../src/app.js';
import { loadConfig, type BridgeConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/logger.js';

export const BRIDGE_AE = 'FSEBRIDGE';
/** Calling AE titles the test bridge allows by default. */
export const TEST_PEERS = ['STORESCU', 'ECHOSCU', 'DCMSEND', 'GDCMSCU', 'DCMJS', 'TESTSCU'];

/** A log line as JSON. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

export interface TestBridge {
  port: number;
  app: RunningApp;
  config: BridgeConfig;
  dataDir: string;
  logs: LogLine[];
  stop(): Promise<void>;
}

/**
 * Write a test configuration file: a temp data dir, loopback, port 0, test peers allowed, and
 * studies answered by the Q/R SCP as soon as they arrive.
 */
export function writeTestConfig(
  overrides: Record<string, unknown> = {},
  dataDir = mkdtempSync(join(tmpdir(), 'bridge-test-')),
): { file: string; dataDir: string } {
  const dicom = (overrides.dicom as Record<string, unknown> | undefined) ?? {};
  const ingest = (overrides.ingest as Record<string, unknown> | undefined) ?? {};
  const http = (overrides.http as Record<string, unknown> | undefined) ?? {};
  const queryRetrieve = (overrides.queryRetrieve as Record<string, unknown> | undefined) ?? {};
  const config = {
    dataDir,
    log: { level: 'info' },
    ...overrides,
    dicom: {
      aeTitles: [BRIDGE_AE],
      host: '127.0.0.1',
      port: 0,
      allowedPeers: TEST_PEERS.map((aeTitle) => ({ aeTitle })),
      ...dicom,
    },
    ingest: { minFreeDiskBytes: 0, ...ingest },
    http: { host: '127.0.0.1', port: 0, ...http },
    // Tests query what they have just pushed: a study still arriving is answered unless a
    // test withholds it.
    queryRetrieve: { incompleteStudies: 'answer', ...queryRetrieve },
  };
  const file = join(dataDir, 'test-config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return { file, dataDir };
}

/** Start the bridge in this process with a test configuration; logs are captured as JSON. */
export async function startBridge(
  overrides: Record<string, unknown> = {},
  existingDataDir?: string,
): Promise<TestBridge> {
  const { file, dataDir } = writeTestConfig(overrides, existingDataDir);
  const config = loadConfig({ file, env: {} });
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n'))
        if (line) logs.push(JSON.parse(line) as LogLine);
      callback();
    },
  });
  const app = await startApp(config, createLogger('debug', sink));
  return {
    port: app.dicomPort,
    app,
    config,
    dataDir,
    logs,
    stop: () => app.stop(),
  };
}

/** Stop the bridge and remove its data directory. */
export async function disposeBridge(bridge: TestBridge | undefined): Promise<void> {
  if (!bridge) return;
  await bridge.stop();
  rmSync(bridge.dataDir, { recursive: true, force: true });
}
