import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { endpointOf, push, registerMrReport, requestXml } from '../../helpers/on-demand.js';
import { removeBucket, s3AdminClient, s3StorageConfig, uniqueBucket } from '../../helpers/s3.js';
import { SAMPLES_DIR, filesUnder } from '../../helpers/samples.js';
import { runTool } from '../../helpers/tools.js';

/*
 * On-demand retrieval with S3 storage (the Ceph RADOS gateway of the test run): the package is
 * built from instances read from the bucket, cached in the bucket under packages/, and served
 * from there.
 */

const bucket = uniqueBucket('ondemand-s3');
let bridge: TestBridge;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'ondemand-s3-'));
  bridge = await startBridge({ storage: s3StorageConfig(bucket) });
  await push(bridge, filesUnder(join(SAMPLES_DIR, 'studies', '98892003')));
  await registerMrReport(bridge, 'RAD-S3');
}, 120_000);

afterAll(async () => {
  await disposeBridge(bridge);
  await removeBucket(bucket);
  rmSync(scratch, { recursive: true, force: true });
});

async function ask(formato: string): Promise<string> {
  const response = await fetch(endpointOf(bridge), {
    method: 'POST',
    headers: { 'content-type': 'application/soap+xml; charset=utf-8' },
    body: requestXml({ codDocumentoDipartimentale: 'RAD-S3', formato }),
  });
  expect(response.status).toBe(200);
  return response.text();
}

describe('on-demand packages in S3', () => {
  it('builds the PDI ZIP from the bucket, keeps it under packages/ and serves it', async () => {
    const text = await ask('PDI_ZIP');
    expect(text).toContain('<tns:esito>SUCCESSO</tns:esito>');
    const zip = Buffer.from(/<tns:documento>([^<]+)</.exec(text)![1]!, 'base64');
    const path = join(scratch, 'package.zip');
    writeFileSync(path, zip);
    const listed = await runTool('unzip', ['-Z1', path]);
    expect(listed.code, listed.stderr).toBe(0);
    const report = bridge.app.reporting.reports.get('010203^RAD-S3')!;
    const held = report.accessions[0]!.studies.reduce((n, s) => n + s.instances, 0);
    expect(listed.stdout.split('\n').filter((name) => name.startsWith('DICOM/'))).toHaveLength(
      held,
    );
    const tested = await runTool('unzip', ['-tq', path]);
    expect(tested.code, tested.stdout + tested.stderr).toBe(0);

    const id = /<tns:identificativoDocumento>([^<]+)</.exec(text)![1]!;
    const stat = await s3AdminClient().statObject(bucket, `packages/${id}.zip`);
    expect(stat.size).toBe(zip.length);
    // Served again from the bucket, not rebuilt.
    expect(await ask('PDI_ZIP')).toContain(`<tns:identificativoDocumento>${id}<`);
    expect(bridge.logs.filter((l) => l.msg === 'package built')).toHaveLength(1);
  }, 60_000);

  it('serves the KOS manifest from the bucket', async () => {
    const text = await ask('KOS');
    expect(text).toContain('<tns:tipoMime>application/dicom</tns:tipoMime>');
    const kos = Buffer.from(/<tns:documento>([^<]+)</.exec(text)![1]!, 'base64');
    const manifest = bridge.app.reporting.reports.get('010203^RAD-S3')!.manifest!;
    expect(kos.equals(await bridge.app.store.readBuffer(manifest.storageKey))).toBe(true);
  });
});
