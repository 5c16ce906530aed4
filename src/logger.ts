import { pino, type Logger, type DestinationStream } from 'pino';

/**
 * Paths redacted from every log line: patient data (names, birth dates, ids, codice fiscale)
 * and credentials. Code should not log them in the first place; this is the safety net.
 */
export const REDACTED_PATHS = [
  'patientName',
  'patientId',
  'patientBirthDate',
  'birthDate',
  'codiceFiscale',
  'patient',
  'secretKey',
  'accessKey',
  'password',
  'token',
  'authorization',
  'cookie',
  '*.patientName',
  '*.patientId',
  '*.patientBirthDate',
  '*.birthDate',
  '*.codiceFiscale',
  '*.patient',
  '*.secretKey',
  '*.accessKey',
  '*.password',
  '*.token',
  '*.authorization',
  '*.cookie',
];

/** The daemon's JSON logger. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'pacs-fse-bridge' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
