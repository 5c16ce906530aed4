import type { Logger } from 'pino';
import type { BridgeConfig } from './config/load.js';
import { uidFromUuid } from './dicom/uid-generator.js';
import { toOutboxEntry } from './fse/fse-messages.js';
import { FseNotifier, type FseAuth } from './fse/fse-notifier.js';
import { GatewayNotifier } from './fse/gateway-notifier.js';
import { reportEventSink } from './fse/hl7-reports.js';
import { OutboxStore } from './fse/outbox-store.js';
import { OutboxWorker } from './fse/outbox-worker.js';
import { QuietPeriod } from './fse/quiet-period.js';
import { ReportLinker } from './fse/report-linker.js';
import { ReportStore } from './fse/report-store.js';
import { createReportHandler } from './hl7/report-listener.js';
import { MllpServer } from './hl7/mllp-server.js';
import { outboxRoutes } from './http/outbox-routes.js';
import { reportRoutes } from './http/report-routes.js';
import { startHttpServer } from './http/server.js';
import type { StudyIndex } from './index/study-index.js';
import type { IngestService } from './ingest/ingest-service.js';
import type { StudyRetriever } from './retrieve/retrieve-study.js';
import type { ObjectStore } from './storage/object-store.js';
import { createHash } from 'node:crypto';
import { startOnDemand, type OnDemand } from './ondemand/start.js';
import type { OnDemandObserver } from './ondemand/on-demand-service.js';
import type { FastifyInstance } from 'fastify';

type Release = () => Promise<void> | void;

export interface Reporting {
  linker: ReportLinker;
  reports: ReportStore;
  outbox: OutboxStore;
  outboxWorker: OutboxWorker;
  /** On-demand retrieval: the SOAP endpoint, its queue, audit and package cache. */
  onDemand: OnDemand;
  httpPort: number;
  /** The MLLP port, when HL7 is enabled. */
  hl7Port: number | undefined;
  /** True while the MLLP port accepts connections (false when HL7 is not enabled). */
  hl7Listening(): boolean;
  /** Studies whose instances are still arriving: one arrived within `links.quietPeriodMs`. */
  arrivingStudies(): string[];
}

/** A stable Retrieve Location UID for this bridge when none is configured. */
function derivedLocationUid(aeTitle: string): string {
  const hash = createHash('sha256').update(`pacs-fse-bridge:${aeTitle}`).digest('hex');
  // A name-based UUID (version 5 layout) from the hash, in the 2.25 form.
  const uuid = `${hash.slice(0, 8)}-${hash.slice(8, 12)}-5${hash.slice(13, 16)}-${((parseInt(hash[16]!, 16) & 0x3) | 0x8).toString(16)}${hash.slice(17, 20)}-${hash.slice(20, 32)}`;
  return uidFromUuid(uuid);
}

function authOf(fse: BridgeConfig['fse']): FseAuth {
  if (fse.authKind === 'bearer') return { kind: 'bearer', token: fse.token };
  if (fse.authKind === 'basic')
    return { kind: 'basic', username: fse.username, password: fse.password };
  return { kind: 'none' };
}

/**
 * What sends the outbox, by `fse.transport`: the regional image gateway over HL7, or the FSE
 * service over HTTP; undefined when the chosen one has no address (notifications stay queued).
 */
function notifierOf(config: BridgeConfig): GatewayNotifier | FseNotifier | undefined {
  const { fse } = config;
  if (fse.transport === 'hl7')
    return fse.gateway.host
      ? new GatewayNotifier({
          gateway: fse.gateway,
          facilities: config.hl7.facilities,
          timeoutMs: fse.timeoutMs,
        })
      : undefined;
  return fse.notifyUrl
    ? new FseNotifier({ baseUrl: fse.notifyUrl, timeoutMs: fse.timeoutMs, auth: authOf(fse) })
    : undefined;
}

/**
 * Report linking and the FSE side: the report and outbox stores, the outbox worker, the linker
 * (retrieving from the configured PACS node), completion of waiting reports when pushed studies
 * go quiet, the HTTP API and the HL7 listener. Each part registers its release.
 */
export async function startReporting(
  config: BridgeConfig,
  parts: {
    index: StudyIndex;
    store: ObjectStore;
    ingest: IngestService;
    /** By node name; may change while the daemon runs (administrators edit the nodes). */
    retrievers: Map<string, StudyRetriever>;
    /** Where on-demand queue waits and processing times go (metrics). */
    onDemandObserver?: OnDemandObserver;
    /** More routes for the HTTP listener (metrics, readiness, admin). */
    routes?: (
      app: FastifyInstance,
      reporting: { outbox: OutboxStore; outboxWorker: OutboxWorker },
    ) => void;
  },
  releases: Release[],
  log: Logger,
): Promise<Reporting> {
  const reports = ReportStore.open(config.index.path);
  releases.push(() => reports.close());
  const outbox = OutboxStore.open(config.index.path, { logger: log });
  releases.push(() => outbox.close());
  const notifier = notifierOf(config);
  const outboxWorker = new OutboxWorker(
    { ...config.fse, stopTimeoutMs: config.shutdown.drainTimeoutMs },
    {
      store: outbox,
      deliver: (item, signal) => notifier!.send(item, signal),
      log: log.child({ component: 'fse-outbox' }),
    },
  );
  if (notifier) {
    log.info(
      { transport: config.fse.transport, ...notifier.description },
      'FSE notifications are sent',
    );
    outboxWorker.start();
  } else
    log.warn(
      { transport: config.fse.transport },
      config.fse.transport === 'hl7'
        ? 'FSE notifications are queued but not sent: the transport is unconfigured, set fse.gateway.host (BRIDGE_FSE_GATEWAY_HOST)'
        : 'FSE notifications are queued but not sent: the transport is unconfigured, set fse.notifyUrl (BRIDGE_FSE_NOTIFY_URL)',
    );
  releases.push(() => outboxWorker.stop(config.shutdown.drainTimeoutMs));

  const retrieveLocationUid =
    config.links.retrieveLocationUid || derivedLocationUid(config.dicom.aeTitles[0]!);
  const linker = new ReportLinker({
    reports,
    index: parts.index,
    // Looked up at each use: the nodes may be edited while the daemon runs.
    get retriever() {
      const nodeName = config.links.pacsNode || parts.retrievers.keys().next().value;
      return nodeName ? parts.retrievers.get(nodeName) : undefined;
    },
    // A study whose instances are still arriving is not complete as held.
    arriving: (studyUid): boolean => quiet.pending(studyUid),
    store: parts.store,
    outbox: { enqueue: (notification) => void outboxWorker.enqueue(toOutboxEntry(notification)) },
    options: {
      retrieveAeTitle: config.dicom.aeTitles[0]!,
      retrieveLocationUid,
      ...(config.links.institutionName ? { institutionName: config.links.institutionName } : {}),
    },
    log: log.child({ component: 'reports' }),
  });
  releases.push(() => linker.idle());
  const quiet = new QuietPeriod(
    config.links.quietPeriodMs,
    (studyUid) => linker.studyChanged(studyUid),
    log.child({ component: 'reports' }),
  );
  parts.ingest.onStored((studyUid) => quiet.touch(studyUid));
  releases.push(() => quiet.close());

  const onDemand = await startOnDemand(
    config,
    {
      index: parts.index,
      store: parts.store,
      reports,
      linker,
      repositoryId: retrieveLocationUid,
      ...(parts.onDemandObserver ? { observer: parts.onDemandObserver } : {}),
    },
    releases,
    log.child({ component: 'on-demand' }),
  );
  const http = await startHttpServer(
    config.http,
    (app) => {
      onDemand.routes(app);
      reportRoutes(app, { linker, reports, log: log.child({ component: 'reports' }) });
      outboxRoutes(app, { outbox, worker: outboxWorker });
      parts.routes?.(app, { outbox, outboxWorker });
    },
    log.child({ component: 'http' }),
  );
  releases.push(() => http.close());

  let hl7Port: number | undefined;
  let hl7Listening = (): boolean => false;
  if (config.hl7.enabled) {
    const hl7 = new MllpServer(
      { ...config.hl7, application: config.dicom.aeTitles[0]! },
      createReportHandler(
        config.hl7.facilities,
        reportEventSink({ linker, reports, log: log.child({ component: 'reports' }) }),
        log.child({ component: 'reports' }),
      ),
      log.child({ component: 'hl7' }),
    );
    hl7Port = await hl7.listen();
    hl7Listening = () => hl7.listening;
    releases.push(() => hl7.close(config.shutdown.drainTimeoutMs));
  }
  return {
    linker,
    reports,
    outbox,
    outboxWorker,
    onDemand,
    httpPort: http.port,
    hl7Port,
    hl7Listening: () => hl7Listening(),
    arrivingStudies: () => quiet.pendingKeys(),
  };
}
