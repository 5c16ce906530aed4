import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeBridge, type TestBridge } from '../../helpers/bridge.js';
import { SAMPLES_DIR } from '../../helpers/samples.js';
import { dcmsend } from '../../helpers/tools.js';
import { adminCall, startAdminBridge, storescu } from './admin-fixture.js';

/*
 * /metrics after a real ingest (DCMTK storescu and dcmsend), a refused instance and a refused
 * association; /readyz up, then down when the data directory disappears. Neither needs admin
 * credentials; the admin API does.
 */

const BAD_UID = join(SAMPLES_DIR, 'bad', 'generated', 'CT_bad_study_uid_letters.dcm');
let bridge: TestBridge;
let http: number;

beforeAll(async () => {
  bridge = await startAdminBridge();
  http = bridge.app.reporting.httpPort;
});

afterAll(() => disposeBridge(bridge));

async function metrics(): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${http}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  return response.text();
}

/** The value of one sample line, e.g. `bridge_instances_received_total{calling_ae="X"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('/metrics', () => {
  it('counts instances, bytes, associations and latencies after an ingest', async () => {
    const before = await metrics();
    expect(sample(before, 'bridge_instances_received_total{calling_ae="STORESCU"}')).toBe(
      undefined,
    );

    const stored = await storescu(bridge.port, 'STORESCU');
    expect(stored.code, stored.stderr).toBe(0);
    const study = join(SAMPLES_DIR, 'studies');
    const sent = await dcmsend(bridge.port, [study], { recurse: true });
    expect(sent.code, sent.stdout + sent.stderr).toBe(0);
    const held = bridge.app.index.countInstances();
    expect(held).toBeGreaterThan(1);
    await dcmsend(bridge.port, [BAD_UID]);
    expect((await storescu(bridge.port, 'INTRUDER')).code).not.toBe(0);

    const text = await metrics();
    expect(sample(text, 'bridge_instances_received_total{calling_ae="STORESCU"}')).toBe(1);
    expect(sample(text, 'bridge_instances_received_total{calling_ae="DCMSEND"}')).toBe(held - 1);
    expect(sample(text, 'bridge_instances_failed_total{calling_ae="DCMSEND"}')).toBe(1);
    expect(sample(text, 'bridge_received_bytes_total{calling_ae="STORESCU"}')).toBeGreaterThan(
      1000,
    );
    expect(sample(text, 'bridge_associations_accepted_total')).toBe(3);
    expect(
      sample(
        text,
        'bridge_associations_rejected_total{reason="calling AE title is not an allowed peer"}',
      ),
    ).toBe(1);
    expect(sample(text, 'bridge_storage_write_seconds_count')).toBe(held);
    expect(sample(text, 'bridge_index_commit_seconds_count')).toBe(held);
    expect(sample(text, 'bridge_storage_free_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'bridge_fse_outbox_items{status="pending"}')).toBe(0);
    expect(sample(text, 'bridge_fse_outbox_retrying')).toBe(0);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(text).toContain('# TYPE bridge_ondemand_wait_seconds histogram');
    expect(text).toContain('# TYPE bridge_ondemand_processing_seconds histogram');
  });

  it('shows the on-demand queue depth, on /metrics and on the admin API', async () => {
    const text = await metrics();
    expect(sample(text, 'bridge_ondemand_queue_depth{state="waiting"}')).toBe(0);
    expect(sample(text, 'bridge_ondemand_queue_depth{state="running"}')).toBe(0);
    const queue = await adminCall(http, 'GET', '/admin/api/queue');
    expect(queue.body).toEqual({ waiting: 0, running: 0 });
  });

  it('lists the associations on the admin API, and asks credentials there', async () => {
    expect((await adminCall(http, 'GET', '/admin/api/associations', undefined, false)).status).toBe(
      401,
    );
    const recent = await adminCall<Array<Record<string, unknown>>>(
      http,
      'GET',
      '/admin/api/associations',
    );
    const statuses = recent.body.map((a) => `${String(a.callingAe)}:${String(a.status)}`);
    expect(statuses).toContain('INTRUDER:rejected');
    expect(recent.body.find((a) => a.callingAe === 'STORESCU')).toMatchObject({
      peerHost: '127.0.0.1',
      instancesStored: 1,
      instancesFailed: 0,
      status: 'released',
    });
    expect(
      recent.body.find((a) => a.callingAe === 'DCMSEND' && a.instancesFailed === 1),
    ).toBeDefined();
  });
});

describe('/readyz', () => {
  it('is ready with storage, index and the DICOM port up', async () => {
    const response = await fetch(`http://127.0.0.1:${http}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'ready',
      checks: { storage: 'up', index: 'up', dicom: 'up' },
    });
  });

  it('checks the MLLP listener too when HL7 is enabled', async () => {
    const withHl7 = await startAdminBridge({ hl7: { enabled: true, host: '127.0.0.1', port: 0 } });
    try {
      const port = withHl7.app.reporting.httpPort;
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ checks: { hl7: 'up', dicom: 'up' } });
    } finally {
      await disposeBridge(withHl7);
    }
  });

  it('answers 503 naming storage when the data directory is gone', async () => {
    rmSync(bridge.dataDir, { recursive: true, force: true });
    const response = await fetch(`http://127.0.0.1:${http}/readyz`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { status: string; down: Array<{ name: string }> };
    expect(body.status).toBe('not-ready');
    expect(body.down.map((d) => d.name)).toContain('storage');
    expect((await fetch(`http://127.0.0.1:${http}/healthz`)).status).toBe(200);
  });
});
