import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { ImagesAvailableInput, ReportCancelledInput } from '../../../src/fse/fse-messages.js';
import type { DaemonProcess } from '../../helpers/daemon-process.js';
import type { SampleFacts } from '../../helpers/samples.js';

/** Patient data the tests look for in logs: it must never be there. */
export const CODICE_FISCALE = 'RSSMRA80A01H501U';
export const PATIENT_ID = 'PAT-SECRET-77';

/** A report with one accession and one study; `n` varies its ids. */
export function imagesAvailable(n = 1, overrides: Partial<ImagesAvailableInput> = {}) {
  const study = `2.25.4242.${n}`;
  return {
    codCL: '010203',
    codDocumentoDipartimentale: `RAD-2024-${String(n).padStart(6, '0')}`,
    idDocumentoIlec: `2.16.840.1.113883.2.9.2.10.4.4^DOC${n}`,
    codiceFiscale: CODICE_FISCALE,
    patientId: PATIENT_ID,
    issuerOfPatientId: 'ASR-TO',
    accessionNumbers: [
      { accessionNumber: `ACC${n}`, issuer: 'RIS', dataNotificaPacs: '2024-03-01T10:15:00+01:00' },
    ],
    studies: [{ studyInstanceUid: study, numberOfSeries: 3, numberOfInstances: 250 }],
    manifest: {
      sopInstanceUid: `2.25.9999.${n}`,
      studyInstanceUid: study,
      retrieveAeTitle: 'FSEBRIDGE',
      retrieveLocationUid: '2.25.777',
    },
    ...overrides,
  } satisfies ImagesAvailableInput;
}

export function reportCancelled(n = 1, overrides: Partial<ReportCancelledInput> = {}) {
  return {
    codCL: '010203',
    codDocumentoDipartimentale: `RAD-2024-${String(n).padStart(6, '0')}`,
    cancelledAt: '2024-03-02T08:00:00+01:00',
    eventId: `MSG${n}`,
    studyInstanceUids: [`2.25.4242.${n}`],
    manifestSopInstanceUid: `2.25.9999.${n}`,
    ...overrides,
  } satisfies ReportCancelledInput;
}

/** A temporary folder for a database file; `cleanup` removes it. */
export function makeTempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-outbox-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A pino logger writing JSON lines into `lines` (nothing on the console). */
export function captureLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

/**
 * Registers a report of codCL 010203 over the daemon's HTTP API: one accession, the study's
 * accession number and patient.
 */
export function registerReport(
  daemon: DaemonProcess,
  codDocumentoDipartimentale: string,
  study: SampleFacts[],
): Promise<Response> {
  const httpPort = Number(daemon.logs.find((line) => line.msg === 'bridge started')?.httpPort);
  return fetch(`http://127.0.0.1:${httpPort}/api/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      codCL: '010203',
      codDocumentoDipartimentale,
      accessionNumbers: [{ accessionNumber: study[0]!.accessionNumber }],
      patientId: study[0]!.patientId,
    }),
  });
}
