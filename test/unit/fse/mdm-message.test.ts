import { describe, expect, it } from 'vitest';
import { asciiValue, buildMdm, type MdmInput } from '../../../src/fse/mdm-message.js';
import { parseHl7 } from '../../../src/hl7/message.js';

const SETTINGS = {
  structureCode: '010301',
  sendingApplication: 'RIS_ASLTO3',
  sendingFacility: 'ASLTO3',
  receivingApplication: 'O3DPACS',
  receivingFacility: 'REGIONE',
};

function input(overrides: Partial<MdmInput> = {}): MdmInput {
  return {
    trigger: 'T02',
    messageId: '0123456789ABCDEF0123',
    time: new Date('2025-01-14T09:30:05Z'),
    settings: SETTINGS,
    documentId: 'RAD-2025-000123',
    patientId: 'PAT0099887',
    issuerOfPatientId: 'ASLTO3_PACS',
    risId: '12345',
    accessionNumbers: ['A2025000123', 'A2025000124'],
    ...overrides,
  };
}

describe('the MDM message to the image gateway', () => {
  it('puts each value where the gateway reads it, in v2.5, segments ended by CR', () => {
    const text = buildMdm(input());
    expect(text.endsWith('\r')).toBe(true);
    expect(text).not.toContain('\n');
    const message = parseHl7(text);
    expect(message.segments.map((s) => s.name)).toEqual([
      'MSH',
      'EVN',
      'PID',
      'PV1',
      'TXA',
      'OBX',
      'OBX',
    ]);
    expect(message.header).toMatchObject({
      sendingApplication: 'RIS_ASLTO3',
      sendingFacility: 'ASLTO3',
      receivingApplication: 'O3DPACS',
      receivingFacility: 'REGIONE',
      messageType: 'MDM',
      triggerEvent: 'T02',
      messageStructure: 'MDM_T02',
      controlId: '0123456789ABCDEF0123',
      processingId: 'P',
      version: '2.5',
    });
    expect(message.field('PV1', 3).component(4)).toBe('010301');
    const pid3 = message.field('PID', 3).repetitions();
    expect(pid3.map((r) => r.raw)).toEqual(['PAT0099887^^^ASLTO3_PACS^PI', '12345^^^RIS']);
    expect(message.field('TXA', 12).value).toBe('RAD-2025-000123');
    expect(message.field('TXA', 13).value).toBe('');
    const obx = message.segmentsNamed('OBX');
    expect(obx.map((s) => [s.field(1).value, s.field(2).value, s.field(5).value])).toEqual([
      ['1', 'RP', 'A2025000123'],
      ['2', 'RP', 'A2025000124'],
    ]);
  });

  it('names T10 and T11 in MSH-9 and EVN-1, the parent document in TXA-13 of a T10', () => {
    const replaced = parseHl7(buildMdm(input({ trigger: 'T10' })));
    expect(replaced.field('MSH', 9).raw).toBe('MDM^T10^MDM_T02');
    expect(replaced.field('EVN', 1).value).toBe('T10');
    expect(replaced.field('TXA', 13).value).toBe('RAD-2025-000123');
    const cancelled = parseHl7(buildMdm(input({ trigger: 'T11' })));
    expect(cancelled.field('MSH', 9).raw).toBe('MDM^T11^MDM_T02');
    expect(cancelled.field('TXA', 19).value).toBe('CA');
    expect(cancelled.segmentsNamed('OBX')).toHaveLength(2);
  });

  it('leaves out the RIS repetition when the RIS id is unknown', () => {
    const message = parseHl7(buildMdm(input({ risId: undefined, issuerOfPatientId: '' })));
    expect(message.field('PID', 3).raw).toBe('PAT0099887^^^^PI');
  });

  it('sends ASCII only: accents dropped, other characters "?", delimiters escaped', () => {
    expect(asciiValue('Niccolò Š€ a|b^c&d~e\\f')).toBe(
      'Niccolo S? a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f',
    );
    const text = buildMdm(input({ patientId: 'PÀT|1', documentId: 'DOC^È' }));
    expect([...text].every((c) => c.charCodeAt(0) < 0x80)).toBe(true);
    const message = parseHl7(text);
    expect(message.field('PID', 3).value).toBe('PAT|1');
    expect(message.field('TXA', 12).value).toBe('DOC^E');
  });
});
