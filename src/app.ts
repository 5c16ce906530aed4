import type { Logger } from 'pino';
import type { BridgeConfig } from './config/load.js';
import { DimseServer } from './dimse/scp.js';
import { IndexWriter } from './index/index-writer.js';
import { StudyIndex } from './index/study-index.js';
import { DiskGuard } from './ingest/disk-guard.js';
import { IngestService } from './ingest/ingest-service.js';
import { createObjectStore } from './storage/create-store.js';
import type { ObjectStore } from './storage/object-store.js';
import { mkdir } from 'node:fs/promises';
import { PacsClient } from './retrieve/pacs-client.js';
import { StudyRetriever } from './retrieve/retrieve-study.js';
import { IndexQrService } from './qr/index-qr-service.js';
import { sharedTranscoder, type Transcoder } from './dicom/transcoder.js';
import { startReporting, type Reporting } from './reporting.js';
import { setUpAeConfig } from './admin/ae-setup.js';
import type { AeDirectory } from './admin/ae-directory.js';
import { RecentAssociations } from './admin/recent-associations.js';
import { adminRoutes, startAdminListener } from './admin/start-admin.js';
import type { PacsNodeSetting } from './config/pacs-nodes.js';
import { BridgeMetrics, NO_QUEUE, type QueueDepthProvider } from './metrics/metrics.js';
import { metricsRoutes, type ReadinessCheck } from './metrics/metrics-routes.js';
import type { OutboxStore } from './fse/outbox-store.js';

export interface RunningApp {
  /** The DICOM port actually bound (differs from the configured one when that is 0). */
  dicomPort: number;
  index: StudyIndex;
  store: ObjectStore;
  /** One retriever per PACS node, by node name; follows the nodes administrators edit. */
  retrievers: Map<string, StudyRetriever>;
  /** The PACS nodes and allowed peers in force (kept in the index, edited at run time). */
  aeDirectory: AeDirectory;
  /** Report linking, the FSE outbox, the HTTP API and the HL7 listener. */
  reporting: Reporting;
  /** Prometheus metrics; the on-demand service observes its wait and processing times here. */
  metrics: BridgeMetrics;
  /** The port of the separate admin listener, when admin.port is not -1. */
  adminPort: number | undefined;
  /** Converts instances for peers that refuse their stored transfer syntax (threads of its own). */
  transcoder: Transcoder;
  /** Graceful stop; calling it again returns the same promise. */
  stop(): Promise<void>;
}

type Release = () => Promise<void> | void;

/**
 * The composition root: builds storage, index, ingest and the DICOM SCP from the configuration
 * and starts them. Each part registers how to release it; `stop` releases them in reverse order.
 */
export async function startApp(config: BridgeConfig, log: Logger): Promise<RunningApp> {
  const releases: Release[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      while (releases.length > 0) {
        const release = releases.pop()!;
        try {
          await release();
        } catch (error) {
          log.error({ err: error }, 'error while stopping');
        }
      }
    })();
    return stopping;
  };
  try {
    await mkdir(config.dataDir, { recursive: true });
    const store = await createObjectStore(config.storage, log.child({ component: 'storage' }), {
      spoolDir: config.spoolDir,
    });
    releases.push(() => store.close());
    // Reads on this thread; commits, with their fsync, on the writer's thread.
    const index = StudyIndex.open(config.index.path, log);
    releases.push(() => index.close());
    const writer = await IndexWriter.start(config.index.path);
    releases.push(() => writer.close());
    const disk = new DiskGuard(config.dataDir, config.ingest.minFreeDiskBytes);
    const ingest = new IngestService(
      { journalDir: config.spoolDir, ...config.ingest },
      store,
      {
        findInstance: (uid) => index.findInstance(uid),
        seriesStudy: (uid) => index.seriesStudy(uid),
        getStudy: (uid) => index.getStudy(uid),
        commitInstances: (items, replace) => writer.commitInstances(items, replace),
        removeInstance: (uid) => writer.removeInstance(uid),
      },
      disk,
      log.child({ component: 'ingest' }),
    );
    await ingest.prepare();
    releases.push(() => ingest.close());
    // The on-demand queue starts with the HTTP side, after the metrics: 0/0 until then.
    let queueDepth: QueueDepthProvider = NO_QUEUE;
    let outbox: OutboxStore | undefined;
    const metrics = new BridgeMetrics({
      queueDepth: () => queueDepth(),
      outbox: () => ({
        ...(outbox?.counts() ?? { pending: 0, delivered: 0, dead: 0 }),
        retrying: outbox?.countRetrying() ?? 0,
      }),
      freeDiskBytes: () => disk.freeBytes(),
    });
    ingest.observe(metrics.ingestObserver());
    const makeRetriever = (node: PacsNodeSetting): StudyRetriever =>
      new StudyRetriever({
        pacs: new PacsClient(node, node.callingAeTitle, log.child({ component: 'pacs' })),
        index: {
          countStudyInstances: (uid) => index.countStudyInstances(uid),
          setExpectedInstances: (uid, expected) => writer.setExpectedInstances(uid, expected),
        },
        store: (request) => ingest.begin(request),
        log: log.child({ component: 'retrieve' }),
      });
    // The index holds the PACS nodes and allowed peers (seeded from this configuration on the
    // first start); the AEs a node sends from may store to us from its host.
    const ae = await setUpAeConfig(
      config,
      makeRetriever,
      releases,
      log.child({ component: 'ae-config' }),
    );
    const { policy, retrievers } = ae;
    // Conversions run on threads shared with PDI packages, stopped once the SCP has closed.
    const transcoder = sharedTranscoder();
    releases.push(() => transcoder.close());
    // Our Q/R SCP moves to the configured destinations and to the PACS nodes themselves.
    let arriving = (): readonly string[] => [];
    const qr = new IndexQrService(index, store, {
      ...config.queryRetrieve,
      moveDestinations: ae.moveDestinations,
      // Known once reporting has started, before the DICOM port listens.
      arrivingStudies: () => arriving(),
      transcoder,
    });
    const scp = new DimseServer(
      config.dicom,
      policy,
      ingest,
      log.child({ component: 'dimse' }),
      qr,
    );
    scp.observe(metrics.associationObserver());
    const associations = new RecentAssociations(config.admin.recentAssociations);
    scp.observe(associations.observer());
    let dicomPort = 0;
    const admin = adminRoutes(
      config,
      {
        ae,
        associations,
        isStored: (uid) => index.findInstance(uid) !== undefined,
        store: (request) => ingest.begin(request),
        dicomPort: () => dicomPort,
        queueDepth: () => queueDepth(),
      },
      log.child({ component: 'admin' }),
    );
    const separateAdmin = config.admin.port !== -1;
    const checks: ReadinessCheck[] = [
      {
        name: 'storage',
        check: async () => {
          await disk.freeBytes();
          await store.stat('readyz/probe');
        },
      },
      { name: 'index', check: () => ae.store.ping() },
      {
        name: 'dicom',
        check: () => {
          if (!scp.listening) throw new Error('the DICOM port is not listening');
        },
      },
    ];
    const reporting = await startReporting(
      config,
      {
        index,
        store,
        ingest,
        retrievers,
        onDemandObserver: {
          waited: (seconds) => metrics.onDemandWaitSeconds.observe(seconds),
          processed: (seconds) => metrics.onDemandProcessingSeconds.observe(seconds),
        },
        routes: (app, parts) => {
          outbox = parts.outbox;
          metricsRoutes(app, { metrics, checks });
          if (!separateAdmin) admin(app, parts);
        },
      },
      releases,
      log,
    );
    arriving = () => reporting.arrivingStudies();
    const onDemandQueue = reporting.onDemand.queue;
    queueDepth = () => ({ waiting: onDemandQueue.waiting, running: onDemandQueue.running });
    let adminPort: number | undefined;
    if (separateAdmin) {
      const listener = await startAdminListener(
        config,
        (app) => admin(app, reporting),
        log.child({ component: 'admin-http' }),
      );
      releases.push(() => listener.close());
      adminPort = listener.port;
    }
    if (config.hl7.enabled)
      checks.push({
        name: 'hl7',
        check: () => {
          if (!reporting.hl7Listening()) throw new Error('the MLLP port is not listening');
        },
      });
    dicomPort = await scp.listen();
    releases.push(() => scp.close(config.shutdown.drainTimeoutMs));
    log.info(
      {
        dicomPort,
        httpPort: reporting.httpPort,
        hl7Port: reporting.hl7Port,
        adminPort,
        storage: store.description,
        index: config.index.path,
      },
      'bridge started',
    );
    return {
      dicomPort,
      index,
      store,
      retrievers,
      aeDirectory: ae.directory,
      reporting,
      metrics,
      adminPort,
      transcoder,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
