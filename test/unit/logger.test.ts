import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';

function capture(): { lines: string[]; sink: Writable } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { lines, sink };
}

describe('logger', () => {
  it('redacts patient data and credentials wherever they appear in a log object', () => {
    const { lines, sink } = capture();
    const log = createLogger('info', sink);
    log.info(
      {
        patientName: 'Rossi^Mario',
        patientId: 'RSSMRA80A01H501U',
        codiceFiscale: 'RSSMRA80A01H501U',
        instance: { patientName: 'Bianchi^Anna', birthDate: '19800101' },
        patient: { id: 'P123', name: 'Verdi^Luca' },
        storage: { secretKey: 'TOPSECRET', accessKey: 'AKID' },
        sopInstanceUid: '1.2.3',
      },
      'an event',
    );
    const text = lines.join('');
    for (const secret of [
      'Rossi',
      'RSSMRA80A01H501U',
      'Bianchi',
      '19800101',
      'P123',
      'Verdi',
      'TOPSECRET',
      'AKID',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('[redacted]');
    expect(JSON.parse(text)).toMatchObject({ sopInstanceUid: '1.2.3', msg: 'an event' });
  });
});
