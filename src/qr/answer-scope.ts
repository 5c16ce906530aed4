import type { QrScope } from '../index/study-index.js';

/** What of `queryRetrieve` scopes the answers of the Q/R SCP; absent: everything held. */
export interface QrScopeSettings {
  /** IssuerOfPatientID assumed for patients stored without one; '' assumes none. */
  issuerOfPatientId?: string;
}

/** The scope of one request. */
export function scopeOf(settings: QrScopeSettings): QrScope {
  return { issuerOfPatientId: settings.issuerOfPatientId ?? '' };
}
