import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BRIDGE_AE, disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { SAMPLES_DIR } from '../../helpers/samples.js';
import { runTool } from '../../helpers/tools.js';

/** Patient data carried by the samples sent below; none of it may reach a log line. */
const PATIENT_DATA = [
  'Müller',
  'Jörg',
  'Rossi',
  'Niccol',
  'BRG-UTF8-0001',
  'BRG-L1-0002',
  'CompressedSamples',
  '1CT1',
  '4MR1',
];

describe('logs carry no patient data', () => {
  let bridge: TestBridge | undefined;

  beforeAll(async () => {
    bridge = await startBridge({ log: { level: 'debug' } });
  });
  afterAll(() => disposeBridge(bridge));

  it('logs ingest, warnings and refusals at debug level without names or patient ids', async () => {
    const files = [
      'generated/MR_utf8_iso_ir_192.dcm',
      'generated/CT_latin1_iso_ir_100.dcm',
      'single/CT_small.dcm',
      'single/MR_small.dcm',
      'bad/badVR.dcm',
    ].map((file) => join(SAMPLES_DIR, file));
    const sent = await runTool('dcmsend', [
      '-aet',
      'DCMSEND',
      '-aec',
      BRIDGE_AE,
      '127.0.0.1',
      String(bridge!.port),
      ...files,
    ]);
    expect(sent.code, sent.stderr).toBe(0);
    // A refused association is logged too.
    const refused = await runTool('echoscu', [
      '-aet',
      'INTRUDER',
      '-aec',
      BRIDGE_AE,
      '127.0.0.1',
      String(bridge!.port),
    ]);
    expect(refused.code).not.toBe(0);

    expect(bridge!.app.index.countInstances()).toBe(files.length);
    expect(bridge!.logs.some((line) => line.msg === 'instance stored')).toBe(true);
    expect(bridge!.logs.some((line) => line.msg === 'association rejected')).toBe(true);
    const text = JSON.stringify(bridge!.logs);
    for (const value of PATIENT_DATA) expect(text, `log mentions ${value}`).not.toContain(value);
  });
});
