import { AePolicy } from '../../src/dimse/ae-policy.js';
import { DimseServer } from '../../src/dimse/scp.js';
import type {
  StoreOutcome,
  StoreReceiver,
  StoreRequest,
  StoreService,
} from '../../src/dimse/store-service.js';
import { quietLog } from './dimse-checks.js';

/*
 * A C-STORE SCP built on the bridge's own network layer, for what no tool can do on cue: answer
 * each instance with a status chosen by the test, or hold the answer until the test lets it go
 * (a move destination that keeps a C-MOVE in progress for as long as the test needs).
 */

/** Decides the answer to one instance, once its dataset has arrived completely. */
export type StoreAnswer = (
  request: StoreRequest,
  dataset: Buffer,
) => StoreOutcome | Promise<StoreOutcome>;

export interface TestStoreScp {
  aeTitle: string;
  port: number;
  /** Every C-STORE request, in arrival order. */
  requests: StoreRequest[];
  /** The dataset bytes of each instance received completely, by SOP Instance UID. */
  datasets: Map<string, Buffer>;
  /** Resolves once `count` datasets have arrived completely (answered or not). */
  received(count: number): Promise<void>;
  close(): Promise<void>;
}

/** A promise the test resolves when it chooses: `open()` lets every waiter through. */
export interface Gate {
  wait: Promise<void>;
  open(): void;
}

export function gate(): Gate {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

export async function startTestStoreScp(options: {
  aeTitle: string;
  /** Calling AE titles allowed to associate (from any host). */
  callers: string[];
  answer: StoreAnswer;
}): Promise<TestStoreScp> {
  const requests: StoreRequest[] = [];
  const datasets = new Map<string, Buffer>();
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const arrived = (): void => {
    for (const waiter of waiters.filter((w) => datasets.size >= w.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  const service: StoreService = {
    begin(request): StoreReceiver {
      requests.push(request);
      const chunks: Buffer[] = [];
      let settle!: (outcome: StoreOutcome) => void;
      const outcome = new Promise<StoreOutcome>((resolve) => (settle = resolve));
      return {
        outcome,
        write(chunk) {
          chunks.push(chunk);
          return true;
        },
        onDrain: () => undefined,
        end() {
          const dataset = Buffer.concat(chunks);
          datasets.set(request.sopInstanceUid, dataset);
          arrived();
          void Promise.resolve()
            .then(() => options.answer(request, dataset))
            .then(settle, (error: unknown) =>
              settle({ status: 0xa700, errorComment: (error as Error).message }),
            );
        },
        fail(error) {
          settle({ status: 0xa700, errorComment: error.message });
        },
      };
    },
  };
  const { server, port } = await serveStoreService(service, options.aeTitle, options.callers);
  return {
    aeTitle: options.aeTitle,
    port,
    requests,
    datasets,
    received(count) {
      if (datasets.size >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    close: () => server.close(1000),
  };
}

/**
 * Serve `service` as a DICOM SCP on loopback (port 0) with the AE title `aeTitle`, for the
 * calling AE titles `callers` (from any host).
 */
export async function serveStoreService(
  service: StoreService,
  aeTitle: string,
  callers: string[],
): Promise<{ server: DimseServer; port: number }> {
  const server = new DimseServer(
    {
      host: '127.0.0.1',
      port: 0,
      maxAssociations: 8,
      maxPduLength: 64 * 1024,
      artimMs: 10_000,
      idleTimeoutMs: 60_000,
      acceptPrivateSopClasses: true,
    },
    await AePolicy.create(
      [aeTitle],
      callers.map((caller) => ({ aeTitle: caller, host: undefined })),
    ),
    service,
    quietLog,
  );
  return { server, port: await server.listen() };
}
