import type { Logger } from 'pino';
import type { BridgeConfig } from './config/load.js';
import { AePolicy } from './dimse/ae-policy.js';
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
import { startReporting, type Reporting } from './reporting.js';

export interface RunningApp {
  /** The DICOM port actually bound (differs from the configured one when that is 0). */
  dicomPort: number;
  index: StudyIndex;
  store: ObjectStore;
  /** One retriever per configured PACS node, by node name. */
  retrievers: Map<string, StudyRetriever>;
  /** Report linking, the FSE outbox, the HTTP API and the HL7 listener. */
  reporting: Reporting;
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
    const store = await createObjectStore(config.storage, log.child({ component: 'storage' }));
    releases.push(() => store.close());
    // Reads on this thread; commits, with their fsync, on the writer's thread.
    const index = StudyIndex.open(config.index.path, log);
    releases.push(() => index.close());
    const writer = await IndexWriter.start(config.index.path);
    releases.push(() => writer.close());
    const disk = new DiskGuard(config.dataDir, config.ingest.minFreeDiskBytes);
    const ingest = new IngestService(
      { spoolDir: config.spoolDir, ...config.ingest },
      store,
      {
        findInstance: (uid) => index.findInstance(uid),
        commitInstances: (items, replace) => writer.commitInstances(items, replace),
        removeInstance: (uid) => writer.removeInstance(uid),
      },
      disk,
      log.child({ component: 'ingest' }),
    );
    await ingest.prepare();
    releases.push(() => ingest.close());
    // The AEs a PACS node sends from may store to us from its host (C-MOVE sub-operations).
    const allowedPeers = [
      ...config.dicom.allowedPeers.map((peer) => ({ aeTitle: peer.aeTitle, host: peer.host })),
      ...config.pacs.nodes.flatMap((node) =>
        node.sendingAeTitles.map((aeTitle) => ({ aeTitle, host: node.host })),
      ),
    ];
    const policy = await AePolicy.create(config.dicom.aeTitles, allowedPeers);
    if (allowedPeers.length === 0)
      log.warn('no peers are allowed to send: set dicom.allowedPeers (BRIDGE_ALLOWED_PEERS)');
    const retrievers = new Map(
      config.pacs.nodes.map((node) => [
        node.name,
        new StudyRetriever({
          pacs: new PacsClient(node, node.callingAeTitle, log.child({ component: 'pacs' })),
          index: {
            countStudyInstances: (uid) => index.countStudyInstances(uid),
            setExpectedInstances: (uid, expected) => writer.setExpectedInstances(uid, expected),
          },
          store: (request) => ingest.begin(request),
          log: log.child({ component: 'retrieve' }),
        }),
      ]),
    );
    // Our Q/R SCP moves to the configured destinations and to the PACS nodes themselves.
    const qr = new IndexQrService(index, store, {
      ...config.queryRetrieve,
      moveDestinations: [
        ...config.queryRetrieve.moveDestinations,
        ...config.pacs.nodes.map(({ aeTitle, host, port }) => ({ aeTitle, host, port })),
      ],
    });
    const scp = new DimseServer(
      config.dicom,
      policy,
      ingest,
      log.child({ component: 'dimse' }),
      qr,
    );
    const reporting = await startReporting(
      config,
      { index, store, ingest, retrievers },
      releases,
      log,
    );
    const dicomPort = await scp.listen();
    releases.push(() => scp.close(config.shutdown.drainTimeoutMs));
    log.info(
      {
        dicomPort,
        httpPort: reporting.httpPort,
        hl7Port: reporting.hl7Port,
        storage: store.description,
        index: config.index.path,
      },
      'bridge started',
    );
    return { dicomPort, index, store, retrievers, reporting, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
