/**
 * The internal catalogue of on-demand retrieval errors, and their external codes. The regional
 * catalogue is not public: the codes the FSE expects come from configuration, with defaults in
 * the local-component family (`CL_ER_nnn`) until the regional document arrives.
 */
export const ERROR_KINDS = [
  'document-unknown',
  'document-obscured',
  'study-not-found',
  'pacs-unreachable',
  'busy',
  'deadline-exceeded',
  'invalid-request',
  'internal-error',
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];

/** One entry of a response's `errori[]`. */
export interface ExternalError {
  codice: string;
  descrizione: string;
}

export const DEFAULT_ERROR_CODES: Readonly<Record<ErrorKind, string>> = {
  'document-unknown': 'CL_ER_001',
  'document-obscured': 'CL_ER_002',
  'study-not-found': 'CL_ER_003',
  'pacs-unreachable': 'CL_ER_004',
  busy: 'CL_ER_005',
  'deadline-exceeded': 'CL_ER_006',
  'invalid-request': 'CL_ER_007',
  'internal-error': 'CL_ER_008',
};

/** Descriptions sent with each code (Italian: the FSE shows them to operators). */
const DESCRIPTIONS: Readonly<Record<ErrorKind, string>> = {
  'document-unknown': 'Documento non presente',
  'document-obscured': 'Documento oscurato per il richiedente',
  'study-not-found': 'Studio non trovato sul PACS',
  'pacs-unreachable': 'PACS non raggiungibile',
  busy: 'Servizio occupato, riprovare più tardi',
  'deadline-exceeded': 'Tempo massimo di attesa superato',
  'invalid-request': 'Richiesta non valida',
  'internal-error': 'Errore interno del servizio',
};

/** Codes that must not be used: the message names the key and the value. */
export class ErrorCatalogueError extends Error {
  override readonly name = 'ErrorCatalogueError';
}

/**
 * Validate configured codes (`{ "busy": "FSE_ER_042", ... }`): only known kinds, each a code of
 * 1–32 letters, digits, `_` or `-`; kinds left out keep their default.
 */
export function errorCodes(
  configured: Readonly<Record<string, unknown>>,
): Record<ErrorKind, string> {
  const codes: Record<ErrorKind, string> = { ...DEFAULT_ERROR_CODES };
  for (const [kind, code] of Object.entries(configured)) {
    if (!(ERROR_KINDS as readonly string[]).includes(kind))
      throw new ErrorCatalogueError(`${kind} is not an error kind (${ERROR_KINDS.join(', ')})`);
    if (typeof code !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(code))
      throw new ErrorCatalogueError(
        `${kind} must be a code of 1-32 letters, digits, _ or -: value was ${JSON.stringify(code)}`,
      );
    codes[kind as ErrorKind] = code;
  }
  return codes;
}

/** The external form of an internal error, with an optional detail appended. */
export function externalError(
  codes: Readonly<Record<ErrorKind, string>>,
  kind: ErrorKind,
  detail?: string,
): ExternalError {
  return {
    codice: codes[kind],
    descrizione: detail ? `${DESCRIPTIONS[kind]}: ${detail}` : DESCRIPTIONS[kind],
  };
}
