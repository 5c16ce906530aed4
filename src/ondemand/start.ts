import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { BridgeConfig } from '../config/load.js';
import type { ReportLinker } from '../fse/report-linker.js';
import type { ReportStore } from '../fse/report-store.js';
import { episodioRoutes } from '../http/episodio-routes.js';
import { soapRoutes, type CallerAuth } from '../http/soap-routes.js';
import type { StudyIndex } from '../index/study-index.js';
import { JobQueue } from '../queue/job-queue.js';
import type { ObjectStore } from '../storage/object-store.js';
import { OnDemandService, type Deliverable, type OnDemandObserver } from './on-demand-service.js';
import { OnDemandStore } from './on-demand-store.js';
import { PackageBuilder } from './package-builder.js';

type Release = () => Promise<void> | void;

export interface OnDemand {
  service: OnDemandService;
  /** The worker queue, for its depth. */
  queue: JobQueue<Deliverable>;
  store: OnDemandStore;
  /** Register the SOAP endpoint on an HTTP server. */
  routes(app: FastifyInstance): void;
}

/**
 * On-demand retrieval: its store (audit, package cache), the package builder and its spool
 * area (emptied of what an earlier run left), the bounded worker queue, the periodic removal
 * of expired packages and the SOAP endpoint.
 */
export async function startOnDemand(
  config: BridgeConfig,
  parts: {
    index: StudyIndex;
    store: ObjectStore;
    reports: ReportStore;
    linker: ReportLinker;
    repositoryId: string;
    observer?: OnDemandObserver;
  },
  releases: Release[],
  log: Logger,
): Promise<OnDemand> {
  const options = config.onDemand;
  const spool = await parts.store.openSpoolArea('packages');
  releases.push(() => spool.close());
  if (spool.leftovers > 0)
    log.info({ files: spool.leftovers }, 'removed packages left unfinished by the last run');
  const db = OnDemandStore.open(config.index.path);
  releases.push(() => db.close());
  const queue = new JobQueue<Deliverable>({
    concurrency: options.concurrency,
    maxQueued: options.maxQueued,
    // Callers waiting on a job get its result; later ones go through the package cache, whose
    // entries expire with their objects (a result kept here could outlive its object).
    resultTtlMs: 0,
    // A build given up holds its worker until it has stopped.
    timeoutMs: options.jobTimeoutMs,
  });
  releases.push(async () => {
    if (!(await queue.drain(config.shutdown.drainTimeoutMs)))
      log.warn(
        { running: queue.running },
        'on-demand packages still being built at shutdown are abandoned; their spool files are removed at the next start',
      );
  });
  const service = new OnDemandService(
    {
      reports: parts.reports,
      relink: (key, signal) => parts.linker.relink(key, signal),
      missing: (report) => parts.linker.missing(report),
      store: parts.store,
      db,
      builder: new PackageBuilder({ index: parts.index, store: parts.store, spool, log }, options),
      queue,
      log,
      ...(parts.observer ? { observer: parts.observer } : {}),
    },
    { ...options, guardianRoles: new Set(options.guardianRoles) },
  );
  const sweep = setInterval(
    () =>
      void service
        .sweep()
        .catch((error: unknown) => log.warn({ err: error }, 'package sweep failed')),
    Math.min(options.cacheTtlMs, 3600_000),
  );
  sweep.unref();
  releases.push(() => clearInterval(sweep));
  if (options.authKind === 'none' && !['127.0.0.1', '::1', 'localhost'].includes(config.http.host))
    log.warn(
      { host: config.http.host },
      'on-demand retrieval accepts callers without credentials on a non-local address: set onDemand.authKind basic',
    );
  const auth: CallerAuth =
    options.authKind === 'basic'
      ? { kind: 'basic', username: options.username, password: options.password }
      : { kind: 'none' };
  const routeDeps = { service, reports: parts.reports, audit: db, log };
  const getDocumento = options.getDocumento;
  return {
    service,
    queue,
    store: db,
    routes: (app) => {
      soapRoutes(app, routeDeps, {
        path: options.path,
        publicUrl: options.publicUrl,
        inlineMaxBytes: options.inlineMaxBytes,
        bodyLimitBytes: options.bodyLimitBytes,
        auth,
        repositoryId: parts.repositoryId,
        errorCodes: options.errorCodes,
      });
      episodioRoutes(
        app,
        { ...routeDeps, index: parts.index },
        {
          path: getDocumento.path,
          publicUrl: getDocumento.publicUrl,
          inlineMaxBytes: options.inlineMaxBytes,
          bodyLimitBytes: options.bodyLimitBytes,
          auth,
          errorCodes: options.errorCodes,
          pdiFileTypes: new Set(getDocumento.pdiFileTypes.map((code) => code.toUpperCase())),
          clockSkewMs: getDocumento.clockSkewMs,
          maxMessageAgeMs: getDocumento.maxMessageAgeMs,
        },
      );
    },
  };
}
