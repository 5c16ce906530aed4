import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { AssociationRejectedError, type IncomingStoreHandler } from '../dimse/client.js';
import { DimseStatusError, MoveDestinationUnknownError } from '../dimse/errors.js';
import { unlessAborted } from '../queue/abortable.js';
import { SharedRuns } from '../queue/shared-runs.js';
import { PacsUnreachableError, type PacsClient, type StudyMatch } from './pacs-client.js';

/** What the retriever needs from the index. */
export interface RetrieveIndex {
  /** Instances held for a study (manifests not counted). */
  countStudyInstances(studyInstanceUid: string): number;
  /** Record the PACS's count for a study. */
  setExpectedInstances(studyInstanceUid: string, expected: number): Promise<void> | void;
}

export interface AccessionRequest {
  accessionNumber: string;
  /** Issuer of the accession number, when known. */
  issuerOfAccessionNumber?: string;
  patientId?: string;
  issuerOfPatientId?: string;
}

/** Where one study stands after a retrieve. */
export interface StudyProgress {
  studyInstanceUid: string;
  /** What the PACS announces (NumberOfStudyRelatedInstances, or the sum of its series). */
  expected: number;
  held: number;
  attempts: number;
  /** The last retrieve error, when the study is not complete. */
  error?: string;
}

export type RetrieveOutcome =
  | { kind: 'complete'; studies: StudyProgress[] }
  | { kind: 'incomplete'; studies: StudyProgress[] }
  | { kind: 'not-found'; reason: string }
  | { kind: 'pacs-unreachable'; error: string }
  /** The PACS refused us in a way retrying cannot fix (association rejected, unknown AE). */
  | { kind: 'refused'; error: string };

export interface RetrieverDeps {
  pacs: PacsClient;
  index: RetrieveIndex;
  /** The durable ingest path, for C-GET sub-operations. */
  store: IncomingStoreHandler;
  log: Logger;
  /** Injected in tests; defaults to a real timer. */
  sleep?: (ms: number) => Promise<void>;
}

/** Not worth retrying: the PACS will refuse the same way next time. */
class RefusedError extends Error {
  override readonly name = 'RefusedError';
}

function isRefusal(error: unknown): boolean {
  return error instanceof AssociationRejectedError || error instanceof MoveDestinationUnknownError;
}

/**
 * Retrieves studies from one PACS node the way the regional chain does: study-level C-FIND by
 * accession (with patient and issuer when known), one C-MOVE or C-GET per study, then a
 * completeness check against the PACS's own count, with capped exponential backoff between
 * attempts. Concurrent retrieves of one study share one run. A caller's signal gives its
 * retrieve up: the association in progress is aborted and no further attempt is made (a run
 * shared with other callers goes on while one of them still waits for it).
 */
export class StudyRetriever {
  #deps: RetrieverDeps;
  #running = new SharedRuns<StudyProgress>();
  #sleep: (ms: number) => Promise<void>;

  constructor(deps: RetrieverDeps) {
    this.#deps = deps;
    this.#sleep = deps.sleep ?? ((ms) => sleep(ms, undefined, { ref: false }));
  }

  /** The node's client (C-ECHO, C-FIND, C-MOVE, C-GET). */
  get pacs(): PacsClient {
    return this.#deps.pacs;
  }

  get nodeName(): string {
    return this.#deps.pacs.node.name;
  }

  #delay(retry: number): number {
    const { retryBaseDelayMs, retryMaxDelayMs } = this.#deps.pacs.node;
    return Math.min(retryMaxDelayMs, retryBaseDelayMs * 2 ** retry);
  }

  /** Wait before a retry; cut short by `signal`. */
  #pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return unlessAborted(this.#sleep(ms), signal);
  }

  /**
   * Find the studies of an accession number and retrieve each until complete. When `signal`
   * aborts this rejects with its reason, once the retrieves it started have stopped.
   */
  async retrieveByAccession(
    request: AccessionRequest,
    signal?: AbortSignal,
  ): Promise<RetrieveOutcome> {
    const log = this.#deps.log.child({ pacs: this.nodeName });
    let studies: StudyMatch[];
    try {
      studies = await this.#findWithRetries(request, signal);
    } catch (error) {
      signal?.throwIfAborted();
      if (error instanceof PacsUnreachableError) {
        log.warn({ err: error.message }, 'PACS unreachable');
        return { kind: 'pacs-unreachable', error: error.message };
      }
      if (isRefusal(error) || error instanceof DimseStatusError)
        return { kind: 'refused', error: (error as Error).message };
      throw error;
    }
    const selected = this.#select(studies, request);
    if (typeof selected === 'string') return { kind: 'not-found', reason: selected };
    const results = await Promise.allSettled(
      selected.map((study) => this.retrieveStudy(study, signal)),
    );
    signal?.throwIfAborted();
    const progress: StudyProgress[] = [];
    for (const result of results) {
      if (result.status === 'fulfilled') {
        progress.push(result.value);
        continue;
      }
      const error: unknown = result.reason;
      if (error instanceof PacsUnreachableError)
        return { kind: 'pacs-unreachable', error: error.message };
      if (error instanceof RefusedError) return { kind: 'refused', error: error.message };
      throw error;
    }
    const complete = progress.every((study) => study.held >= study.expected);
    log.info(
      {
        studies: progress.map(({ studyInstanceUid, expected, held }) => ({
          studyInstanceUid,
          expected,
          held,
        })),
      },
      complete ? 'retrieve complete' : 'retrieve incomplete after retries',
    );
    return { kind: complete ? 'complete' : 'incomplete', studies: progress };
  }

  async #findWithRetries(
    request: AccessionRequest,
    signal: AbortSignal | undefined,
  ): Promise<StudyMatch[]> {
    const { maxRetries } = this.#deps.pacs.node;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#deps.pacs.findStudies(
          {
            accessionNumber: request.accessionNumber,
            patientId: request.patientId,
            issuerOfPatientId: request.issuerOfPatientId,
          },
          signal,
        );
      } catch (error) {
        if (!(error instanceof PacsUnreachableError) || attempt >= maxRetries) throw error;
        const delayMs = this.#delay(attempt);
        this.#deps.log.warn(
          { pacs: this.nodeName, attempt: attempt + 1, delayMs, err: error.message },
          'PACS query failed; retrying',
        );
        await this.#pause(delayMs, signal);
      }
    }
  }

  /**
   * The matches that are this accession's studies. The PACS's answer is checked, not trusted:
   * a different accession or issuer is skipped, and without an issuer the patient must match,
   * because accession numbers repeat across patients.
   */
  #select(studies: StudyMatch[], request: AccessionRequest): StudyMatch[] | string {
    const node = this.#deps.pacs.node;
    const wantedIssuer = request.issuerOfAccessionNumber;
    const selected = studies.filter((study) => {
      if (study.accessionNumber !== request.accessionNumber) return false;
      const issuer = study.issuerOfAccessionNumber ?? (node.issuerOfAccessionNumber || undefined);
      if (wantedIssuer && issuer && issuer !== wantedIssuer) return false;
      const patientIssuer = study.issuerOfPatientId ?? (node.issuerOfPatientId || undefined);
      if (request.issuerOfPatientId && patientIssuer && patientIssuer !== request.issuerOfPatientId)
        return false;
      if (request.patientId && study.patientId !== request.patientId) return false;
      return true;
    });
    if (selected.length === 0)
      return `accession number does not exist on ${node.name} or has no images for this patient and issuer`;
    const issuerKnown = Boolean(wantedIssuer);
    const patients = new Set(selected.map((study) => study.patientId));
    if (!issuerKnown && !request.patientId && patients.size > 1)
      return `accession number matches studies of ${patients.size} patients on ${node.name}; give the patient or the issuer`;
    return selected;
  }

  /**
   * Retrieve one study until complete or out of retries; concurrent calls share one run, which
   * stops once every caller waiting for it has given it up through its signal.
   */
  retrieveStudy(study: StudyMatch, signal?: AbortSignal): Promise<StudyProgress> {
    return this.#running.run(
      study.studyInstanceUid,
      (runSignal) => this.#retrieveStudy(study, runSignal),
      signal,
    );
  }

  async #expectedCount(study: StudyMatch, signal: AbortSignal): Promise<number> {
    if (study.numberOfStudyRelatedInstances !== undefined)
      return study.numberOfStudyRelatedInstances;
    const { pacs } = this.#deps;
    const series = await pacs.findSeries(study.studyInstanceUid, signal);
    let total = 0;
    for (const one of series) {
      total +=
        one.numberOfSeriesRelatedInstances ??
        (await pacs.findInstances(study.studyInstanceUid, one.seriesInstanceUid, signal)).length;
    }
    return total;
  }

  async #sopClasses(study: StudyMatch, signal: AbortSignal): Promise<string[]> {
    if (study.sopClassesInStudy.length > 0) return study.sopClassesInStudy;
    const { pacs } = this.#deps;
    const classes = new Set<string>();
    for (const series of await pacs.findSeries(study.studyInstanceUid, signal)) {
      for (const instance of await pacs.findInstances(
        study.studyInstanceUid,
        series.seriesInstanceUid,
        signal,
      ))
        if (instance.sopClassUid) classes.add(instance.sopClassUid);
    }
    return [...classes];
  }

  async #retrieveStudy(study: StudyMatch, signal: AbortSignal): Promise<StudyProgress> {
    const { pacs, index, log } = this.#deps;
    const uid = study.studyInstanceUid;
    const expected = await this.#expectedCount(study, signal);
    await index.setExpectedInstances(uid, expected);
    const progress: StudyProgress = {
      studyInstanceUid: uid,
      expected,
      held: index.countStudyInstances(uid),
      attempts: 0,
    };
    const { maxRetries } = pacs.node;
    while (progress.held < expected && progress.attempts <= maxRetries) {
      if (progress.attempts > 0) await this.#pause(this.#delay(progress.attempts - 1), signal);
      progress.attempts++;
      try {
        if (pacs.node.retrieveMethod === 'C-GET')
          await pacs.getStudy(uid, await this.#sopClasses(study, signal), this.#deps.store, {
            patientId: study.patientId,
            signal,
          });
        else await pacs.moveStudy(uid, { patientId: study.patientId, signal });
        delete progress.error;
      } catch (error) {
        signal.throwIfAborted();
        progress.error = this.#explain(error);
        log.warn(
          {
            pacs: pacs.node.name,
            studyInstanceUid: uid,
            attempt: progress.attempts,
            err: progress.error,
          },
          'retrieve attempt failed',
        );
        if (isRefusal(error)) throw new RefusedError(progress.error, { cause: error });
        if (error instanceof PacsUnreachableError && progress.attempts > maxRetries) throw error;
      }
      progress.held = index.countStudyInstances(uid);
    }
    return progress;
  }

  /** The error, with the likely cause when the PACS gives none. */
  #explain(error: unknown): string {
    const message = (error as Error).message;
    const node = this.#deps.pacs.node;
    if (
      node.retrieveMethod === 'C-MOVE' &&
      (error instanceof MoveDestinationUnknownError ||
        (error instanceof DimseStatusError && (error.counts?.completed ?? 0) === 0))
    )
      return `${message} (is ${node.moveDestination} registered on ${node.name} as a move destination with this host and port?)`;
    return message;
  }
}
