import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SubOperationCounts } from '../../../src/dimse/errors.js';
import type { StoreReceiver } from '../../../src/dimse/store-service.js';
import { BRIDGE_AE, disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { SAMPLES_DIR } from '../../helpers/samples.js';
import { heldStudies, storedDataset, type HeldStudy } from '../../helpers/stored.js';
import { dcmsend } from '../../helpers/tools.js';

/*
 * One bridge retrieves from another with C-GET: the second bridge's PACS node is the first
 * bridge's Q/R SCP. The instances come back on the C-GET association, through the second
 * bridge's own ingest, and are stored byte for byte as the first one holds them.
 */

const SECOND_AE = 'BRIDGE2';
let source: TestBridge;
let retriever: TestBridge;
/** The studies the first bridge holds that have an accession number. */
let studies: HeldStudy[];

beforeAll(async () => {
  source = await startBridge({
    dicom: { allowedPeers: ['DCMSEND', SECOND_AE].map((aeTitle) => ({ aeTitle })) },
  });
  const sent = await dcmsend(source.port, [`${SAMPLES_DIR}studies`], { recurse: true });
  expect(sent.code, sent.stderr).toBe(0);
  studies = heldStudies(source.app.index).filter((s) => s.accessionNumber !== '');
  expect(studies.length).toBeGreaterThan(1);
  retriever = await startBridge({
    dicom: { aeTitles: [SECOND_AE] },
    pacs: {
      nodes: [
        {
          name: 'first',
          aeTitle: BRIDGE_AE,
          host: '127.0.0.1',
          port: source.port,
          retrieveMethod: 'C-GET',
          maxRetries: 0,
          responseTimeoutMs: 30_000,
        },
      ],
    },
  });
}, 120_000);

afterAll(async () => {
  await disposeBridge(retriever);
  await disposeBridge(source);
});

describe('C-GET from another bridge', () => {
  it('reports remaining falling by one per pending response, and the instances as stored', async () => {
    const { pacs } = retriever.app.retrievers.get('first')!;
    const study = [...studies].sort((a, b) => b.instances.length - a.instances.length)[0]!;
    const n = study.instances.length;
    expect(n).toBeGreaterThan(2);
    const received = new Map<string, Buffer>();
    const progress: SubOperationCounts[] = [];
    const counts = await pacs.getStudy(
      study.studyUid,
      study.instances.map((i) => i.sopClassUid),
      (request): StoreReceiver => {
        const chunks: Buffer[] = [];
        let settle!: (outcome: { status: number }) => void;
        const outcome = new Promise<{ status: number }>((resolve) => (settle = resolve));
        return {
          outcome,
          write: (chunk) => chunks.push(chunk) > 0,
          onDrain: () => undefined,
          end() {
            received.set(request.sopInstanceUid, Buffer.concat(chunks));
            settle({ status: 0 });
          },
          fail: () => settle({ status: 0xa700 }),
        };
      },
      { onProgress: (c) => progress.push(c) },
    );
    expect(counts).toEqual({ completed: n, failed: 0, warning: 0, remaining: 0 });
    expect(progress.map((c) => c.remaining)).toEqual(
      Array.from({ length: n - 1 }, (_, i) => n - 1 - i),
    );
    for (const c of progress)
      expect(c).toEqual({
        completed: n - c.remaining,
        failed: 0,
        warning: 0,
        remaining: c.remaining,
      });
    expect([...received.keys()].sort()).toEqual(
      study.instances.map((i) => i.sopInstanceUid).sort(),
    );
    for (const instance of study.instances) {
      const stored = await storedDataset(source.app.store, instance.storageKey);
      expect(received.get(instance.sopInstanceUid)!.equals(stored.dataset)).toBe(true);
    }
    // Nothing went through the second bridge's ingest.
    expect(retriever.app.index.countInstances()).toBe(0);
  });

  it('retrieves every study by accession through the ingest, complete and byte-identical', async () => {
    const studyRetriever = retriever.app.retrievers.get('first')!;
    const requests = new Map(
      studies.map((s) => [`${s.accessionNumber}|${s.patientId}`, s] as const),
    );
    for (const study of requests.values()) {
      const outcome = await studyRetriever.retrieveByAccession({
        accessionNumber: study.accessionNumber,
        patientId: study.patientId,
      });
      expect(outcome.kind, JSON.stringify(outcome)).toBe('complete');
    }
    const total = studies.reduce((sum, s) => sum + s.instances.length, 0);
    expect(retriever.app.index.countInstances()).toBe(total);
    for (const study of studies) {
      expect(retriever.app.index.countStudyInstances(study.studyUid)).toBe(study.instances.length);
      for (const instance of study.instances) {
        const copy = retriever.app.index.findInstance(instance.sopInstanceUid);
        expect(copy, instance.sopInstanceUid).toBeDefined();
        const original = await storedDataset(source.app.store, instance.storageKey);
        const retrieved = await storedDataset(retriever.app.store, copy!.storageKey);
        expect(retrieved.transferSyntaxUid).toBe(original.transferSyntaxUid);
        expect(retrieved.dataset.equals(original.dataset), instance.sopInstanceUid).toBe(true);
      }
    }
  });
});
