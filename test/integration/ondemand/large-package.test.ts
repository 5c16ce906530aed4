import { readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTestConfig } from '../../helpers/bridge.js';
import { startDaemon, type DaemonProcess } from '../../helpers/daemon-process.js';
import { requestXml, streamExchange } from '../../helpers/on-demand.js';
import { writeSyntheticInstances } from '../../helpers/synthetic.js';
import { dcmsend, waitFor } from '../../helpers/tools.js';

/*
 * A 1 GB study goes out as one MTOM package to a client that streams it: the daemon (its own
 * process, restarted after the ingest) builds the PDI ZIP and sends it without holding it, so its
 * resident memory stays far below the package size.
 */

const INSTANCES = 100;
/** 2560 × 2048 × 2 bytes: about 10.5 MB per instance, 1.05 GB in all. */
const SIZE = { rows: 2560, columns: 2048 };
/*
 * What the download may add to the daemon's resident memory. The daemon runs its TypeScript
 * through tsx here, which alone holds about 100 MB more than the built daemon: a bound on the
 * growth measures what the package costs, not the loader. Holding the package would add 1 GB.
 */
const RSS_GROWTH_LIMIT = 100 * 1024 * 1024;
let daemon: DaemonProcess;
let dataDir: string;
let httpPort: number;

beforeAll(async () => {
  const config = writeTestConfig({ log: { level: 'info' } });
  dataDir = config.dataDir;
  const files = writeSyntheticInstances(join(dataDir, 'source'), INSTANCES, SIZE, 9);
  daemon = await startDaemon(config.file);
  httpPort = Number(daemon.logs.find((l) => l.msg === 'bridge started')!.httpPort);
  const sent = await dcmsend(
    daemon.port,
    files.map((f) => f.path),
  );
  expect(sent.code, sent.stderr).toBe(0);
  rmSync(join(dataDir, 'source'), { recursive: true, force: true });
  const registered = await fetch(`http://127.0.0.1:${httpPort}/api/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      codCL: '010203',
      codDocumentoDipartimentale: 'RAD-BIG',
      patientId: 'SYN900000',
      accessionNumbers: [{ accessionNumber: 'ACC900000' }],
    }),
  });
  expect(registered.status, await registered.text()).toBeLessThan(300);
  await waitFor(
    async () => {
      const state = (await (
        await fetch(`http://127.0.0.1:${httpPort}/api/reports/010203/RAD-BIG`)
      ).json()) as { status: string };
      return state.status === 'linked';
    },
    60_000,
    'the report linked',
  );
  // A fresh process serves the package: what the ingest of 1 GB left in memory (allocator
  // arenas the C library keeps) is not counted against the download.
  daemon.child.kill('SIGTERM');
  await daemon.exit;
  daemon = await startDaemon(config.file);
  httpPort = Number(daemon.logs.find((l) => l.msg === 'bridge started')!.httpPort);
}, 300_000);

afterAll(async () => {
  daemon?.child.kill('SIGTERM');
  await daemon?.exit;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Resident set size of a process, from /proc. */
function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

function stream(body: string) {
  return streamExchange(
    new URL(`http://127.0.0.1:${httpPort}/ws/recupero-documento`),
    'POST',
    {
      'content-type': 'application/soap+xml; charset=utf-8',
      accept: 'multipart/related, application/soap+xml',
    },
    body,
  );
}

describe('a 1 GB study as an MTOM package', () => {
  it('streams to the client while the daemon grows by less than 100 MB resident', async () => {
    const pid = daemon.child.pid!;
    const before = rss(pid);
    let peak = before;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, rss(pid));
        await sleep(50);
      }
    })();
    const body = requestXml({
      codDocumentoDipartimentale: 'RAD-BIG',
      formato: 'PDI_ZIP',
      codiceFiscaleAssistito: 'RSSMRA80A01H501U',
      tempoMassimoAttesaMs: 120_000,
    });
    let answer = await stream(body);
    // Still being built past the deadline: ask again, as a caller would.
    for (let i = 0; i < 20 && answer.head.includes('ELAB_IN_CORSO'); i++) {
      await sleep(2000);
      answer = await stream(body);
    }
    sampling = false;
    await sampler;
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(
      /^multipart\/related;.*type="application\/xop\+xml"/,
    );
    expect(answer.head).toContain('<tns:esito>SUCCESSO</tns:esito>');
    expect(answer.head).toMatch(/<xop:Include [^>]*href="cid:/);
    expect(answer.bytes).toBe(Number(answer.headers['content-length']));
    expect(answer.bytes).toBeGreaterThan(INSTANCES * SIZE.rows * SIZE.columns * 2);
    process.stderr.write(
      `RSS ${Math.round(before / 1048576)} MB before, ${Math.round(peak / 1048576)} MB at most\n`,
    );
    expect(
      peak - before,
      `RSS ${Math.round(before / 1048576)} MB before, ${Math.round(peak / 1048576)} MB at most`,
    ).toBeLessThan(RSS_GROWTH_LIMIT);
  }, 300_000);

  it('audits a complete transfer, and a transfer the client cut short', async () => {
    const body = requestXml({
      codDocumentoDipartimentale: 'RAD-BIG',
      formato: 'PDI_ZIP',
      codiceFiscaleAssistito: 'RSSMRA80A01H501U',
      tempoMassimoAttesaMs: 120_000,
    });
    // The package is cached by now: read 8 MB of it, then hang up.
    await new Promise<void>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: httpPort,
          path: '/ws/recupero-documento',
          method: 'POST',
          headers: {
            'content-type': 'application/soap+xml; charset=utf-8',
            accept: 'multipart/related',
          },
        },
        (res) => {
          let received = 0;
          res.on('data', (chunk: Buffer) => {
            received += chunk.length;
            if (received > 8 * 1024 * 1024) {
              res.destroy();
              resolve();
            }
          });
          res.on('error', () => resolve());
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    const db = new Database(join(dataDir, 'index.sqlite'), { readonly: true });
    try {
      const rows = () =>
        db
          .prepare<
            [],
            { outcome: string; bytes: number; delivery: string | null; bytes_sent: number | null }
          >(
            "SELECT outcome, bytes, delivery, bytes_sent FROM retrieval_audit WHERE outcome = 'delivered' ORDER BY id",
          )
          .all();
      await waitFor(() => rows().length === 2 && rows()[1]!.delivery !== null, 30_000, 'the audit');
      const [complete, cut] = rows();
      expect(complete).toMatchObject({ delivery: 'complete' });
      expect(complete!.bytes_sent).toBe(complete!.bytes);
      expect(cut).toMatchObject({ delivery: 'interrupted' });
      expect(cut!.bytes_sent).toBeLessThan(cut!.bytes);
    } finally {
      db.close();
    }
    // The log line follows the audit row; it reaches us through the daemon's stdout.
    await waitFor(
      () => daemon.logs.some((l) => l.msg === 'document transfer interrupted'),
      10_000,
      'the interruption logged',
    );
  }, 120_000);
});
