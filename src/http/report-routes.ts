import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ReportValidationError, parseReportRegistration, reportKey } from '../fse/report.js';
import type { ReportLinker } from '../fse/report-linker.js';
import type { ReportState } from '../fse/report-state.js';
import type { ReportStore } from '../fse/report-store.js';
import { ObscurationEventError, parseObscurationEvent } from '../fse/obscuration.js';

/** The report as the API shows it: its links, accession states and manifest. */
function view(state: ReportState): Record<string, unknown> {
  return {
    ...state,
    accessions: state.accessions.map(({ id: _id, ...accession }) => accession),
  };
}

/**
 * Report registration for ASRs without HL7, and link state:
 * - `POST /api/reports`: register or replace a report (JSON); 202 once recorded, linking goes on.
 * - `GET /api/reports/:codCL/:codDocumentoDipartimentale`: one report and its links.
 * - `GET /api/reports?accessionNumber=…`: the reports of an accession number.
 * - `DELETE /api/reports/:codCL/:codDocumentoDipartimentale`: cancel (unlink, tell the FSE).
 * - `POST /api/reports/:codCL/:codDocumentoDipartimentale/obscuration`: an obscuration change
 *   `{ eventCode: P99 | P97 | P98 | P00, source }`; answers the codes in force.
 */
export function reportRoutes(
  app: FastifyInstance,
  deps: { linker: ReportLinker; reports: ReportStore; log: Logger },
): void {
  app.post('/api/reports', async (request, reply) => {
    let registration;
    try {
      registration = parseReportRegistration(request.body);
    } catch (error) {
      if (error instanceof ReportValidationError)
        return reply
          .code(400)
          .send({ error: 'invalid-report', field: error.field, message: error.message });
      throw error;
    }
    const { state, linked } = deps.linker.accept(registration);
    // Linking goes on after the answer; its outcome is visible with GET.
    linked.catch((error: unknown) =>
      request.log.error({ err: error, report: state.reportKey }, 'linking a report failed'),
    );
    return reply
      .code(202)
      .header(
        'location',
        `/api/reports/${encodeURIComponent(state.codCL)}/${encodeURIComponent(state.codDocumentoDipartimentale)}`,
      )
      .send(view(state));
  });

  app.get<{ Params: { codCL: string; codDocumento: string } }>(
    '/api/reports/:codCL/:codDocumento',
    async (request, reply) => {
      const key = reportKey({
        codCL: request.params.codCL,
        codDocumentoDipartimentale: request.params.codDocumento,
      });
      const state = deps.reports.get(key);
      if (!state) return reply.code(404).send({ error: 'not-found', message: `no report ${key}` });
      return view(state);
    },
  );

  app.get<{ Querystring: { accessionNumber?: string } }>('/api/reports', async (request, reply) => {
    const accession = request.query.accessionNumber;
    if (!accession)
      return reply
        .code(400)
        .send({ error: 'bad-request', message: 'accessionNumber query parameter is required' });
    return deps.reports.byAccession(accession).map(view);
  });

  app.delete<{ Params: { codCL: string; codDocumento: string } }>(
    '/api/reports/:codCL/:codDocumento',
    async (request, reply) => {
      const key = reportKey({
        codCL: request.params.codCL,
        codDocumentoDipartimentale: request.params.codDocumento,
      });
      const state = deps.linker.cancel(key);
      if (!state) return reply.code(404).send({ error: 'not-found', message: `no report ${key}` });
      return view(state);
    },
  );

  app.post<{ Params: { codCL: string; codDocumento: string } }>(
    '/api/reports/:codCL/:codDocumento/obscuration',
    async (request, reply) => {
      const body = request.body as { eventCode?: unknown; source?: unknown } | undefined;
      const unknown = Object.keys(body ?? {}).filter((k) => k !== 'eventCode' && k !== 'source');
      if (unknown.length > 0)
        return reply.code(400).send({
          error: 'invalid-request',
          field: unknown[0],
          message: `${unknown[0]} is not a known field`,
        });
      let event;
      try {
        event = parseObscurationEvent(typeof body?.eventCode === 'string' ? body.eventCode : '');
      } catch (error) {
        if (!(error instanceof ObscurationEventError)) throw error;
        return reply.code(400).send({
          error: 'invalid-request',
          field: 'eventCode',
          message: `eventCode ${error.message}`,
        });
      }
      const source = typeof body?.source === 'string' ? body.source.trim() : '';
      if (source === '' || source.length > 64)
        return reply.code(400).send({
          error: 'invalid-request',
          field: 'source',
          message: 'source is required (at most 64 characters)',
        });
      const key = reportKey({
        codCL: request.params.codCL,
        codDocumentoDipartimentale: request.params.codDocumento,
      });
      const state = deps.reports.changeObscuration(
        key,
        { eventCode: event, source },
        new Date().toISOString(),
      );
      if (!state) return reply.code(404).send({ error: 'not-found', message: `no report ${key}` });
      const inForce = state.obscuration;
      deps.log.info({ report: key, eventCode: event, source, inForce }, 'obscuration changed');
      return { reportKey: key, obscuration: state.obscuration };
    },
  );
}
