/**
 * An obscuration change the FSE side sends for a report (SOAP NotificaVariazioneMetadati, or
 * POST /api/reports/…/obscuration): recorded with the codes in force after it, and logged.
 */
import type { Logger } from 'pino';
import type { ObscurationEvent } from './obscuration.js';
import { reportKey } from './report.js';
import type { ReportState } from './report-state.js';
import type { ReportStore } from './report-store.js';

export interface ObscurationChange {
  codCL: string;
  codDocumentoDipartimentale: string;
  /**
   * The regional index id the sender knows the document by, when it gives one: a report the
   * bridge knows by another id is another document, and is left alone.
   */
  idDocumentoIlec?: string | undefined;
  eventCode: ObscurationEvent;
  /** Who sent the change (the FSE, a portal, an operator). */
  source: string;
}

export interface ObscurationChangeDeps {
  reports: Pick<ReportStore, 'get' | 'changeObscuration'>;
  log: Logger;
  /** When the change is received (ISO 8601). */
  now?: () => string;
}

/**
 * Record `change`: the report's key, and its state after the change (its `obscuration` holds the
 * codes in force), or no state when no such report is known.
 *
 * @throws ReportValidationError when codCL holds `^` (it names no report: see `reportKey`).
 */
export function changeObscuration(
  deps: ObscurationChangeDeps,
  change: ObscurationChange,
): { reportKey: string; state: ReportState | undefined } {
  const key = reportKey(change);
  if (change.idDocumentoIlec !== undefined) {
    const known = deps.reports.get(key)?.idDocumentoIlec;
    if (known !== undefined && known !== change.idDocumentoIlec)
      return { reportKey: key, state: undefined };
  }
  const { eventCode, source } = change;
  const at = deps.now?.() ?? new Date().toISOString();
  const state = deps.reports.changeObscuration(key, { eventCode, source }, at);
  if (state)
    deps.log.info(
      { report: key, eventCode, source, inForce: state.obscuration },
      'obscuration changed',
    );
  return { reportKey: key, state };
}
