import type { Message } from 'node-hl7-client';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Hl7Message } from '../../../src/hl7/message.js';
import { createReportHandler } from '../../../src/hl7/report-listener.js';
import type { ReportEvent } from '../../../src/hl7/report-message.js';
import {
  ACCESSION,
  CODICE_FISCALE,
  DOCUMENT_ID,
  FACILITY,
  PACS_PATIENT_ID,
  mdm,
  obxText,
  oru,
  pid,
  pv1,
  txa,
} from '../../helpers/hl7-messages.js';
import { Hl7Peer } from '../../helpers/hl7-peer.js';
import { type TestListener, startListener } from '../../helpers/mllp.js';

function read(ack: Message, path: string): string {
  return ack.get(path).toString();
}

let listener: TestListener | undefined;
const peers: Hl7Peer[] = [];

async function peer(encoding?: BufferEncoding): Promise<Hl7Peer> {
  const connected = await Hl7Peer.connect(listener!.port, encoding);
  peers.push(connected);
  return connected;
}

afterEach(async () => {
  for (const p of peers.splice(0)) await p.close();
  await listener?.server.close(1000);
  listener = undefined;
});

describe('node-hl7-client against the MLLP listener', () => {
  it('gets AA for a good MDM^T02, and the report event carries its fields', async () => {
    listener = await startListener();
    const client = await peer();
    const ack = await client.send(mdm());
    expect(read(ack, 'MSH.9.1')).toBe('ACK');
    expect(read(ack, 'MSH.9.2')).toBe('T02');
    expect(read(ack, 'MSH.5.1')).toBe('RIS_ELCO');
    expect(read(ack, 'MSA.1')).toBe('AA');
    expect(read(ack, 'MSA.2')).toBe('RIS000123456');
    expect(listener.events).toEqual([
      expect.objectContaining({
        kind: 'signed',
        accessionNumbers: [ACCESSION],
        patientId: PACS_PATIENT_ID,
        codiceFiscale: CODICE_FISCALE,
        codDocumentoDipartimentale: DOCUMENT_ID,
      }),
    ]);
  });

  it('gets AE with the reason for a message without an RP OBX', async () => {
    listener = await startListener();
    const client = await peer();
    const ack = await client.send(
      mdm({ controlId: 'NO-RP', segments: [pid(), pv1(), txa(), obxText()] }),
    );
    expect(read(ack, 'MSA.1')).toBe('AE');
    expect(read(ack, 'MSA.2')).toBe('NO-RP');
    expect(read(ack, 'ERR.3.1')).toBe('101');
    expect(read(ack, 'ERR.8')).toBe('no OBX with OBX-2 = RP (accession number)');
    expect(listener.events).toEqual([]);
  });

  it('gets AR for an unknown sending facility', async () => {
    listener = await startListener();
    const client = await peer();
    const ack = await client.send(mdm({ sendingFacility: 'ASLCN1', controlId: 'WHO' }));
    expect(read(ack, 'MSA.1')).toBe('AR');
    expect(read(ack, 'MSA.2')).toBe('WHO');
    expect(read(ack, 'ERR.3.1')).toBe('204');
    expect(read(ack, 'ERR.2.1')).toBe('MSH');
    expect(read(ack, 'ERR.2.3')).toBe('4');
  });

  it('sends a report, its replacement, its cancellation and an ORU^R01 on one connection', async () => {
    listener = await startListener();
    const client = await peer();
    const t10 = [
      pid(),
      pv1(),
      txa({ documentId: 'RAD-2025-000124', parent: DOCUMENT_ID }),
      ...mdm()
        .split('\r')
        .filter((s) => s.startsWith('OBX')),
    ];
    const answers = [
      await client.send(mdm({ controlId: 'M1' })),
      await client.send(mdm({ controlId: 'M2', trigger: 'T10', segments: t10 })),
      await client.send(
        mdm({
          controlId: 'M3',
          trigger: 'T11',
          segments: [pid(), pv1(), txa({ documentId: 'RAD-2025-000124' })],
        }),
      ),
      await client.send(oru({ controlId: 'M4' })),
    ];
    expect(answers.map((ack) => `${read(ack, 'MSA.1')} ${read(ack, 'MSA.2')}`)).toEqual([
      'AA M1',
      'AA M2',
      'AA M3',
      'AA M4',
    ]);
    expect(
      listener.events.map((e) => [e.kind, e.codDocumentoDipartimentale, e.replacedDocumentId]),
    ).toEqual([
      ['signed', DOCUMENT_ID, undefined],
      ['replaced', 'RAD-2025-000124', DOCUMENT_ID],
      ['cancelled', 'RAD-2025-000124', undefined],
      ['signed', 'RIS-ORD-778899', undefined],
    ]);
  });

  it('carries Latin-1 (MSH-18 8859/1) and UTF-8 text through, answered in the same charset', async () => {
    const names: string[] = [];
    const events: ReportEvent[] = [];
    const handler = createReportHandler(
      [FACILITY],
      async (event: ReportEvent, message: Hl7Message) => {
        names.push(message.field('PID', 5).components().join(' '));
        events.push(event);
      },
      pino({ level: 'silent' }),
    );
    listener = await startListener({ handler });
    const latin1 = await peer('latin1');
    const ack = await latin1.send(
      mdm({
        charset: '8859/1',
        controlId: 'L1',
        segments: [
          pid(undefined, "D'ANNUNZIO^NICCOLÒ"),
          pv1(),
          txa(),
          obxText('Ernia iatale. Non si evidenziano lesioni più grandi di 5 mm.'),
          ...mdm()
            .split('\r')
            .filter((s) => s.startsWith('OBX|1')),
        ],
      }),
    );
    expect(read(ack, 'MSA.1')).toBe('AA');
    expect(read(ack, 'MSH.18')).toBe('8859/1');
    const utf8 = await peer('utf-8');
    expect(
      read(
        await utf8.send(
          mdm({
            charset: 'UNICODE UTF-8',
            controlId: 'U1',
            segments: [
              pid(undefined, 'MÜLLER^JÖRG'),
              pv1(),
              txa(),
              ...mdm()
                .split('\r')
                .filter((s) => s.startsWith('OBX|1')),
            ],
          }),
        ),
        'MSA.1',
      ),
    ).toBe('AA');
    expect(names).toEqual(["D'ANNUNZIO NICCOLÒ", 'MÜLLER JÖRG']);
    expect(events.map((e) => e.messageControlId)).toEqual(['L1', 'U1']);
  });
});
