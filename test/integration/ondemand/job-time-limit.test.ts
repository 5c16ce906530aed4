import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { askText, push, registerMrReport, registerTried } from '../../helpers/on-demand.js';
import { SAMPLES_DIR, filesUnder, type SampleFacts } from '../../helpers/samples.js';
import { sampleStudy, startTestPacs, type TestPacs } from '../../helpers/test-pacs.js';
import { gate, type Gate } from '../../helpers/test-store-scp.js';
import { freePort, waitFor } from '../../helpers/tools.js';

/*
 * A build given up at onDemand.jobTimeoutMs stops, and only then frees its worker (one here).
 * First the reads of the stored instances are held by the test (a gate in front of the real
 * object store), so the build is caught while it writes its package: its caller is told the
 * deadline was exceeded once its spool file is gone; a retry never runs beside it, and no
 * "package built" line comes from it when its reads would have gone on. Then a PACS stalls in
 * the middle of the C-MOVE that a build started: the association is aborted, and when the PACS
 * may go on it stops sending.
 */

const JOB_TIMEOUT_MS = 3000;

const ask = (bridge: TestBridge, document: string): Promise<string> =>
  askText(bridge, {
    codDocumentoDipartimentale: document,
    formato: 'PDI_ZIP',
    tempoMassimoAttesaMs: 60_000,
  });

const built = (bridge: TestBridge) => bridge.logs.filter((l) => l.msg === 'package built');

describe('a build given up while it writes its package', () => {
  const DOCUMENT = 'RAD-GIVEN-UP';
  let bridge: TestBridge;
  /** Reads of stored instances wait here until the test opens it. */
  const instanceReads: Gate = gate();
  /** Keys whose reading has begun, and who waits for the next one. */
  const reads: string[] = [];
  let nextRead: (() => void) | undefined;

  beforeAll(async () => {
    bridge = await startBridge({
      onDemand: { authKind: 'none', concurrency: 1, jobTimeoutMs: JOB_TIMEOUT_MS },
    });
    await push(bridge, filesUnder(join(SAMPLES_DIR, 'studies', '98892003')));
    await registerMrReport(bridge, DOCUMENT);
    const store = bridge.app.store;
    const read = store.read.bind(store);
    store.read = async (key) => {
      if (key.startsWith('packages/')) return read(key);
      reads.push(key);
      nextRead?.();
      await instanceReads.wait;
      return read(key);
    };
  }, 120_000);

  afterAll(async () => {
    instanceReads.open();
    await disposeBridge(bridge);
  });

  /** Resolves when `count` instance reads have begun in all. */
  function readsBegun(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (reads.length < count) return;
        nextRead = undefined;
        resolve();
      };
      nextRead = check;
      check();
    });
  }

  /** The files of the spool area where packages are written. */
  const spoolFiles = (): string[] => readdirSync(join(bridge.config.spoolDir, 'packages'));

  it('stops before its worker is free: no spool file left, no build beside the retry, no late package', async () => {
    const first = ask(bridge, DOCUMENT);
    await readsBegun(1);
    expect(spoolFiles()).toHaveLength(1);
    expect(await first).toContain('<tns:codice>CL_ER_006</tns:codice>');
    expect(spoolFiles()).toEqual([]);
    expect(bridge.app.reporting.onDemand.queue.running).toBe(0);

    // The retry gets the one worker; the build given up is not still writing beside it.
    const retry = ask(bridge, DOCUMENT);
    await readsBegun(reads.length + 1);
    expect(spoolFiles()).toHaveLength(1);
    expect(bridge.app.reporting.onDemand.queue.running).toBe(1);
    expect(await retry).toContain('<tns:codice>CL_ER_006</tns:codice>');
    expect(spoolFiles()).toEqual([]);

    // Reads may go on now: only a new request builds a package, once.
    instanceReads.open();
    const served = await ask(bridge, DOCUMENT);
    expect(served).toContain('<tns:stato>DISPONIBILE</tns:stato>');
    expect(built(bridge).map((l) => l.report)).toEqual([`010203^${DOCUMENT}`]);
    expect(spoolFiles()).toEqual([]);
  }, 60_000);
});

describe('a build given up while the PACS stalls', () => {
  const PACS_AE = 'STALLPACS';
  const ACCESSION = 'STALL-1';
  const DOCUMENT = 'RAD-STALLED';
  let bridge: TestBridge;
  let pacs: TestPacs | undefined;
  let instances: SampleFacts[];
  /** The PACS sends nothing of its C-MOVE until the test opens this. */
  const moveHeld: Gate = gate();

  beforeAll(async () => {
    instances = await sampleStudy('77654033/CT2');
    const pacsPort = await freePort();
    bridge = await startBridge({
      onDemand: { authKind: 'none', concurrency: 1, jobTimeoutMs: JOB_TIMEOUT_MS },
      pacs: {
        nodes: [
          { name: 'stalling', aeTitle: PACS_AE, host: '127.0.0.1', port: pacsPort, maxRetries: 0 },
        ],
      },
    });
    // Registered while nothing answers on the PACS's port: the report waits for its images.
    const report = await registerTried(bridge, {
      codCL: '010203',
      codDocumentoDipartimentale: DOCUMENT,
      patientId: instances[0]!.patientId,
      accessionNumbers: [{ accessionNumber: ACCESSION }],
    });
    expect(report.accessions[0]!.status).toBe('pacs-unreachable');
    pacs = await startTestPacs({
      aeTitle: PACS_AE,
      instances,
      accessionNumber: ACCESSION,
      bridgePort: () => bridge.port,
      beforeSend: () => moveHeld.wait,
      port: pacsPort,
    });
  }, 120_000);

  afterAll(async () => {
    moveHeld.open();
    await disposeBridge(bridge);
    await pacs?.close();
  });

  it('aborts the C-MOVE it started: the PACS sends no more once it may go on', async () => {
    expect(await ask(bridge, DOCUMENT)).toContain('<tns:codice>CL_ER_006</tns:codice>');
    expect(pacs!.finds).toBe(1);
    expect(pacs!.moves).toBe(1);
    expect(bridge.app.reporting.onDemand.queue.running).toBe(0);
    // The PACS finishes the instance it was sending and sees its C-MOVE was given up.
    moveHeld.open();
    await waitFor(() => pacs!.openAssociations === 0, 20_000, 'the PACS to end its C-MOVE');
    expect(bridge.app.index.countStudyInstances(instances[0]!.studyUid)).toBeLessThan(
      instances.length,
    );
    // Nothing was recorded from the retrieve given up, and nothing was built.
    const report = bridge.app.reporting.reports.get(`010203^${DOCUMENT}`)!;
    expect(report.status).toBe('waiting');
    expect(report.accessions[0]!.status).toBe('pacs-unreachable');
    expect(built(bridge)).toEqual([]);
  }, 60_000);
});
