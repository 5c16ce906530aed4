import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AssociationRejectedError, type ClientAssociation } from '../../../src/dimse/client.js';
import { parseFileMeta } from '../../../src/dicom/file-meta.js';
import { BRIDGE_AE, disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import {
  connectClient,
  echoStatus,
  expectNothingStored,
  logsWithMessage,
  objectFiles,
  settle,
  spoolFiles,
  waitForLog,
} from '../../helpers/dimse-checks.js';
import { IMPLICIT_LE, VERIFICATION } from '../../helpers/raw-peer.js';
import { SAMPLES_DIR, sampleFacts } from '../../helpers/samples.js';
import { storedDataset } from '../../helpers/stored.js';
import { writeSyntheticInstances } from '../../helpers/synthetic.js';
import { runTool } from '../../helpers/tools.js';

/*
 * Load limits (issue acceptance list): several associations at once, the association limit
 * (rejected as transient, local limit exceeded, and usable again once one is released),
 * concurrent DCMTK senders, and the free disk space floor (0xA700, nothing kept).
 */

let bridge: TestBridge | undefined;
const tempDirs: string[] = [];

afterEach(async () => {
  await disposeBridge(bridge);
  bridge = undefined;
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const LOCAL_LIMIT_EXCEEDED = { result: 2, source: 3, reason: 2 };

describe('association limits', () => {
  it('serves 8 associations open at the same time', async () => {
    bridge = await startBridge();
    const clients = await Promise.all(Array.from({ length: 8 }, () => connectClient(bridge!)));
    try {
      // All eight are open now; echo on each of them concurrently.
      const statuses = await Promise.all(clients.map((client) => client.echo()));
      expect(statuses).toEqual(Array(8).fill(0x0000));
    } finally {
      await Promise.all(clients.map((client) => client.release()));
    }
    const accepted = new Set(
      logsWithMessage(bridge, 'association accepted').map((line) => line.association),
    );
    expect(accepted.size).toBe(8);
    expect(logsWithMessage(bridge, 'association rejected: too many open associations')).toEqual([]);
  });

  it('rejects an association beyond maxAssociations as transient (2/3/2) and accepts again after a release', async () => {
    bridge = await startBridge({ dicom: { maxAssociations: 2 } });
    const held: ClientAssociation[] = [await connectClient(bridge), await connectClient(bridge)];
    try {
      const third = await settle(connectClient(bridge));
      if (third.ok) await third.value.release();
      expect(third.ok).toBe(false);
      const error = third.ok ? undefined : third.error;
      expect(error).toBeInstanceOf(AssociationRejectedError);
      expect((error as AssociationRejectedError).rejection).toEqual(LOCAL_LIMIT_EXCEEDED);
      const line = await waitForLog(
        bridge,
        (l) => l.msg === 'association rejected: too many open associations',
        'limit rejection',
      );
      expect(line).toMatchObject({ callingAe: 'TESTSCU', calledAe: BRIDGE_AE, max: 2 });

      // DCMTK sees the same refusal.
      const echo = await runTool('echoscu', [
        '-aet',
        'ECHOSCU',
        '-aec',
        BRIDGE_AE,
        '127.0.0.1',
        String(bridge.port),
      ]);
      expect(echo.code).not.toBe(0);
      expect(echo.stdout + echo.stderr).toMatch(/Rejected Transient/i);
      expect(echo.stdout + echo.stderr).toMatch(/Local Limit Exceeded/i);

      // The held ones still work.
      expect(await held[0]!.echo()).toBe(0x0000);

      // Release one; once the bridge has closed it, a new association is accepted.
      const released = held.shift()!;
      await released.release();
      await waitForLog(
        bridge,
        (l) => l.msg === 'association closed' && l.reason === 'released',
        'the released association closed',
      );
      const fresh = await connectClient(bridge);
      held.push(fresh);
      expect(await fresh.echo()).toBe(0x0000);
    } finally {
      await Promise.all(held.map((client) => client.release()));
    }
  });

  it('stores everything from four storescu processes sending at once', async () => {
    bridge = await startBridge();
    const senders = [1, 2, 3, 4].map((study) => {
      const dir = mkdtempSync(join(tmpdir(), `bridge-limits-${study}-`));
      tempDirs.push(dir);
      return {
        study,
        files: writeSyntheticInstances(dir, 25, { rows: 64, columns: 64 }, 700 + study),
      };
    });
    const results = await Promise.all(
      senders.map(({ files }) =>
        runTool('storescu', [
          '-aet',
          'STORESCU',
          '-aec',
          BRIDGE_AE,
          '-xe',
          '127.0.0.1',
          String(bridge!.port),
          ...files.map((f) => f.path),
        ]),
      ),
    );
    for (const [i, result] of results.entries()) {
      expect(result.code, `storescu #${i + 1}: ${result.stderr}`).toBe(0);
      expect(result.stderr).not.toMatch(/E: /);
    }
    const all = senders.flatMap(({ files }) => files);
    expect(new Set(all.map((f) => f.sopInstanceUid)).size).toBe(100);
    expect(bridge.app.index.countInstances()).toBe(100);
    for (const file of all) {
      const location = bridge.app.index.findInstance(file.sopInstanceUid);
      expect(location, `${file.path} indexed`).toBeDefined();
      const bytes = readFileSync(file.path);
      const sent = bytes.subarray(parseFileMeta(bytes).datasetOffset);
      expect(
        (await storedDataset(bridge.app.store, location!.storageKey)).dataset.equals(sent),
        `${file.path} stored as sent`,
      ).toBe(true);
    }
    expect(bridge.app.index.listStudies()).toHaveLength(4);
    expect(await objectFiles(bridge)).toHaveLength(100);
    expect(await spoolFiles(bridge)).toEqual([]);
  });
});

describe('disk space floor', () => {
  it('refuses instances with 0xA700 when free space is below minFreeDiskBytes, keeping nothing', async () => {
    bridge = await startBridge({ ingest: { minFreeDiskBytes: 10 ** 15 } });
    const file = join(SAMPLES_DIR, 'single', 'CT_small.dcm');
    const result = await runTool('storescu', [
      '-v',
      '-aet',
      'STORESCU',
      '-aec',
      BRIDGE_AE,
      '127.0.0.1',
      String(bridge.port),
      file,
    ]);
    const output = result.stdout + result.stderr;
    expect(output).toMatch(/Received Store Response \((Refused: OutOfResources|.*A700)/i);
    expect(output).not.toMatch(/Received Store Response \(Success\)/i);
    await waitForLog(
      bridge,
      (line) =>
        line.msg === 'instance refused; nothing kept' &&
        line.status === 0xa700 &&
        /below the floor/.test(String(line.reason)),
      'disk floor refusal',
    );
    await expectNothingStored(bridge);
    // Refusing is not failing: the bridge still answers.
    expect(await echoStatus(bridge)).toBe(0x0000);
  });
});

describe('instance size limit', () => {
  it('refuses an instance larger than maxInstanceBytes with 0xA700, keeping nothing', async () => {
    bridge = await startBridge({ ingest: { maxInstanceBytes: 10_000 } });
    const ct = await sampleFacts(join(SAMPLES_DIR, 'single', 'CT_small.dcm'));
    expect(ct.dataset.length).toBeGreaterThan(10_000);
    const client = await connectClient(bridge, {
      contexts: [
        { abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] },
        { abstractSyntax: ct.sopClassUid, transferSyntaxes: [ct.transferSyntaxUid] },
      ],
    });
    try {
      const response = await client.store(
        ct.sopClassUid,
        ct.sopInstanceUid,
        ct.transferSyntaxUid,
        ct.dataset,
      );
      expect(response.status).toBe(0xa700);
      // The whole dataset was read, so the association is still in step.
      expect(await client.echo()).toBe(0x0000);
    } finally {
      await client.release();
    }
    await expectNothingStored(bridge);
  });
});
