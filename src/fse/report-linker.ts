import type { Logger } from 'pino';
import { KosInputError, buildKosManifest, type KosManifest, type KosStudy } from '../dicom/kos.js';
import { newUid } from '../dicom/uid-generator.js';
import type { StudyIndex } from '../index/study-index.js';
import { SharedRuns } from '../queue/shared-runs.js';
import type { RetrieveOutcome, StudyRetriever } from '../retrieve/retrieve-study.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { Notification } from './fse-messages.js';
import { heldComplete, heldStudies, missingImages, type MissingImages } from './held-studies.js';
import { reportKey, type ReportRegistration } from './report.js';
import type { AccessionState, AccessionStatus, ReportState } from './report-state.js';
import type { ReportStore } from './report-store.js';
import { imagesAvailablePayload } from './images-available.js';

/** The durable outbox, as the linker sees it. */
export interface NotificationQueue {
  enqueue(notification: Notification): void;
}

export interface LinkerOptions {
  /** Retrieve AE Title written in manifests (our own AE title). */
  retrieveAeTitle: string;
  /** Retrieve Location UID written in manifests: identifies this bridge. */
  retrieveLocationUid: string;
  institutionName?: string;
}

export interface LinkerDeps {
  reports: ReportStore;
  index: StudyIndex;
  /** The PACS to retrieve missing or incomplete studies from; none: only what is pushed. */
  retriever: StudyRetriever | undefined;
  /** True while instances of a study are arriving (its quiet period not over); none: never. */
  arriving?: (studyInstanceUid: string) => boolean;
  store: ObjectStore;
  outbox: NotificationQueue;
  options: LinkerOptions;
  log: Logger;
  now?: () => Date;
}

type StudyRef = { studyInstanceUid: string; instances: number };

function sameContent(state: ReportState, registration: ReportRegistration): boolean {
  const accessions = (list: Array<{ accessionNumber: string; issuer: string }>): string =>
    list
      .map((a) => `${a.accessionNumber}|${a.issuer}`)
      .sort()
      .join(',');
  return (
    state.patientId === registration.patientId &&
    state.issuerOfPatientId === registration.issuerOfPatientId &&
    (state.idDocumentoIlec ?? '') === (registration.idDocumentoIlec ?? '') &&
    accessions(state.accessions) === accessions(registration.accessions)
  );
}

/**
 * Links reports to their studies: each accession number is looked up in the index and, when
 * missing or incomplete, retrieved from the PACS (what the bridge holds complete is linked
 * without asking the PACS, see `heldComplete`); once every accession is complete a KOS
 * manifest is stored and the FSE side is told through the outbox. A study that arrives later
 * completes a waiting report by itself (`studyChanged`), and a linked report whose studies
 * change gets a new manifest.
 */
export class ReportLinker {
  #deps: LinkerDeps;
  #now: () => Date;
  /** One linking run per report at a time. */
  #running = new SharedRuns<ReportState>();

  constructor(deps: LinkerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
  }

  /** Register (or replace) a report and link it as far as the images allow. */
  register(registration: ReportRegistration): Promise<ReportState> {
    return this.accept(registration).linked;
  }

  /**
   * Record a report durably and start linking it: `state` is the report as recorded (what an
   * HL7 ACK or an HTTP 202 can promise), `linked` settles once linking has gone as far as the
   * images allow (a retrieve from the PACS may take minutes).
   */
  accept(registration: ReportRegistration): { state: ReportState; linked: Promise<ReportState> } {
    const key = reportKey(registration);
    const existing = this.#deps.reports.get(key);
    // The same report again (a re-sent registration) changes nothing and notifies nobody.
    if (existing && existing.status !== 'cancelled' && sameContent(existing, registration)) {
      return {
        state: existing,
        linked: existing.status === 'linked' ? Promise.resolve(existing) : this.#link(key),
      };
    }
    const state = this.#deps.reports.upsert(registration, this.#stamp());
    this.#deps.log.info(
      { report: key, accessions: registration.accessions.length, replaced: Boolean(existing) },
      existing ? 'report replaced' : 'report registered',
    );
    // A replacement waits for a linking run of the previous version to end, then links anew.
    const previous = this.#running.current(key)?.catch(() => undefined) ?? Promise.resolve();
    return { state, linked: previous.then(() => this.#link(key)) };
  }

  /**
   * Link a waiting report now, retrieving its studies from the PACS (on-demand retrieval of a
   * report whose images are missing or incomplete). A run in progress is shared. When `signal`
   * aborts this rejects with its reason; a run nobody else waits for is stopped first (its
   * retrieve aborted, nothing recorded from it).
   */
  relink(key: string, signal?: AbortSignal): Promise<ReportState> {
    return this.#link(key, signal);
  }

  /** What a report not linked yet still lacks, as the index holds its studies now. */
  missing(report: ReportState): MissingImages[] {
    return missingImages(this.#deps.index, report, this.#arriving);
  }

  /** Wait for the linking runs in progress (shutdown). */
  async idle(): Promise<void> {
    await this.#running.idle();
  }

  /**
   * A cancelled report: its links and manifest are dropped and the FSE side is told.
   *
   * @throws FseMessageError (from the outbox) when the notification cannot be built; nothing has
   * changed then.
   */
  cancel(key: string): ReportState | undefined {
    const state = this.#deps.reports.get(key);
    if (!state || state.status === 'cancelled') return state;
    const studyInstanceUids = [
      ...new Set(state.accessions.flatMap((a) => a.studies.map((s) => s.studyInstanceUid))),
    ];
    // Queued before the links are dropped: a notification that cannot be built (or queued)
    // leaves the report as it was, never cancelled with nobody told. Dropping the links can
    // still fail after this; a retry queues the same notification again (same idempotency key,
    // one delivery) and drops them.
    this.#deps.outbox.enqueue({
      kind: 'report-cancelled',
      reportKey: key,
      idempotencyKey: `report-cancelled:${key}:${state.version}`,
      payload: {
        codCL: state.codCL,
        codDocumentoDipartimentale: state.codDocumentoDipartimentale,
        ...(state.idDocumentoIlec ? { idDocumentoIlec: state.idDocumentoIlec } : {}),
        accessionNumbers: state.accessions.map((a) => ({
          accessionNumber: a.accessionNumber,
          ...(a.issuer ? { issuer: a.issuer } : {}),
        })),
        // A report still waiting for its images has no study to list (the message wants 1+).
        ...(studyInstanceUids.length > 0 ? { studyInstanceUids } : {}),
        ...(state.manifest ? { manifestSopInstanceUid: state.manifest.sopInstanceUid } : {}),
        cancelledAt: this.#stamp(),
        // The patient and facility, for the HL7 message to the image gateway only.
        hl7: {
          patientId: state.patientId,
          issuerOfPatientId: state.issuerOfPatientId,
          ...(state.facility ? { facility: state.facility } : {}),
          ...(state.risId ? { risId: state.risId } : {}),
        },
      },
    });
    this.#deps.reports.unlink(key, this.#stamp());
    this.#deps.log.info({ report: key }, 'report cancelled; links dropped');
    return this.#deps.reports.get(key);
  }

  /**
   * A study received new instances and has been quiet since: complete the reports waiting for
   * its accession number, and re-issue the manifest of linked reports that include it.
   */
  async studyChanged(studyInstanceUid: string): Promise<void> {
    const study = this.#deps.index.getStudy(studyInstanceUid);
    if (!study?.accessionNumber) return;
    for (const report of this.#deps.reports.byAccession(study.accessionNumber)) {
      if (report.status === 'waiting') await this.#link(report.reportKey);
      else if (report.status === 'linked') await this.#refreshManifest(report);
    }
  }

  #link(key: string, signal?: AbortSignal): Promise<ReportState> {
    return this.#running.run(key, (runSignal) => this.#linkNow(key, runSignal), signal);
  }

  async #linkNow(key: string, signal: AbortSignal): Promise<ReportState> {
    let report = this.#deps.reports.get(key)!;
    for (const accession of report.accessions) {
      if (accession.status === 'complete') continue;
      const { status, studies, lastError } = await this.#linkAccession(report, accession, signal);
      signal.throwIfAborted();
      this.#deps.reports.setAccession(accession.id, { status, studies, lastError }, this.#stamp());
    }
    signal.throwIfAborted();
    report = this.#deps.reports.get(key)!;
    if (report.accessions.every((a) => a.status === 'complete')) return this.#issueManifest(report);
    this.#deps.log.info(
      { report: key, accessions: report.accessions.map((a) => a.status) },
      'report waiting for images',
    );
    return report;
  }

  async #linkAccession(
    report: ReportState,
    accession: AccessionState,
    signal: AbortSignal,
  ): Promise<{ status: AccessionStatus; studies: StudyRef[]; lastError?: string }> {
    const held = heldStudies(this.#deps.index, report, accession, this.#arriving);
    const studies = held.map((s) => ({ studyInstanceUid: s.studyInstanceUid, instances: s.held }));
    const retriever = this.#deps.retriever;
    // Without a PACS to ask, what has been pushed is all there is.
    if (!retriever) return { status: held.length > 0 ? 'complete' : 'waiting', studies };
    // What the bridge holds complete needs no PACS: served when it is down or has forgotten it.
    if (held.length > 0 && held.every(heldComplete)) {
      this.#deps.log.info(
        { report: report.reportKey, studies: held.map((study) => study.studyInstanceUid) },
        'accession held complete; PACS not asked',
      );
      return { status: 'complete', studies };
    }
    let outcome: RetrieveOutcome;
    try {
      outcome = await retriever.retrieveByAccession(
        {
          accessionNumber: accession.accessionNumber,
          ...(accession.issuer ? { issuerOfAccessionNumber: accession.issuer } : {}),
          patientId: report.patientId,
          ...(report.issuerOfPatientId ? { issuerOfPatientId: report.issuerOfPatientId } : {}),
        },
        signal,
      );
    } catch (error) {
      signal.throwIfAborted();
      return { status: 'waiting', studies: [], lastError: (error as Error).message };
    }
    switch (outcome.kind) {
      case 'complete':
      case 'incomplete': {
        const studies = outcome.studies.map((s) => ({
          studyInstanceUid: s.studyInstanceUid,
          instances: this.#deps.index.countStudyInstances(s.studyInstanceUid),
        }));
        const errors = outcome.studies.flatMap((s) => (s.error ? [s.error] : []));
        return {
          status: outcome.kind,
          studies,
          ...(errors.length > 0 ? { lastError: errors.join('; ') } : {}),
        };
      }
      case 'not-found':
        return { status: 'not-found', studies: [], lastError: outcome.reason };
      default:
        return { status: outcome.kind, studies: [], lastError: outcome.error };
    }
  }

  async #refreshManifest(report: ReportState): Promise<void> {
    const held = report.accessions
      .flatMap((a) => a.studies)
      .reduce((sum, s) => sum + this.#deps.index.countStudyInstances(s.studyInstanceUid), 0);
    if (report.manifest && held === report.manifest.instances) return;
    for (const accession of report.accessions) {
      this.#deps.reports.setAccession(
        accession.id,
        {
          status: 'complete',
          studies: accession.studies.map((s) => ({
            studyInstanceUid: s.studyInstanceUid,
            instances: this.#deps.index.countStudyInstances(s.studyInstanceUid),
          })),
        },
        this.#stamp(),
      );
    }
    await this.#issueManifest(this.#deps.reports.get(report.reportKey)!);
  }

  /** Build and store the KOS manifest of a complete report, then notify the FSE side. */
  async #issueManifest(report: ReportState): Promise<ReportState> {
    const { index, store, options } = this.#deps;
    const studyUids = [
      ...new Set(report.accessions.flatMap((a) => a.studies.map((s) => s.studyInstanceUid))),
    ];
    const studies: KosStudy[] = studyUids.map((uid) => {
      const record = index.getStudy(uid);
      const accession = report.accessions.find((a) =>
        a.studies.some((s) => s.studyInstanceUid === uid),
      )!;
      return {
        studyInstanceUid: uid,
        accessionNumber: accession.accessionNumber,
        ...(accession.issuer ? { accessionIssuer: accession.issuer } : {}),
        // Old-style values (ACR-NEMA `1997.04.24`) are left out rather than refused.
        ...(record?.studyDate && /^\d{8}$/.test(record.studyDate)
          ? { studyDate: record.studyDate }
          : {}),
        ...(record?.studyTime && /^\d{2,6}(\.\d{1,6})?$/.test(record.studyTime)
          ? { studyTime: record.studyTime }
          : {}),
        series: index.listSeries(uid).map((series) => ({
          seriesInstanceUid: series.seriesUid,
          ...(series.modality ? { modality: series.modality } : {}),
          instances: index.listInstances(series.seriesUid).map((i) => ({
            sopClassUid: i.sopClassUid,
            sopInstanceUid: i.sopInstanceUid,
          })),
        })),
      };
    });
    const first = index.getStudy(studyUids[0]!);
    const build = (name: string | undefined): KosManifest =>
      buildKosManifest({
        patient: {
          id: report.patientId,
          ...(report.issuerOfPatientId ? { issuer: report.issuerOfPatientId } : {}),
          ...(name ? { name } : {}),
        },
        studies,
        retrieveAeTitle: options.retrieveAeTitle,
        retrieveLocationUid: options.retrieveLocationUid,
        sopInstanceUid: newUid(),
        seriesInstanceUid: newUid(),
        seriesNumber: 9999,
        instanceNumber: report.version,
        contentDateTime: this.#now(),
        ...(options.institutionName ? { institutionName: options.institutionName } : {}),
      });
    let manifest: KosManifest;
    try {
      manifest = build(first?.patientName);
    } catch (error) {
      // A name the instances carry in a form PN does not allow: the manifest goes without it.
      if (!(error instanceof KosInputError) || !error.field.startsWith('patient.name')) throw error;
      manifest = build(undefined);
    }
    const instances = studies.reduce(
      (sum, s) => sum + s.series.reduce((n, series) => n + series.instances.length, 0),
      0,
    );
    const storageKey = `manifests/${manifest.studyInstanceUid}/${manifest.sopInstanceUid}.dcm`;
    await store.putBuffer(storageKey, manifest.file);
    const now = this.#stamp();
    this.#deps.reports.addManifest(
      report.reportKey,
      {
        sopInstanceUid: manifest.sopInstanceUid,
        studyInstanceUid: manifest.studyInstanceUid,
        storageKey,
        instances,
      },
      now,
    );
    // Queued before the report counts as linked: a notification that cannot be built leaves
    // the report waiting (and logged), never linked with nobody told.
    this.#deps.outbox.enqueue({
      kind: 'images-available',
      reportKey: report.reportKey,
      idempotencyKey: `images-available:${report.reportKey}:${manifest.sopInstanceUid}`,
      payload: imagesAvailablePayload(
        { ...this.#deps.reports.get(report.reportKey)!, status: 'linked' },
        options,
        (uid) => this.#deps.index.listSeries(uid).length,
      ),
    });
    this.#deps.reports.setStatus(report.reportKey, 'linked', now);
    const linked = this.#deps.reports.get(report.reportKey)!;
    this.#deps.log.info(
      {
        report: report.reportKey,
        studies: studyUids.length,
        instances,
        manifest: manifest.sopInstanceUid,
      },
      'report linked; manifest stored',
    );
    return linked;
  }

  #arriving = (studyInstanceUid: string): boolean =>
    this.#deps.arriving?.(studyInstanceUid) ?? false;

  #stamp(): string {
    return this.#now().toISOString();
  }
}
