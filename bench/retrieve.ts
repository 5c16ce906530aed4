/**
 * On-demand retrieval benchmark: PDI packages of one synthetic study (500 instances by
 * default) asked for by 1, 4 and 16 concurrent callers, from (a) the bridge's SOAP endpoint
 * (MTOM, streamed) cold (every request a report not built before, so each builds its package)
 * and cached (the same report again), and (b) Orthanc's `GET /studies/<id>/media` (a ZIP with a
 * DICOMDIR, built on every request), on the same instances in the same run. Prints packages/s,
 * p50/p99 latency and the ratio bridge/Orthanc.
 *
 *   npm run bench:retrieve -- [--instances 500] [--size 256] [--callers 1,4,16] [--requests 16]
 *                             [--compress]
 *
 * Orthanc deflates the files in its ZIP; the bridge stores them as they are unless
 * `--compress` (onDemand.compressInstances) is given, so compare MB per package too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { requestXml, streamExchange, type StreamedAnswer } from '../test/helpers/on-demand.js';
import { startOrthanc } from '../test/helpers/orthanc.js';
import { writeSyntheticInstances } from '../test/helpers/synthetic.js';
import { build, peakRssMb, percentile, send, startBenchBridge } from './daemon.js';

interface Run {
  packagesPerSecond: number;
  p50: number;
  p99: number;
  megabytes: number;
}

/** `total` requests made by `callers` concurrent callers; `ask(i)` makes the i-th. */
async function load(
  callers: number,
  total: number,
  ask: (i: number) => Promise<StreamedAnswer>,
): Promise<Run> {
  const latencies: number[] = [];
  let next = 0;
  let bytes = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < total) {
        const answer = await ask(next++);
        if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${answer.head}`);
        if (answer.head.includes('<tns:esito>FALLIMENTO') || answer.head.includes('ELAB_IN_CORSO'))
          throw new Error(`no package: ${answer.head}`);
        latencies.push(answer.ms);
        bytes += answer.bytes;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    packagesPerSecond: total / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    megabytes: bytes / total / 1e6,
  };
}

function describe(name: string, callers: number, run: Run): string {
  return `${name.padEnd(14)} | ${String(callers).padStart(2)} caller(s) | ${run.packagesPerSecond.toFixed(2)} pkg/s | p50 ${run.p50.toFixed(0)} ms | p99 ${run.p99.toFixed(0)} ms | ${run.megabytes.toFixed(1)} MB/pkg`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      instances: { type: 'string', default: '500' },
      size: { type: 'string', default: '256' },
      callers: { type: 'string', default: '1,4,16' },
      requests: { type: 'string', default: '16' },
      compress: { type: 'boolean', default: false },
    },
  });
  const instances = Number(values.instances);
  const side = Number(values.size);
  const callersList = values.callers.split(',').map(Number);
  const perRun = Number(values.requests);
  await build();
  const root = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'bench-retrieve-'));
  const files = writeSyntheticInstances(
    join(root, 'study'),
    instances,
    { rows: side, columns: side },
    3,
    instances,
  ).map((f) => f.path);
  const rows: string[] = [];
  try {
    // The bridge: the study pushed, one report per cold request plus one for the cached runs.
    const coldReports = callersList.length * perRun;
    const bridge = await startBenchBridge(root, {
      onDemand: {
        concurrency: 4,
        maxQueued: 64,
        defaultDeadlineMs: 120_000,
        compressInstances: values.compress,
      },
    });
    try {
      await send(bridge, [join(root, 'study')]);
      const api = `http://127.0.0.1:${bridge.httpPort}`;
      for (let n = 0; n <= coldReports; n++) {
        const answer = await fetch(`${api}/api/reports`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            codCL: '010203',
            codDocumentoDipartimentale: `BENCH-${n}`,
            patientId: 'SYN300000',
            accessionNumbers: [{ accessionNumber: 'ACC300000' }],
          }),
        });
        if (answer.status >= 300) throw new Error(`report refused: ${await answer.text()}`);
      }
      const endpoint = new URL(`${api}/ws/recupero-documento`);
      const soap = (document: string) =>
        streamExchange(
          endpoint,
          'POST',
          {
            'content-type': 'application/soap+xml; charset=utf-8',
            accept: 'multipart/related',
          },
          requestXml({
            codDocumentoDipartimentale: document,
            formato: 'PDI_ZIP',
            codiceFiscaleAssistito: 'RSSMRA80A01H501U',
            tempoMassimoAttesaMs: 120_000,
          }),
        );
      // The first request links the reports' study; warm up the cached report.
      await soap(`BENCH-${coldReports}`);
      let cold = 0;
      for (const callers of callersList) {
        const run = await load(callers, perRun, () => soap(`BENCH-${cold++}`));
        rows.push(describe('bridge cold', callers, run));
        console.log(rows.at(-1));
      }
      for (const callers of callersList) {
        const run = await load(callers, perRun * 2, () => soap(`BENCH-${coldReports}`));
        rows.push(describe('bridge cached', callers, run));
        console.log(rows.at(-1));
      }
      rows.push(`bridge peak RSS ${peakRssMb(bridge.pid).toFixed(0)} MB`);
    } finally {
      await bridge.stop();
    }

    const orthanc = await startOrthanc();
    try {
      const uploaded = await orthanc.uploadFiles(files);
      const study = uploaded[0]!.ParentStudy;
      const media = new URL(`http://127.0.0.1:${orthanc.httpPort}/studies/${study}/media`);
      for (const callers of callersList) {
        const run = await load(callers, perRun, () => streamExchange(media, 'GET', {}));
        rows.push(describe('orthanc media', callers, run));
        console.log(rows.at(-1));
      }
    } finally {
      await orthanc.stop();
    }
    const rate = (name: string, callers: number): number =>
      Number(
        /\| ([\d.]+) pkg\/s/.exec(
          rows.find(
            (r) => r.startsWith(name) && r.includes(`| ${String(callers).padStart(2)} caller`),
          )!,
        )![1],
      );
    for (const callers of callersList)
      rows.push(
        `ratio bridge/orthanc, ${callers} caller(s): cold ${(rate('bridge cold', callers) / rate('orthanc media', callers)).toFixed(2)}x, cached ${(rate('bridge cached', callers) / rate('orthanc media', callers)).toFixed(2)}x`,
      );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  console.log(
    `\nSummary (${instances} instances of ${side}x${side}, ${perRun} requests per cold run, the bridge ${values.compress ? 'deflating' : 'storing'} the files)\n${rows.join('\n')}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
