import type { FastifyInstance } from 'fastify';
import type { BridgeMetrics } from './metrics.js';

/** One thing the bridge needs to do its job; `check` throws (or rejects) when it is down. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<void> | void;
}

/** A check that does not answer within this long counts as down. */
const CHECK_TIMEOUT_MS = 5_000;

async function probe(check: ReadinessCheck): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(check.check),
      new Promise((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return undefined;
  } catch (error) {
    return (error as Error).message || 'down';
  } finally {
    clearTimeout(timer);
  }
}

const CHECKS = {
  type: 'object',
  description: 'Each check: up or down',
  additionalProperties: { type: 'string', enum: ['up', 'down'] },
};

const SCHEMAS = {
  metrics: {
    summary: 'Metrics, in the Prometheus text format',
    response: {
      200: {
        description: 'The metrics',
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
    },
  },
  readyz: {
    summary: 'Whether the bridge can do its job: storage, index, DICOM port (and MLLP port)',
    response: {
      200: {
        description: 'Every check passes',
        type: 'object',
        properties: { status: { type: 'string', enum: ['ready'] }, checks: CHECKS },
      },
      503: {
        description: 'A check failed: `down` names it and why',
        type: 'object',
        properties: {
          status: { type: 'string', enum: ['not-ready'] },
          checks: CHECKS,
          down: {
            type: 'array',
            items: {
              type: 'object',
              properties: { name: { type: 'string' }, error: { type: 'string' } },
            },
          },
        },
      },
    },
  },
};

/**
 * `GET /metrics` (Prometheus text format) and `GET /readyz`: 200 when every check passes,
 * otherwise 503 naming what is down. Neither needs credentials; neither shows patient data.
 */
export function metricsRoutes(
  app: FastifyInstance,
  deps: { metrics: BridgeMetrics; checks: readonly ReadinessCheck[] },
): void {
  app.get('/metrics', { schema: SCHEMAS.metrics }, async (_request, reply) => {
    const { contentType, body } = await deps.metrics.scrape();
    return reply.type(contentType).send(body);
  });
  app.get('/readyz', { schema: SCHEMAS.readyz }, async (_request, reply) => {
    const results = await Promise.all(
      deps.checks.map(async (check) => ({ name: check.name, error: await probe(check) })),
    );
    const down = results.filter((result) => result.error !== undefined);
    const checks = Object.fromEntries(results.map((r) => [r.name, r.error ? 'down' : 'up']));
    if (down.length === 0) return { status: 'ready', checks };
    return reply.code(503).send({
      status: 'not-ready',
      checks,
      down: down.map(({ name, error }) => ({ name, error })),
    });
  });
}
