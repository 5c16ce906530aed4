import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { askText, endpointOf, push, registerMrReport } from '../../helpers/on-demand.js';
import { SAMPLES_DIR, filesUnder } from '../../helpers/samples.js';
import { waitFor } from '../../helpers/tools.js';

/*
 * The queue and the cache seen by callers: a deadline too short for the build gets
 * ELAB_IN_CORSO while the build goes on and a later identical request gets the package;
 * identical requests share one build; an expired package is removed from object storage and
 * built again; configured error codes replace the defaults.
 */

const TTL_MS = 1500;
const PUBLIC_URL = 'https://bridge.asl.example.it/ws/recupero-documento';
let bridge: TestBridge;

beforeAll(async () => {
  bridge = await startBridge({
    onDemand: {
      authKind: 'none',
      publicUrl: PUBLIC_URL,
      cacheTtlMs: TTL_MS,
      errorCodes: { 'document-unknown': 'FSE_ER_101' },
    },
  });
  await push(bridge, filesUnder(join(SAMPLES_DIR, 'studies', '98892003')));
  for (const document of ['RAD-SLOW', 'RAD-TTL']) await registerMrReport(bridge, document);
}, 120_000);

afterAll(() => disposeBridge(bridge));

const ask = (document: string, deadlineMs?: number): Promise<string> =>
  askText(bridge, {
    codDocumentoDipartimentale: document,
    formato: 'PDI_ZIP',
    ...(deadlineMs ? { tempoMassimoAttesaMs: deadlineMs } : {}),
  });

const packageId = (text: string): string | undefined =>
  /<tns:identificativoDocumento>([^<]+)</.exec(text)?.[1];
const builds = (): number => bridge.logs.filter((l) => l.msg === 'package built').length;

describe('deadline, shared jobs and the package cache', () => {
  it('answers ELAB_IN_CORSO past a short deadline, shares the build, then serves the package', async () => {
    const before = builds();
    const [first, second] = await Promise.all([ask('RAD-SLOW', 1), ask('RAD-SLOW', 1)]);
    for (const text of [first, second]) {
      expect(text).toContain('<tns:esito>SUCCESSO</tns:esito>');
      expect(text).toContain('<tns:stato>ELAB_IN_CORSO</tns:stato>');
      expect(Number(/<tns:tempoAttesaSuggeritoMs>(\d+)</.exec(text)?.[1])).toBeGreaterThan(0);
      expect(text).not.toContain('<tns:documento>');
    }
    await waitFor(() => builds() > before, 30_000, 'the build to end');
    const later = await ask('RAD-SLOW');
    expect(later).toContain('<tns:stato>DISPONIBILE</tns:stato>');
    expect(later).toContain('<tns:documento>');
    expect(builds()).toBe(before + 1);
    // The shared job was timed once: its wait in the queue and its run.
    const metrics = await (
      await fetch(`http://127.0.0.1:${bridge.app.reporting.httpPort}/metrics`)
    ).text();
    for (const name of [
      'bridge_ondemand_wait_seconds_count',
      'bridge_ondemand_processing_seconds_count',
    ])
      expect(metrics).toMatch(new RegExp(`^${name} 1$`, 'm'));
  }, 60_000);

  it('removes an expired package from storage and builds it again', async () => {
    const first = packageId(await ask('RAD-TTL'));
    expect(first).toBeDefined();
    const key = `packages/${first}.zip`;
    expect(await bridge.app.store.stat(key)).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, TTL_MS + 100));
    // The periodic sweep (every TTL here) may have come first; either way the object goes.
    await bridge.app.reporting.onDemand.service.sweep();
    expect(await bridge.app.store.stat(key)).toBeUndefined();
    const second = packageId(await ask('RAD-TTL'));
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
  }, 60_000);

  it('answers with the configured external code', async () => {
    const text = await ask('NO-SUCH-REPORT');
    expect(text).toContain('<tns:esito>FALLIMENTO</tns:esito>');
    expect(text).toContain('<tns:codice>FSE_ER_101</tns:codice>');
  });

  it('gives the configured public address in the WSDL', async () => {
    const wsdl = await (await fetch(`${endpointOf(bridge)}?wsdl`)).text();
    expect(wsdl).toContain(`<soap12:address location="${PUBLIC_URL}"/>`);
    expect(wsdl).not.toContain('127.0.0.1');
  });
});
