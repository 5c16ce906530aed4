import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifyReport } from '../../../src/admin/verify-node.js';
import { BRIDGE_AE, disposeBridge, type TestBridge } from '../../helpers/bridge.js';
import { startOrthanc, type OrthancPacs } from '../../helpers/orthanc.js';
import { sampleFacts, type SampleFacts } from '../../helpers/samples.js';
import { freePort } from '../../helpers/tools.js';
import { CT_SMALL, adminCall, startAdminBridge } from './admin-fixture.js';

/*
 * "Verify node" against real Orthanc PACS: one that knows the bridge (every leg passes and the
 * moved instance is in the index), one that accepts our calling AE but does not know our AE
 * title as a move destination (the C-MOVE leg fails and the report says why; Orthanc answers
 * 0xC000), the same one while it holds no study (the move leg is skipped), a wrong port and an
 * unknown calling AE title (the C-ECHO leg names the cause).
 */

const QUERY_AE = 'VERIFYQR';
let known: OrthancPacs;
let stranger: OrthancPacs;
let bridge: TestBridge;
let http: number;
let ct: SampleFacts;

beforeAll(async () => {
  ct = await sampleFacts(CT_SMALL);
  [known, stranger] = await Promise.all([
    startOrthanc({ aeTitle: 'KNOWNPACS' }),
    // Knows who queries, not where to move to.
    startOrthanc({
      aeTitle: 'STRANGER',
      modalities: { query: { aeTitle: QUERY_AE, host: '127.0.0.1', port: 9, allowMove: true } },
    }),
  ]);
  expect((await known.upload(CT_SMALL)).Status).toBe('Success');
  bridge = await startAdminBridge();
  http = bridge.app.reporting.httpPort;
  await known.setModality('bridge', { aeTitle: BRIDGE_AE, host: '127.0.0.1', port: bridge.port });
  const nodes = [
    { name: 'known', aeTitle: 'KNOWNPACS', host: '127.0.0.1', port: known.dicomPort },
    {
      name: 'stranger',
      aeTitle: 'STRANGER',
      host: '127.0.0.1',
      port: stranger.dicomPort,
      callingAeTitle: QUERY_AE,
    },
    { name: 'closed-port', aeTitle: 'KNOWNPACS', host: '127.0.0.1', port: await freePort() },
    {
      name: 'not-a-caller',
      aeTitle: 'KNOWNPACS',
      host: '127.0.0.1',
      port: known.dicomPort,
      callingAeTitle: 'NOBODY',
    },
  ];
  for (const node of nodes)
    expect((await adminCall(http, 'POST', '/admin/api/nodes', node)).status).toBe(201);
}, 120_000);

afterAll(async () => {
  await disposeBridge(bridge);
  await Promise.all([known?.stop(), stranger?.stop()]);
});

async function verify(name: string): Promise<VerifyReport> {
  const answer = await adminCall<VerifyReport>(http, 'POST', `/admin/api/nodes/${name}/verify`);
  expect(answer.status).toBe(200);
  return answer.body;
}

describe('verify node', () => {
  it('passes every leg against a PACS that knows the bridge, and the instance arrives', async () => {
    expect(bridge.app.index.findInstance(ct.sopInstanceUid)).toBeUndefined();
    const report = await verify('known');
    expect(report).toMatchObject({ node: 'known', ok: true });
    expect(report.failedLeg).toBeUndefined();
    expect(report.legs.map((l) => [l.leg, l.outcome])).toEqual([
      ['C-ECHO', 'passed'],
      ['C-FIND', 'passed'],
      ['C-MOVE', 'passed'],
    ]);
    expect(bridge.app.index.findInstance(ct.sopInstanceUid)).toBeDefined();
  });

  it('skips the move leg when the PACS holds no studies', async () => {
    const report = await verify('stranger');
    expect(report.ok).toBe(true);
    expect(report.legs.at(-1)).toMatchObject({ leg: 'C-MOVE', outcome: 'skipped' });
    expect(report.legs.at(-1)!.detail).toMatch(/no studies/);
  });

  it('names the C-MOVE leg and the unregistered move destination on a PACS that does not know us', async () => {
    expect((await stranger.upload(CT_SMALL)).Status).toBe('Success');
    const report = await verify('stranger');
    expect(report).toMatchObject({ ok: false, failedLeg: 'C-MOVE' });
    expect(report.legs.slice(0, 2).map((l) => l.outcome)).toEqual(['passed', 'passed']);
    const move = report.legs[2]!;
    expect(move).toMatchObject({
      leg: 'C-MOVE',
      outcome: 'failed',
      cause: 'move-destination-unknown',
    });
    expect(move.hint).toContain(`our AE title ${BRIDGE_AE}`);
    expect(move.hint).toContain('0xC000');
  });

  it('names the C-ECHO leg and a refused connection for a wrong port', async () => {
    const report = await verify('closed-port');
    expect(report).toMatchObject({ ok: false, failedLeg: 'C-ECHO' });
    expect(report.legs).toHaveLength(1);
    expect(report.legs[0]).toMatchObject({ cause: 'connection-refused' });
  });

  it('names the C-ECHO leg and the rejected calling AE title', async () => {
    const report = await verify('not-a-caller');
    expect(report).toMatchObject({ ok: false, failedLeg: 'C-ECHO' });
    expect(report.legs[0]).toMatchObject({ cause: 'association-rejected' });
    expect(report.legs[0]!.hint).toContain('NOBODY');
  });

  it('answers 404 for an unknown node', async () => {
    expect((await adminCall(http, 'POST', '/admin/api/nodes/none/verify')).status).toBe(404);
  });
});
