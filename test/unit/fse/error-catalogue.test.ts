import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ERROR_CODES,
  ERROR_KINDS,
  ErrorCatalogueError,
  errorCodes,
  externalError,
} from '../../../src/fse/error-catalogue.js';

describe('error catalogue', () => {
  it('maps every internal error to a distinct default code', () => {
    const codes = errorCodes({});
    expect(Object.keys(codes).sort()).toEqual([...ERROR_KINDS].sort());
    expect(new Set(Object.values(codes)).size).toBe(ERROR_KINDS.length);
    expect(externalError(codes, 'busy')).toEqual({
      codice: DEFAULT_ERROR_CODES.busy,
      descrizione: 'Servizio occupato, riprovare più tardi',
    });
  });

  it('takes configured codes over the defaults, keeping the rest', () => {
    const codes = errorCodes({ busy: 'FSE_ER_042', 'document-obscured': 'CC_ER_310' });
    expect(externalError(codes, 'busy').codice).toBe('FSE_ER_042');
    expect(externalError(codes, 'document-obscured', 'P99').descrizione).toBe(
      'Documento oscurato per il richiedente: P99',
    );
    expect(codes['pacs-unreachable']).toBe(DEFAULT_ERROR_CODES['pacs-unreachable']);
  });

  it('refuses unknown kinds and malformed codes, naming them', () => {
    expect(() => errorCodes({ 'out-of-coffee': 'X' })).toThrow(ErrorCatalogueError);
    expect(() => errorCodes({ 'out-of-coffee': 'X' })).toThrow(
      /out-of-coffee is not an error kind/,
    );
    expect(() => errorCodes({ busy: 'has space' })).toThrow(/busy must be a code .*"has space"/);
    expect(() => errorCodes({ busy: 42 })).toThrow(/value was 42/);
  });
});
