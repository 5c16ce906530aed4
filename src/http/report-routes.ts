import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { FseMessageError } from '../fse/fse-messages.js';
import { ReportValidationError, parseReportRegistration, reportKey } from '../fse/report.js';
import type { ReportLinker } from '../fse/report-linker.js';
import type { ReportState } from '../fse/report-state.js';
import type { ReportStore } from '../fse/report-store.js';
import { ObscurationEventError, parseObscurationEvent } from '../fse/obscuration.js';
import { changeObscuration } from '../fse/obscuration-change.js';
import { API_FAILURES, ERROR } from './api-schemas.js';
import {
  OBSCURATION_CHANGE,
  REGISTRATION,
  REPORT,
  REPORT_FAILURES,
  REPORT_PARAMS,
} from './report-schemas.js';

/** The report as the API shows it: its links, accession states and manifest. */
function view(state: ReportState): Record<string, unknown> {
  return {
    ...state,
    accessions: state.accessions.map(({ id: _id, ...accession }) => accession),
  };
}

/**
 * The largest JSON body the report routes read. The largest registration (100 accession numbers
 * with issuers, every field at its longest) is under 30 KiB as UTF-8 and about 53 KiB with every
 * character `\u`-escaped; anything above this is refused with 413 before it is parsed, instead
 * of up to `http.bodyLimitBytes` of JSON parsed on the main thread for nothing.
 */
export const REPORT_BODY_LIMIT_BYTES = 64 * 1024;

/** A body the route cannot use: 400 naming the field. */
function invalid(reply: FastifyReply, error: ReportValidationError): FastifyReply {
  return reply
    .code(400)
    .send({ error: 'invalid-report', field: error.field, message: error.message });
}

/** The key of the report a URL names, or why it names none (a codCL holding `^`). */
function keyOf(params: ReportParams): string | ReportValidationError {
  try {
    return reportKey({ codCL: params.codCL, codDocumentoDipartimentale: params.codDocumento });
  } catch (error) {
    if (error instanceof ReportValidationError) return error;
    throw error;
  }
}

type ReportParams = { codCL: string; codDocumento: string };

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
  // Never above the server's own limit (http.bodyLimitBytes).
  const bodyLimit = Math.min(REPORT_BODY_LIMIT_BYTES, app.initialConfig.bodyLimit ?? Infinity);

  app.post(
    '/api/reports',
    {
      bodyLimit,
      config: { inputError: 'invalid-report' },
      schema: {
        summary: 'Register or replace a report; linking goes on after the answer',
        body: REGISTRATION,
        response: {
          202: { ...REPORT, description: 'Recorded; Location names the report' },
          ...API_FAILURES,
          400: {
            ...ERROR,
            description: 'Not a report the FSE can be told about; `field` names why',
          },
          413: { ...ERROR, description: 'Larger than the largest registration' },
        },
      },
    },
    async (request, reply) => {
      let registration;
      try {
        registration = parseReportRegistration(request.body);
      } catch (error) {
        if (error instanceof ReportValidationError) return invalid(reply, error);
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
    },
  );

  app.get<{ Params: ReportParams }>(
    '/api/reports/:codCL/:codDocumento',
    {
      schema: {
        summary: 'One report and its links',
        params: REPORT_PARAMS,
        response: { 200: { ...REPORT, description: 'The report' }, ...REPORT_FAILURES },
      },
    },
    async (request, reply) => {
      const key = keyOf(request.params);
      if (key instanceof ReportValidationError) return invalid(reply, key);
      const state = deps.reports.get(key);
      if (!state) return reply.code(404).send({ error: 'not-found', message: `no report ${key}` });
      return view(state);
    },
  );

  app.get<{ Querystring: { accessionNumber: string } }>(
    '/api/reports',
    {
      schema: {
        summary: 'The reports of an accession number, newest first',
        querystring: {
          type: 'object',
          required: ['accessionNumber'],
          properties: { accessionNumber: { type: 'string', minLength: 1 } },
        },
        response: {
          200: { description: 'Newest first', type: 'array', items: REPORT },
          ...API_FAILURES,
        },
      },
    },
    async (request) => deps.reports.byAccession(request.query.accessionNumber).map(view),
  );

  app.delete<{ Params: ReportParams }>(
    '/api/reports/:codCL/:codDocumento',
    {
      schema: {
        summary: 'Cancel a report: unlink it and tell the FSE',
        params: REPORT_PARAMS,
        response: {
          200: { ...REPORT, description: 'The report, cancelled' },
          ...REPORT_FAILURES,
          409: { ...ERROR, description: 'The cancellation cannot be notified; nothing changed' },
        },
      },
    },
    async (request, reply) => {
      const key = keyOf(request.params);
      if (key instanceof ReportValidationError) return invalid(reply, key);
      let state;
      try {
        state = deps.linker.cancel(key);
      } catch (error) {
        // A report recorded before its values were checked as the FSE messages check them:
        // nothing was changed, and cancelling it cannot work until it is registered anew.
        if (!(error instanceof FseMessageError)) throw error;
        return reply.code(409).send({
          error: 'cannot-notify',
          field: error.field,
          message: `the cancellation cannot be notified: ${error.message}`,
        });
      }
      if (!state) return reply.code(404).send({ error: 'not-found', message: `no report ${key}` });
      return view(state);
    },
  );

  app.post<{ Params: ReportParams; Body: { eventCode: string; source: string } }>(
    '/api/reports/:codCL/:codDocumento/obscuration',
    {
      bodyLimit,
      config: { inputError: 'invalid-request' },
      schema: {
        summary: 'An obscuration change; answers the codes in force',
        params: REPORT_PARAMS,
        body: OBSCURATION_CHANGE,
        response: {
          200: {
            description: 'The codes in force after the change',
            type: 'object',
            properties: {
              reportKey: { type: 'string' },
              obscuration: REPORT.properties.obscuration,
            },
          },
          ...REPORT_FAILURES,
        },
      },
    },
    async (request, reply) => {
      const { body } = request;
      let eventCode;
      try {
        eventCode = parseObscurationEvent(body.eventCode);
      } catch (error) {
        if (!(error instanceof ObscurationEventError)) throw error;
        return reply.code(400).send({
          error: 'invalid-request',
          field: 'eventCode',
          message: `eventCode ${error.message}`,
        });
      }
      const source = body.source.trim();
      if (source === '' || source.length > 64)
        return reply.code(400).send({
          error: 'invalid-request',
          field: 'source',
          message: 'source is required (at most 64 characters)',
        });
      const { codCL, codDocumento: codDocumentoDipartimentale } = request.params;
      let changed;
      try {
        changed = changeObscuration(deps, { codCL, codDocumentoDipartimentale, eventCode, source });
      } catch (error) {
        if (error instanceof ReportValidationError) return invalid(reply, error);
        throw error;
      }
      const { reportKey: key, state } = changed;
      if (!state) return reply.code(404).send({ error: 'not-found', message: `no report ${key}` });
      return { reportKey: key, obscuration: state.obscuration };
    },
  );
}
