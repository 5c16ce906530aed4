import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import {
  basicAuth,
  CALLER,
  endpointOf,
  push,
  registerLinked,
  requestXml,
} from '../../helpers/on-demand.js';
import { writeSyntheticInstances } from '../../helpers/synthetic.js';
import { runTool } from '../../helpers/tools.js';

/*
 * Load: 50 concurrent callers against a queue of 4 workers and 10 waiting places. Every
 * answer is the right package or an immediate busy answer with a retry hint: no hang, no
 * crash, and the daemon answers normally afterwards.
 */

const REPORTS = 25;
const INSTANCES = 60;
let bridge: TestBridge;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'ondemand-load-'));
  const files = writeSyntheticInstances(
    join(scratch, 'study'),
    INSTANCES,
    { rows: 256, columns: 256 },
    7,
  );
  bridge = await startBridge({
    onDemand: { authKind: 'basic', ...CALLER, concurrency: 4, maxQueued: 10 },
  });
  await push(
    bridge,
    files.map((f) => f.path),
  );
  for (let n = 0; n < REPORTS; n++)
    await registerLinked(bridge, {
      codCL: '010203',
      codDocumentoDipartimentale: `RAD-LOAD-${n}`,
      patientId: 'SYN700000',
      accessionNumbers: [{ accessionNumber: 'ACC700000' }],
    });
}, 180_000);

afterAll(async () => {
  await disposeBridge(bridge);
  rmSync(scratch, { recursive: true, force: true });
});

interface Outcome {
  n: number;
  status: number;
  text: string;
  retryAfter: string | null;
}

async function ask(n: number): Promise<Outcome> {
  const response = await fetch(endpointOf(bridge), {
    method: 'POST',
    headers: { 'content-type': 'application/soap+xml; charset=utf-8', authorization: basicAuth() },
    body: requestXml({
      codDocumentoDipartimentale: `RAD-LOAD-${n}`,
      formato: 'PDI_ZIP',
      codiceFiscaleAssistito: 'RSSMRA80A01H501U',
      tempoMassimoAttesaMs: 120_000,
    }),
  });
  return {
    n,
    status: response.status,
    text: await response.text(),
    retryAfter: response.headers.get('retry-after'),
  };
}

/** The entries of a ZIP, as Info-ZIP lists them. */
async function entries(zip: Buffer, name: string): Promise<string[]> {
  const path = join(scratch, `${name}.zip`);
  writeFileSync(path, zip);
  const listed = await runTool('unzip', ['-Z1', path]);
  expect(listed.code, listed.stderr).toBe(0);
  return listed.stdout.trim().split('\n');
}

describe('50 concurrent callers, 4 workers, 10 waiting places', () => {
  it('answers each with its package or at once with busy, and keeps serving', async () => {
    // Each report asked twice: identical requests share one job.
    const outcomes = await Promise.all(
      Array.from({ length: 2 * REPORTS }, (_, i) => ask(i % REPORTS)),
    );
    let delivered = 0;
    let busy = 0;
    for (const outcome of outcomes) {
      expect(outcome.status).toBe(200);
      if (outcome.text.includes('<tns:esito>SUCCESSO</tns:esito>')) {
        const base64 = /<tns:documento>([^<]+)<\/tns:documento>/.exec(outcome.text)![1]!;
        const names = await entries(Buffer.from(base64, 'base64'), `p${delivered}`);
        expect(names.filter((name) => name.startsWith('DICOM/'))).toHaveLength(INSTANCES);
        expect(names).toContain('DICOMDIR');
        delivered++;
      } else {
        expect(outcome.text).toContain('<tns:codice>CL_ER_005</tns:codice>');
        expect(
          Number(/<tns:tempoAttesaSuggeritoMs>(\d+)</.exec(outcome.text)?.[1]),
        ).toBeGreaterThan(0);
        expect(Number(outcome.retryAfter)).toBeGreaterThan(0);
        busy++;
      }
    }
    expect(delivered + busy).toBe(2 * REPORTS);
    // 25 distinct jobs against 14 places: some were turned away, the admitted ones served.
    expect(busy).toBeGreaterThan(0);
    expect(delivered).toBeGreaterThanOrEqual(2);
    const queue = bridge.app.reporting.onDemand.queue;
    expect(queue.waiting + queue.running).toBe(0);
    // Afterwards a request that was turned away is served.
    const refused = outcomes.find((o) => !o.text.includes('SUCCESSO'))!;
    const again = await ask(refused.n);
    expect(again.text).toContain('<tns:esito>SUCCESSO</tns:esito>');
  }, 180_000);
});
