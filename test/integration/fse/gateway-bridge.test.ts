import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { imagesAvailableEntry } from '../../../src/fse/fse-messages.js';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { Hl7Peer } from '../../helpers/hl7-peer.js';
import { FACILITY, mdm, obxRp, pid, pv1, segment, txa } from '../../helpers/hl7-messages.js';
import type { SampleFacts } from '../../helpers/samples.js';
import { TestGateway } from '../../helpers/test-gateway.js';
import { sampleStudy } from '../../helpers/test-pacs.js';
import { dcmsend } from '../../helpers/tools.js';
import { imagesAvailable } from './fixtures.js';

/*
 * The bridge as configured by default (HL7 to the image gateway) and with a gateway: a report
 * signed on the RIS (MDM^T02 from a real HL7 client) whose images are held reaches an MLLP
 * server that is not ours as MDM^T02 with the facility's structure code and the RIS id the RIS
 * sent; its cancellation as MDM^T11.
 */

let gateway: TestGateway;
let study: SampleFacts[];
let bridge: TestBridge | undefined;

beforeAll(async () => {
  gateway = await TestGateway.start();
  study = await sampleStudy('77654033/CT2');
});

afterEach(async () => {
  await disposeBridge(bridge);
  bridge = undefined;
});

afterAll(async () => {
  await gateway?.close();
});

function report(trigger: 'T02' | 'T11'): string {
  const patient = study[0]!;
  return mdm({
    trigger,
    controlId: `MSG-GW-${trigger}`,
    segments: [
      segment('EVN', { 1: trigger, 2: '20250114093005' }),
      pid(`R-${patient.patientId}^^^RIS~${patient.patientId}^^^${FACILITY.patientIdAuthority}^PI`),
      pv1(),
      txa({ documentId: 'DOC-GW-1' }),
      obxRp(patient.accessionNumber),
    ],
  });
}

describe('the bridge notifying the image gateway', () => {
  it('holds notifications and says the transport is unconfigured on its defaults', async () => {
    bridge = await startBridge();
    expect(bridge.config.fse.transport).toBe('hl7');
    expect(bridge.logs).toContainEqual(
      expect.objectContaining({
        transport: 'hl7',
        msg: expect.stringMatching(
          /^FSE notifications are queued but not sent: the transport is unconfigured, set fse\.gateway\.host/,
        ) as unknown,
      }),
    );
    const { item } = bridge.app.reporting.outboxWorker.enqueue(
      imagesAvailableEntry(imagesAvailable(1)),
    );
    expect(bridge.app.reporting.outboxWorker.inFlight).toBe(0);
    expect(bridge.app.reporting.outbox.get(item.id)).toMatchObject({ status: 'pending' });
  });

  it('sends MDM^T02 for a report from the RIS once its images are held, then MDM^T11', async () => {
    bridge = await startBridge({
      hl7: {
        enabled: true,
        host: '127.0.0.1',
        port: 0,
        facilities: [
          {
            ...FACILITY,
            patientIdIssuer: '',
            accessionIssuer: '',
            gateway: { structureCode: '010301', sendingApplication: 'RIS_ASLTO3' },
          },
        ],
      },
      fse: {
        gateway: { host: '127.0.0.1', port: gateway.port },
        retryBaseDelayMs: 20,
        pollIntervalMs: 100,
      },
      links: { quietPeriodMs: 200 },
    });
    expect(
      (
        await dcmsend(
          bridge.port,
          study.map((s) => s.path),
        )
      ).code,
    ).toBe(0);
    const peer = await Hl7Peer.connect(bridge.app.reporting.hl7Port!);
    try {
      expect((await peer.send(report('T02'))).get('MSA.1').toString()).toBe('AA');
      await gateway.received(1);
      expect(gateway.messages[0]).toMatchObject({
        messageType: 'MDM^T02^MDM_T02',
        structureCode: '010301',
        accessionNumber: study[0]!.accessionNumber,
        risRepetition: `R-${study[0]!.patientId}^^^RIS`,
      });
      expect(gateway.messages[0]!.raw).toMatch(/^MSH\|\^~\\&\|RIS_ASLTO3\|/);
      expect((await peer.send(report('T11'))).get('MSA.1').toString()).toBe('AA');
      await gateway.received(2);
      expect(gateway.messages[1]).toMatchObject({
        messageType: 'MDM^T11^MDM_T02',
        structureCode: '010301',
        accessionNumber: study[0]!.accessionNumber,
      });
      expect(gateway.messageIds().size).toBe(2);
    } finally {
      await peer.close();
    }
  }, 60_000);
});
