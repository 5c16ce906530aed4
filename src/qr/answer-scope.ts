import { QrRefusal } from '../dimse/qr-service.js';
import { Status } from '../dimse/status.js';
import { MAX_UIDS } from '../index/qr-match.js';
import type { QrScope, RetrieveItem, StudyIndex } from '../index/study-index.js';

/** What of `queryRetrieve` scopes the answers of the Q/R SCP; absent: everything held. */
export interface QrScopeSettings {
  /** IssuerOfPatientID assumed for patients stored without one; '' assumes none. */
  issuerOfPatientId?: string;
  /** A study not complete as held is withheld (not found, not retrieved) or answered. */
  incompleteStudies?: 'withhold' | 'answer';
  /** Studies whose instances are still arriving: their quiet period is not over. */
  arrivingStudies?: () => readonly string[];
}

/** The scope of one request, with the studies arriving at that moment. */
export function scopeOf(settings: QrScopeSettings): QrScope {
  const issuerOfPatientId = settings.issuerOfPatientId ?? '';
  if (settings.incompleteStudies !== 'withhold') return { issuerOfPatientId };
  return { issuerOfPatientId, completeOnly: { arriving: settings.arrivingStudies?.() ?? [] } };
}

/**
 * Refuses a retrieve that would send a study not complete as held, when `scope` withholds
 * them: the requestor would take what it received for the whole study (the regional gateway
 * records the study as moved and never asks again), while a failure makes it retry later.
 *
 * @throws QrRefusal 0xC000 naming such a study.
 */
export function refuseIncomplete(
  index: Pick<StudyIndex, 'query'>,
  items: readonly RetrieveItem[],
  scope: QrScope,
): void {
  if (!scope.completeOnly) return;
  const studies = [...new Set(items.map((item) => item.studyUid))];
  for (let start = 0; start < studies.length; start += MAX_UIDS) {
    const some = studies.slice(start, start + MAX_UIDS);
    const keys = { StudyInstanceUID: some.join('\\') };
    const complete = new Set(
      index.query('STUDY_ROOT', 'STUDY', keys, undefined, scope).map((m) => m.StudyInstanceUID),
    );
    const incomplete = some.find((uid) => !complete.has(uid));
    if (incomplete !== undefined)
      throw new QrRefusal(
        Status.UnableToProcess,
        `study not complete yet, retry later: ${incomplete} is still arriving or holds fewer instances than the PACS announced`,
      );
  }
}
