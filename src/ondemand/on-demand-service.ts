/**
 * "Recupero documento on demand": who may have which report's images, in which format, and
 * within what deadline. Requests are checked (the document, its patient, its obscuration for
 * this requester), served from the package cache when it still holds, and otherwise built
 * through the bounded job queue (retrieving the study from the PACS first when it is missing
 * or incomplete). Every request is audited. The SOAP wire format is not known here.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { externalError, type ErrorKind, type ExternalError } from '../fse/error-catalogue.js';
import {
  deserializeObscuration,
  mayRetrieve,
  requesterKind,
  type RequesterKind,
} from '../fse/obscuration.js';
import type { MissingImages } from '../fse/held-studies.js';
import { reportKey } from '../fse/report.js';
import type { ReportState } from '../fse/report-state.js';
import { JobTimeoutError, type JobQueue } from '../queue/job-queue.js';
import type { OnDemandRequest } from '../soap/request.js';
import type { ObjectStore } from '../storage/object-store.js';
import { missingDetail } from './missing-detail.js';
import type { OnDemandStore, RetrievalOutcome } from './on-demand-store.js';
import type { PackageBuilder } from './package-builder.js';

/** A document ready to send: an object in storage. */
export interface Deliverable {
  storageKey: string;
  bytes: number;
  mimeType: string;
  /** identificativoDocumento: the manifest's SOP Instance UID, or the package id. */
  documentId: string;
}

export type OnDemandAnswer =
  /** `auditId` identifies the audit row, for the delivery once the transfer ends. */
  | { kind: 'document'; document: Deliverable; auditId?: number }
  | { kind: 'in-progress'; retryAfterMs: number }
  | { kind: 'failure'; errors: ExternalError[]; retryAfterMs?: number; errorKind?: ErrorKind };

export interface OnDemandOptions {
  /** The caller's deadline when its request names none. */
  defaultDeadlineMs: number;
  /** A longer deadline asked for is cut to this. */
  maxDeadlineMs: number;
  /** How long a built package is served again. */
  cacheTtlMs: number;
  errorCodes: Readonly<Record<ErrorKind, string>>;
  /** Role codes of parents and guardians acting for the patient (upper case). */
  guardianRoles: ReadonlySet<string>;
}

/** Told how long each job waited for a worker and how long it ran (metrics). */
export interface OnDemandObserver {
  waited(seconds: number): void;
  processed(seconds: number): void;
}

export interface OnDemandDeps {
  reports: { get(key: string): ReportState | undefined };
  /**
   * Link a report now (retrieving its studies when missing or incomplete); `signal` gives it up.
   */
  relink(key: string, signal?: AbortSignal): Promise<ReportState>;
  /** What a report not linked still lacks, named in the failure. */
  missing(report: ReportState): MissingImages[];
  store: ObjectStore;
  db: OnDemandStore;
  builder: PackageBuilder;
  queue: JobQueue<Deliverable>;
  log: Logger;
  observer?: OnDemandObserver;
  now?: () => Date;
}

/** A request that fails with a catalogued error. */
export class RetrievalFailure extends Error {
  override readonly name = 'RetrievalFailure';
  constructor(
    readonly kind: ErrorKind,
    readonly detail?: string,
  ) {
    super(detail ? `${kind}: ${detail}` : kind);
  }
}

const MIME = { PDI_ZIP: 'application/zip', ANTEPRIMA_JPEG: 'application/zip' } as const;

/** Why a report is not linked, from its accessions, with what it lacks. */
function notLinkedFailure(report: ReportState, missing: MissingImages[]): RetrievalFailure {
  const statuses = report.accessions.map((a) => a.status);
  const lacking = missingDetail(missing);
  if (statuses.includes('pacs-unreachable'))
    return new RetrievalFailure('pacs-unreachable', lacking);
  if (!statuses.includes('incomplete')) return new RetrievalFailure('study-not-found', lacking);
  return new RetrievalFailure(
    'study-not-found',
    lacking ? `studio incompleto, ${lacking}` : 'studio incompleto',
  );
}

function fingerprintOf(report: ReportState): string {
  return `${report.version}:${report.manifest?.sopInstanceUid ?? ''}`;
}

export class OnDemandService {
  #deps: OnDemandDeps;
  #options: OnDemandOptions;
  #now: () => Date;

  constructor(deps: OnDemandDeps, options: OnDemandOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#now = deps.now ?? (() => new Date());
  }

  /** Answer a request; never throws for an outcome the caller should see as `errori[]`. */
  async answer(request: OnDemandRequest): Promise<OnDemandAnswer> {
    const key = reportKey(request);
    let answer: OnDemandAnswer;
    let errorKind: ErrorKind | undefined;
    try {
      answer = await this.#answer(key, request);
    } catch (error) {
      const failure =
        error instanceof RetrievalFailure ? error : new RetrievalFailure('internal-error');
      if (!(error instanceof RetrievalFailure))
        this.#deps.log.error({ err: error, report: key }, 'on-demand retrieval failed');
      errorKind = failure.kind;
      answer = {
        kind: 'failure',
        errors: [externalError(this.#options.errorCodes, failure.kind, failure.detail)],
        errorKind: failure.kind,
      };
    }
    if (answer.kind === 'failure' && answer.retryAfterMs !== undefined) errorKind = 'busy';
    const auditId = this.#audit(key, request, answer, errorKind);
    return answer.kind === 'document' ? { ...answer, auditId } : answer;
  }

  /** How the transfer of an audited document ended (the bytes of the document sent). */
  delivered(auditId: number, status: 'complete' | 'interrupted', bytesSent: number): void {
    this.#deps.db.delivered(auditId, status, bytesSent);
    if (status === 'interrupted')
      this.#deps.log.warn({ audit: auditId, bytesSent }, 'document transfer interrupted');
  }

  /** Read a deliverable's bytes. */
  open(document: Deliverable): ReturnType<ObjectStore['read']> {
    return this.#deps.store.read(document.storageKey);
  }

  async #answer(key: string, request: OnDemandRequest): Promise<OnDemandAnswer> {
    const report = this.#visibleReport(key, request);
    const cacheKey = `${key}|${request.formato}`;
    const cached = await this.#fresh(cacheKey, report);
    if (cached) return { kind: 'document', document: cached };
    const deadline = Math.min(
      request.deadlineMs ?? this.#options.defaultDeadlineMs,
      this.#options.maxDeadlineMs,
    );
    const admitted = performance.now();
    const answer = await this.#deps.queue.request(
      cacheKey,
      (signal) => this.#timed(admitted, () => this.#build(key, cacheKey, request.formato, signal)),
      deadline,
    );
    switch (answer.kind) {
      case 'done':
        return { kind: 'document', document: answer.value };
      case 'in-progress':
        return answer;
      case 'busy':
        return {
          kind: 'failure',
          errors: [externalError(this.#options.errorCodes, 'busy')],
          retryAfterMs: answer.retryAfterMs,
        };
      case 'failed':
        if (!(answer.error instanceof JobTimeoutError)) throw answer.error;
        this.#deps.log.warn(
          { report: key, formato: request.formato, timeoutMs: answer.error.timeoutMs },
          'package build given up at its time limit',
        );
        throw new RetrievalFailure('deadline-exceeded');
    }
  }

  /**
   * The report, when it exists for this patient and this requester may see it. A report of
   * another patient, or with another regional id or accession, is "unknown": nothing tells
   * the caller it exists.
   */
  #visibleReport(key: string, request: OnDemandRequest): ReportState {
    const report = this.#deps.reports.get(key);
    const patient = report?.codiceFiscale?.toUpperCase();
    if (
      !report ||
      report.status === 'cancelled' ||
      (patient !== undefined &&
        patient !== request.codiceFiscaleAssistito &&
        !request.codiciFiscaliPrecedenti?.includes(patient)) ||
      (request.idDocumentoIlec !== undefined &&
        report.idDocumentoIlec !== undefined &&
        request.idDocumentoIlec !== report.idDocumentoIlec) ||
      (request.accessionNumber !== undefined &&
        !report.accessions.some((a) => a.accessionNumber === request.accessionNumber))
    )
      throw new RetrievalFailure('document-unknown');
    const kind = this.#requesterKind(report, request);
    if (!mayRetrieve(deserializeObscuration(report.obscuration), kind))
      throw new RetrievalFailure('document-obscured');
    return report;
  }

  #requesterKind(report: ReportState, request: OnDemandRequest): RequesterKind {
    return requesterKind(
      { codiceFiscale: request.richiedente.codiceFiscale, role: request.richiedente.ruolo },
      report.codiceFiscale ?? request.codiceFiscaleAssistito,
      this.#options.guardianRoles,
    );
  }

  /** The cached package, while unexpired, built from this version of the report, and stored. */
  async #fresh(cacheKey: string, report: ReportState): Promise<Deliverable | undefined> {
    if (report.status !== 'linked') return undefined;
    const cached = this.#deps.db.cached(cacheKey);
    if (
      !cached ||
      cached.fingerprint !== fingerprintOf(report) ||
      cached.expiresAt <= this.#now().toISOString() ||
      !(await this.#deps.store.stat(cached.storageKey))
    )
      return undefined;
    return {
      storageKey: cached.storageKey,
      bytes: cached.bytes,
      mimeType: cached.mimeType,
      documentId: packageId(cached.storageKey),
    };
  }

  /**
   * Link the report when needed, then its manifest (KOS) or a package built and cached. Once
   * `signal` aborts nothing more is done: no package is cached or left in storage.
   */
  async #build(
    key: string,
    cacheKey: string,
    formato: OnDemandRequest['formato'],
    signal: AbortSignal,
  ): Promise<Deliverable> {
    let report = this.#deps.reports.get(key);
    if (!report || report.status === 'cancelled') throw new RetrievalFailure('document-unknown');
    if (report.status !== 'linked') report = await this.#deps.relink(key, signal);
    if (report.status !== 'linked' || !report.manifest)
      throw notLinkedFailure(report, this.#deps.missing(report));
    const manifest = report.manifest;
    if (formato === 'KOS') {
      const info = await this.#deps.store.stat(manifest.storageKey);
      if (!info) throw new RetrievalFailure('internal-error', 'manifest non trovato');
      return {
        storageKey: manifest.storageKey,
        bytes: info.sizeBytes,
        mimeType: 'application/dicom',
        documentId: manifest.sopInstanceUid,
      };
    }
    const cached = await this.#fresh(cacheKey, report);
    if (cached) return cached;
    const studyUids = [
      ...new Set(report.accessions.flatMap((a) => a.studies.map((s) => s.studyInstanceUid))),
    ];
    const started = Date.now();
    const built =
      formato === 'PDI_ZIP'
        ? await this.#deps.builder.pdi(studyUids, signal)
        : await this.#deps.builder.previews(studyUids, signal);
    if (signal.aborted) {
      await this.#remove(built.storageKey);
      signal.throwIfAborted();
    }
    const now = this.#now();
    const previous = this.#deps.db.putCached({
      cacheKey,
      storageKey: built.storageKey,
      fingerprint: fingerprintOf(report),
      mimeType: MIME[formato],
      bytes: built.bytes,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.#options.cacheTtlMs).toISOString(),
    });
    if (previous) await this.#remove(previous.storageKey);
    this.#deps.log.info(
      { report: key, formato, bytes: built.bytes, ms: Date.now() - started },
      'package built',
    );
    return {
      storageKey: built.storageKey,
      bytes: built.bytes,
      mimeType: MIME[formato],
      documentId: packageId(built.storageKey),
    };
  }

  /** Run a job, telling the observer its wait and its run time. */
  async #timed(admitted: number, work: () => Promise<Deliverable>): Promise<Deliverable> {
    const started = performance.now();
    this.#deps.observer?.waited((started - admitted) / 1000);
    try {
      return await work();
    } finally {
      this.#deps.observer?.processed((performance.now() - started) / 1000);
    }
  }

  /** Remove expired packages from storage and the cache. */
  async sweep(): Promise<number> {
    const expired = this.#deps.db.takeExpired(this.#now().toISOString());
    for (const entry of expired) await this.#remove(entry.storageKey);
    if (expired.length > 0)
      this.#deps.log.info({ packages: expired.length }, 'expired packages removed');
    return expired.length;
  }

  async #remove(storageKey: string): Promise<void> {
    try {
      await this.#deps.store.delete(storageKey);
    } catch (error) {
      this.#deps.log.warn({ err: error, key: storageKey }, 'package not removed from storage');
    }
  }

  #audit(
    key: string,
    request: OnDemandRequest,
    answer: OnDemandAnswer,
    errorKind: ErrorKind | undefined,
  ): number {
    const outcome: RetrievalOutcome =
      answer.kind === 'document'
        ? 'delivered'
        : answer.kind === 'in-progress'
          ? 'in-progress'
          : 'failed';
    const bytes = answer.kind === 'document' ? answer.document.bytes : 0;
    const { richiedente } = request;
    const id = this.#deps.db.audit({
      at: this.#now().toISOString(),
      requesterCodiceFiscale: richiedente.codiceFiscale,
      role: richiedente.ruolo,
      application: richiedente.applicazione,
      transactionNumber: richiedente.numeroTransazione,
      ip: richiedente.ip,
      reportKey: key,
      format: request.formato,
      outcome,
      errorKind,
      bytes,
    });
    // The requester is personal data: the log carries a hash; the audit table has it whole.
    this.#deps.log.info(
      {
        requester: createHash('sha256')
          .update(richiedente.codiceFiscale)
          .digest('hex')
          .slice(0, 12),
        role: richiedente.ruolo,
        application: richiedente.applicazione,
        transaction: richiedente.numeroTransazione,
        report: key,
        formato: request.formato,
        outcome,
        error: errorKind,
        bytes,
      },
      'on-demand retrieval',
    );
    return id;
  }
}

/** The package id in a `packages/<id>.<ext>` key. */
function packageId(storageKey: string): string {
  return storageKey.replace(/^packages\//, '').replace(/\.[a-z]+$/, '');
}
