import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { Status } from '../../../src/dimse/status.js';
import { IntentLog } from '../../../src/ingest/intent-log.js';
import { S3Store } from '../../../src/storage/s3-store.js';
import { instanceKey } from '../../../src/storage/keys.js';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { findStudies, getStudy } from '../../helpers/dcmtk-qr.js';
import { FakeFse } from '../../helpers/fake-fse.js';
import { openIngestRig, storeSynthetic, type IngestRig } from '../../helpers/ingest-rig.js';
import { spoolFilesWithData } from '../../helpers/process-data.js';
import { bucketKeys, removeBucket, s3StoreOptions, uniqueBucket } from '../../helpers/s3.js';
import { syntheticUids, writeSyntheticFile } from '../../helpers/synthetic.js';
import { TcpProxy, type ProxyMode } from '../../helpers/tcp-proxy.js';
import { storeResponses, storescu, waitFor } from '../../helpers/tools.js';

/*
 * The S3 server fails while an instance is stored: it refuses connections (killed), answers
 * errors, stops answering (SIGSTOP: the store's request timeout ends the wait), drops the
 * connection, or carries out the PUT and loses its answer. The ingest pipeline runs on its
 * own here, with a real S3 store on the shared Ceph gateway through a proxy this test controls,
 * and a real index. The sender gets 0xA700 and the index gets no row: storage is written
 * first, so a failed store never leaves a row behind to take back (which the outage would not
 * let the bridge check).
 */

const quiet = pino({ level: 'silent' });
const REQUEST_TIMEOUT_MS = 1000;

let rig: IngestRig | undefined;
let proxy: TcpProxy | undefined;
let bucket: string | undefined;
let bridge: TestBridge | undefined;
let fse: FakeFse | undefined;
let dir: string | undefined;

afterEach(async () => {
  await rig?.close();
  await disposeBridge(bridge);
  await fse?.close();
  await proxy?.close();
  if (bucket) await removeBucket(bucket);
  if (dir) rmSync(dir, { recursive: true, force: true });
  rig = undefined;
  bridge = undefined;
  fse = undefined;
  proxy = undefined;
  bucket = undefined;
  dir = undefined;
});

async function openS3Rig(): Promise<IngestRig> {
  const s3 = inject('s3');
  proxy = await TcpProxy.start({ host: s3.endPoint, port: s3.port });
  bucket = uniqueBucket('s3-outage');
  const options = s3StoreOptions(bucket, {
    port: proxy.port,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
  });
  rig = await openIngestRig({
    store: (_dir, spoolDir) => S3Store.create({ ...options, spoolDir }, quiet),
  });
  return rig;
}

const OUTAGES: Array<[ProxyMode, string]> = [
  ['refuse', 'connections refused (gateway killed)'],
  ['error', 'an S3 error answer (503 SlowDown)'],
  ['stall', 'no answer at all (gateway stopped with SIGSTOP): the request times out'],
  ['cut', 'the connection reset as the PUT begins'],
];

describe('an S3 outage while an instance is stored', () => {
  it.each(OUTAGES)('%s, %s: 0xA700, no row, nothing stored, note kept', async (mode) => {
    const { ingest, index, spoolDir } = await openS3Rig();
    const instance = { study: 71, series: 1, instance: 1, rows: 64, columns: 64 };
    const uids = syntheticUids(instance);
    const key = instanceKey(uids.study, uids.series, uids.sop);
    await proxy!.setMode(mode);

    const outcome = await storeSynthetic(ingest, instance);
    expect(outcome.status).toBe(Status.OutOfResources);
    if (mode !== 'refuse') expect(proxy!.intercepted).toBeGreaterThan(0);
    expect(index.findInstance(uids.sop)).toBeUndefined();
    expect(index.getStudy(uids.study)).toBeUndefined();
    expect(index.countInstances()).toBe(0);
    expect(spoolFilesWithData(spoolDir)).toEqual([]);
    // The note stays for the next start, which settles whatever the PUT may yet have done.
    expect(await new IntentLog(spoolDir).pending()).toContain(key);
    expect(await bucketKeys(bucket!)).toEqual([]);
    expect(outcome.errorComment).toBe('storage failure');

    // The gateway is back: the sender's retry is stored and indexed.
    await proxy!.setMode('forward');
    expect(await storeSynthetic(ingest, instance)).toEqual({ status: Status.Success });
    expect(index.findInstance(uids.sop)?.storageKey).toBe(key);
    expect(await bucketKeys(bucket!)).toEqual([key]);
  });

  it('a PUT carried out whose answer is lost: 0xA700 and no row; the next start indexes the object', async () => {
    const { ingest, index } = await openS3Rig();
    const instance = { study: 72, series: 1, instance: 1, rows: 64, columns: 64 };
    const uids = syntheticUids(instance);
    const key = instanceKey(uids.study, uids.series, uids.sop);
    await proxy!.setMode('withhold');

    expect((await storeSynthetic(ingest, instance)).status).toBe(Status.OutOfResources);
    expect(index.findInstance(uids.sop)).toBeUndefined();
    expect(index.countInstances()).toBe(0);
    // The server did store it: an object no row names, invisible to queries and links.
    await waitFor(async () => (await bucketKeys(bucket!)).includes(key), 10_000, 'the object');

    // At the next start the note of its key settles it: storage is the truth.
    await proxy!.setMode('forward');
    await rig!.restart();
    expect(index.findInstance(uids.sop)?.storageKey).toBe(key);
    expect(index.countInstances()).toBe(1);
  });
});

describe('the daemon on S3 when the gateway dies under a C-STORE', () => {
  const TOKEN = 'outage-token-0123456789';

  it('holds, counts, finds, retrieves, links and notifies nothing of a refused instance', async () => {
    const s3 = inject('s3');
    proxy = await TcpProxy.start({ host: s3.endPoint, port: s3.port });
    bucket = uniqueBucket('s3-outage-link');
    fse = await FakeFse.start();
    bridge = await startBridge({
      storage: { kind: 's3', s3: s3StoreOptions(bucket, { port: proxy.port }) },
      http: { apiToken: TOKEN },
      fse: {
        transport: 'http',
        notifyUrl: fse.baseUrl,
        retryBaseDelayMs: 20,
        retryMaxDelayMs: 200,
        pollIntervalMs: 100,
      },
      links: { quietPeriodMs: 300 },
    });
    dir = mkdtempSync(join(tmpdir(), 's3-outage-'));
    const options = { study: 74, series: 1, instance: 1, rows: 64, columns: 64 };
    const uids = syntheticUids(options);
    const file = join(dir, 'instance.dcm');
    writeSyntheticFile(file, options);

    // One instance of a new accession while the gateway is down (kill -9).
    await proxy.setMode('refuse');
    expect(storeResponses(await storescu(bridge.port, [file]))).toEqual([
      'Refused: OutOfResources',
    ]);
    await proxy.setMode('forward');

    expect(bridge.app.index.countInstances()).toBe(0);
    expect(bridge.app.index.getStudy(uids.study)).toBeUndefined();
    expect(await findStudies(bridge.port, ['AccessionNumber=ACC74'])).toEqual(new Map());
    expect((await getStudy(bridge.port, uids.study, dir)).size).toBe(0);

    // A report on that accession waits for its images: nothing to link, no manifest, no one told.
    const reports = bridge.app.reporting.reports;
    const key = '010203^DOC-OUTAGE-1';
    const registered = await fetch(
      `http://127.0.0.1:${bridge.app.reporting.httpPort}/api/reports`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          codCL: '010203',
          codDocumentoDipartimentale: 'DOC-OUTAGE-1',
          accessionNumbers: [{ accessionNumber: 'ACC74' }],
          patientId: 'SYN74',
          codiceFiscale: 'RSSMRA80A01H501U',
        }),
      },
    );
    expect(registered.status).toBe(202);
    await bridge.app.reporting.linker.idle();
    expect(reports.get(key)).toMatchObject({ status: 'waiting', manifest: undefined });
    expect(reports.get(key)!.accessions.map((a) => a.studies)).toEqual([[]]);
    expect(bridge.app.reporting.outbox.counts()).toEqual({ pending: 0, delivered: 0, dead: 0 });
    expect(await bucketKeys(bucket)).toEqual([]);

    // The PACS sends it again, the gateway up: stored, then linked with it, and the FSE told.
    expect(storeResponses(await storescu(bridge.port, [file]))).toEqual(['Success']);
    await waitFor(() => reports.get(key)?.status === 'linked', 30_000, 'the report linked');
    const manifest = reports.get(key)!.manifest!;
    expect(manifest.instances).toBe(1);
    const instanceKeyHeld = bridge.app.index.findInstance(uids.sop)!.storageKey;
    expect(await bucketKeys(bucket)).toEqual([instanceKeyHeld, manifest.storageKey].sort());
    await waitFor(
      () => bridge!.app.reporting.outbox.counts().delivered === 1,
      30_000,
      'the FSE notified',
    );
    expect(fse.requests.filter((r) => r.valid)).toHaveLength(1);
  }, 120_000);
});
