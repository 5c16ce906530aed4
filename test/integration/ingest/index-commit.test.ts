import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openAssociation, type ClientAssociation } from '../../../src/dimse/client.js';
import type { DimseServer } from '../../../src/dimse/scp.js';
import { Status } from '../../../src/dimse/status.js';
import { IndexError } from '../../../src/index/errors.js';
import { IntentLog } from '../../../src/ingest/intent-log.js';
import { instanceKey } from '../../../src/storage/keys.js';
import { BRIDGE_AE, disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { objectFiles, quietLog, spoolFiles } from '../../helpers/dimse-checks.js';
import {
  commitGate,
  openIngestRig,
  type CommitGate,
  type IngestRig,
} from '../../helpers/ingest-rig.js';
import { spoolFilesWithData } from '../../helpers/process-data.js';
import { IMPLICIT_LE, VERIFICATION } from '../../helpers/raw-peer.js';
import {
  CT_IMAGE_STORAGE,
  EXPLICIT_LE,
  syntheticDataset,
  syntheticUids,
  writeSyntheticFile,
} from '../../helpers/synthetic.js';
import { serveStoreService } from '../../helpers/test-store-scp.js';
import { storeResponses, storescu } from '../../helpers/tools.js';

/*
 * Success waits for the index commit, and a failed commit keeps nothing. The ingest pipeline
 * runs behind a DICOM SCP of its own, over a real store and a real index, with a gate this test
 * opens or fails in front of the index commit; then the daemon, whose index refuses for real.
 */

const INSTANCE = { study: 81, series: 1, instance: 1, rows: 64, columns: 64 };
const uids = syntheticUids(INSTANCE);
const key = instanceKey(uids.study, uids.series, uids.sop);

let rig: IngestRig | undefined;
let gate: CommitGate | undefined;
let server: DimseServer | undefined;
let bridge: TestBridge | undefined;
let dir: string | undefined;

afterEach(async () => {
  gate?.open();
  await server?.close(1000);
  await rig?.close();
  await disposeBridge(bridge);
  if (dir) rmSync(dir, { recursive: true, force: true });
  server = undefined;
  gate = undefined;
  rig = undefined;
  bridge = undefined;
  dir = undefined;
});

/** The rig's ingest service behind a DICOM SCP on loopback; resolves with its port. */
async function serve(service: IngestRig['ingest']): Promise<number> {
  const served = await serveStoreService(service, BRIDGE_AE, ['TESTSCU']);
  server = served.server;
  return served.port;
}

function associate(port: number, abstractSyntax: string, ts: string): Promise<ClientAssociation> {
  return openAssociation({
    host: '127.0.0.1',
    port,
    callingAe: 'TESTSCU',
    calledAe: BRIDGE_AE,
    contexts: [{ abstractSyntax, transferSyntaxes: [ts] }],
    connectTimeoutMs: 10_000,
    log: quietLog,
  });
}

/** A C-STORE of the instance; `answered()` tells whether its answer has arrived. */
async function sendInstance(port: number) {
  const client = await associate(port, CT_IMAGE_STORAGE, EXPLICIT_LE);
  let answered = false;
  const answer = client
    .store(CT_IMAGE_STORAGE, uids.sop, EXPLICIT_LE, syntheticDataset(INSTANCE))
    .finally(() => (answered = true));
  return { answer, answered: () => answered, release: () => client.release() };
}

/** A C-ECHO round trip on another association: an answer sent before it has arrived by then. */
async function echoRoundTrip(port: number): Promise<void> {
  const client = await associate(port, VERIFICATION, IMPLICIT_LE);
  expect(await client.echo()).toBe(Status.Success);
  await client.release();
}

describe('the C-STORE answer and the index commit', () => {
  it('answers Success only once the index commit has gone through', async () => {
    rig = await openIngestRig({ index: (index) => (gate = commitGate(index)).index });
    const port = await serve(rig.ingest);
    const sent = await sendInstance(port);

    await gate!.reached(1);
    // Storage first: the object is in place while its row waits at the gate.
    expect(await rig.store.stat(key)).toBeDefined();
    await echoRoundTrip(port);
    expect(sent.answered()).toBe(false);
    expect(rig.index.findInstance(uids.sop)).toBeUndefined();

    gate!.open();
    expect((await sent.answer).status).toBe(Status.Success);
    expect(rig.index.findInstance(uids.sop)?.storageKey).toBe(key);
    await sent.release();
  });

  it('answers 0xA700 when the index commit fails, keeping no row, no object, no spool file', async () => {
    rig = await openIngestRig({ index: (index) => (gate = commitGate(index)).index });
    const port = await serve(rig.ingest);
    const sent = await sendInstance(port);

    await gate!.reached(1);
    await echoRoundTrip(port);
    expect(sent.answered()).toBe(false);
    gate!.fail(new IndexError('commitInstances failed: disk I/O error'));

    expect(await sent.answer).toMatchObject({
      status: Status.OutOfResources,
      errorComment: 'index failure',
    });
    expect(rig.index.findInstance(uids.sop)).toBeUndefined();
    expect(rig.index.countInstances()).toBe(0);
    // The object stored ahead of the row is taken away again.
    expect(await rig.store.stat(key)).toBeUndefined();
    expect(spoolFilesWithData(rig.spoolDir)).toEqual([]);
    await sent.release();
  });
});

describe('the daemon when its index refuses a commit', () => {
  it('answers 0xA700, keeps no row, no object, no spool file, and stores the instance sent again', async () => {
    bridge = await startBridge();
    dir = mkdtempSync(join(tmpdir(), 'index-commit-'));
    const file = join(dir, 'instance.dcm');
    writeSyntheticFile(file, INSTANCE);
    // A real SQLite failure on the writer's connection: every insert of an instance aborts.
    const db = new Database(bridge.config.index.path);
    try {
      db.exec(`CREATE TRIGGER refuse_instances BEFORE INSERT ON instances
        BEGIN SELECT RAISE(ABORT, 'instances refused'); END`);
      expect(storeResponses(await storescu(bridge.port, [file]))).toEqual([
        'Refused: OutOfResources',
      ]);
      expect(bridge.app.index.countInstances()).toBe(0);
      expect(await objectFiles(bridge)).toEqual([]);
      expect(await spoolFiles(bridge)).toEqual([]);
      // The note of the key stays for the next start, which finds index and storage agreeing.
      expect(await new IntentLog(bridge.config.spoolDir).pending()).toContain(key);

      db.exec('DROP TRIGGER refuse_instances');
      expect(storeResponses(await storescu(bridge.port, [file]))).toEqual(['Success']);
      expect(bridge.app.index.findInstance(uids.sop)?.storageKey).toBe(key);
      expect(await objectFiles(bridge)).toEqual([key]);
    } finally {
      db.close();
    }
  });
});
