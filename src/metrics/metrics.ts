import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AssociationObserver } from '../dimse/association-observer.js';
import type { IngestObserver } from '../ingest/ingest-service.js';
import { Status } from '../dimse/status.js';

/** Jobs of the on-demand queue: waiting for a worker, and being worked on. */
export interface QueueDepth {
  waiting: number;
  running: number;
}

export type QueueDepthProvider = () => QueueDepth;

/** No on-demand queue yet: nothing waits, nothing runs. */
export const NO_QUEUE: QueueDepthProvider = () => ({ waiting: 0, running: 0 });

/** What the gauges read when Prometheus scrapes. */
export interface MetricsSources {
  queueDepth: () => QueueDepth;
  /** Outbox notifications by status, and the pending ones that failed at least once. */
  outbox: () => { pending: number; delivered: number; dead: number; retrying: number };
  /** Free bytes on the data directory's filesystem. */
  freeDiskBytes: () => Promise<number>;
}

/** Latency buckets from 1 ms to 1 min, in seconds. */
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** On-demand requests take seconds to minutes. */
const JOB_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600];

/**
 * The bridge's Prometheus metrics, on a registry of its own (not prom-client's global one, so
 * that several bridges in one process, as in tests, do not share counts). Process metrics come
 * from collectDefaultMetrics on the same registry.
 */
export class BridgeMetrics {
  readonly registry = new Registry();
  readonly instancesReceived: Counter<'calling_ae'>;
  readonly instancesFailed: Counter<'calling_ae'>;
  readonly bytesReceived: Counter<'calling_ae'>;
  readonly associationsAccepted: Counter;
  readonly associationsRejected: Counter<'reason'>;
  readonly storageSeconds: Histogram;
  readonly indexSeconds: Histogram;
  /** Time an on-demand request waits in the queue before a worker takes it. */
  readonly onDemandWaitSeconds: Histogram;
  /** Time a worker spends on an on-demand request. */
  readonly onDemandProcessingSeconds: Histogram;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.instancesReceived = new Counter({
      name: 'bridge_instances_received_total',
      help: 'Instances received with C-STORE and kept (success or warning), by calling AE title.',
      labelNames: ['calling_ae'],
      registers,
    });
    this.instancesFailed = new Counter({
      name: 'bridge_instances_failed_total',
      help: 'C-STOREs answered with a failure status (nothing kept), by calling AE title.',
      labelNames: ['calling_ae'],
      registers,
    });
    this.bytesReceived = new Counter({
      name: 'bridge_received_bytes_total',
      help: 'Bytes of the instances stored, by calling AE title.',
      labelNames: ['calling_ae'],
      registers,
    });
    this.associationsAccepted = new Counter({
      name: 'bridge_associations_accepted_total',
      help: 'Associations accepted by the DICOM SCP.',
      registers,
    });
    this.associationsRejected = new Counter({
      // Calling AE titles of rejected associations are whatever a peer sends: not a label.
      name: 'bridge_associations_rejected_total',
      help: 'Associations rejected by the DICOM SCP, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.storageSeconds = new Histogram({
      name: 'bridge_storage_write_seconds',
      help: 'Time to make one instance durable on object storage.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.indexSeconds = new Histogram({
      name: 'bridge_index_commit_seconds',
      help: 'Time to commit one instance to the index (group commit included).',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.onDemandWaitSeconds = new Histogram({
      name: 'bridge_ondemand_wait_seconds',
      help: 'Time an on-demand request waits in the queue before a worker takes it.',
      buckets: JOB_BUCKETS,
      registers,
    });
    this.onDemandProcessingSeconds = new Histogram({
      name: 'bridge_ondemand_processing_seconds',
      help: 'Time a worker spends on one on-demand request.',
      buckets: JOB_BUCKETS,
      registers,
    });
    new Gauge({
      name: 'bridge_ondemand_queue_depth',
      help: 'On-demand requests waiting for a worker (state="waiting") or being worked on (state="running").',
      labelNames: ['state'],
      registers,
      collect() {
        const depth = sources.queueDepth();
        this.set({ state: 'waiting' }, depth.waiting);
        this.set({ state: 'running' }, depth.running);
      },
    });
    new Gauge({
      name: 'bridge_fse_outbox_items',
      help: 'FSE notifications in the outbox, by status (pending is the backlog).',
      labelNames: ['status'],
      registers,
      collect() {
        const counts = sources.outbox();
        for (const status of ['pending', 'delivered', 'dead'] as const)
          this.set({ status }, counts[status]);
      },
    });
    new Gauge({
      name: 'bridge_fse_outbox_retrying',
      help: 'Pending FSE notifications that failed at least once and wait for a retry.',
      registers,
      collect() {
        this.set(sources.outbox().retrying);
      },
    });
    new Gauge({
      name: 'bridge_storage_free_bytes',
      help: "Free space on the data directory's filesystem, in bytes.",
      registers,
      async collect() {
        this.set(await sources.freeDiskBytes());
      },
    });
  }

  /** Hooks for the DICOM SCP: associations and C-STORE outcomes. */
  associationObserver(): AssociationObserver {
    return {
      accepted: () => this.associationsAccepted.inc(),
      rejected: ({ why }) => this.associationsRejected.inc({ reason: why }),
      stored: ({ callingAe, status }) => {
        if (status === Status.Success || (status & 0xf000) === 0xb000)
          this.instancesReceived.inc({ calling_ae: callingAe });
        else this.instancesFailed.inc({ calling_ae: callingAe });
      },
    };
  }

  /** Hooks for the ingest pipeline: bytes stored, storage and index latency. */
  ingestObserver(): IngestObserver {
    return {
      stored: ({ callingAe, sizeBytes }) =>
        this.bytesReceived.inc({ calling_ae: callingAe }, sizeBytes),
      storageSeconds: (seconds) => this.storageSeconds.observe(seconds),
      indexSeconds: (seconds) => this.indexSeconds.observe(seconds),
    };
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
