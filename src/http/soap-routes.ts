/**
 * The SOAP adapter of on-demand retrieval in the bridge's own vocabulary: the one place that
 * maps its requests to the service and back. GET `?wsdl` / `?xsd` serve the contract; POST takes
 * RecuperoDocumento, or NotificaVariazioneMetadati (an obscuration change). A SOAP Fault answers
 * only a malformed, schema-invalid or unauthenticated request, or one with a mandatory header
 * block the bridge does not process, each audited as refused (soap-endpoint.ts); every other
 * outcome is HTTP 200 with `esito` and `errori[]`.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { OnDemandAnswer, OnDemandService } from '../ondemand/on-demand-service.js';
import type { OnDemandStore } from '../ondemand/on-demand-store.js';
import { externalError, type ErrorKind } from '../fse/error-catalogue.js';
import { wsdl, XSD } from '../soap/contract.js';
import { changeObscuration } from '../fse/obscuration-change.js';
import type { ReportStore } from '../fse/report-store.js';
import { parseSoapRequest, type ObscurationNotice } from '../soap/request.js';
import {
  recuperoSlot,
  responseEnvelope,
  soapContentType,
  type ResponseFields,
  type SoapVersion,
  variazioneEnvelope,
} from '../soap/response.js';
import { sendDocument } from './soap-delivery.js';
import { soapEndpoint, wantsMtom, type CallerAuth } from './soap-endpoint.js';

export type { CallerAuth } from './soap-endpoint.js';

export interface SoapRouteOptions {
  /** Path of the endpoint, e.g. `/ws/recupero-documento`. */
  path: string;
  /** The endpoint's address in the WSDL; empty: from the request's Host. */
  publicUrl: string;
  /** Larger documents go as MTOM attachments even when the caller did not ask. */
  inlineMaxBytes: number;
  /** Larger request bodies get a SOAP Fault (413). */
  bodyLimitBytes: number;
  auth: CallerAuth;
  /** identificativoRepository of every document (the bridge's Retrieve Location UID). */
  repositoryId: string;
  errorCodes: Readonly<Record<ErrorKind, string>>;
}

export function soapRoutes(
  app: FastifyInstance,
  deps: {
    service: OnDemandService;
    /** Reports, for obscuration changes. */
    reports: Pick<ReportStore, 'get' | 'changeObscuration'>;
    /** The audit, for requests refused before they reach the service. */
    audit: Pick<OnDemandStore, 'audit'>;
    log: Logger;
  },
  options: SoapRouteOptions,
): void {
  soapEndpoint(
    app,
    deps,
    { ...options, basic: 'required', realm: 'recupero-documento' },
    {
      contract: (query, location) => ('xsd' in query ? XSD : wsdl(location)),
      post: async (request, reply, xml, context) => {
        const parsed = parseSoapRequest(xml);
        context.reached();
        if (parsed.kind === 'variazione') return sendVariazione(reply, parsed.request);
        const answer = await deps.service.answer(parsed.request);
        return send(reply, parsed.request.soapVersion, answer, wantsMtom(request));
      },
    },
  );

  /** Record an obscuration change; an unknown document is a failure, not a fault. */
  async function sendVariazione(reply: FastifyReply, notice: ObscurationNotice): Promise<void> {
    const { state } = changeObscuration(deps, {
      ...notice,
      eventCode: notice.codiceEvento,
      source: notice.sorgente,
    });
    const body = state
      ? variazioneEnvelope(notice.soapVersion, {
          esito: 'SUCCESSO',
          oscuramentiInVigore: state.obscuration,
        })
      : variazioneEnvelope(notice.soapVersion, {
          esito: 'FALLIMENTO',
          errori: [externalError(options.errorCodes, 'document-unknown')],
        });
    return reply.header('content-type', soapContentType(notice.soapVersion)).send(body);
  }

  async function send(
    reply: FastifyReply,
    version: SoapVersion,
    answer: OnDemandAnswer,
    mtom: boolean,
  ): Promise<void> {
    if (answer.kind !== 'document') {
      const fields: ResponseFields =
        answer.kind === 'in-progress'
          ? {
              esito: 'SUCCESSO',
              stato: 'ELAB_IN_CORSO',
              tempoAttesaSuggeritoMs: answer.retryAfterMs,
            }
          : {
              esito: 'FALLIMENTO',
              errori: answer.errors,
              ...(answer.retryAfterMs !== undefined
                ? { tempoAttesaSuggeritoMs: answer.retryAfterMs }
                : {}),
            };
      const retryAfter = 'retryAfterMs' in answer ? answer.retryAfterMs : undefined;
      if (retryAfter !== undefined) void reply.header('retry-after', Math.ceil(retryAfter / 1000));
      return reply
        .header('content-type', soapContentType(version))
        .send(responseEnvelope(version, fields));
    }
    const fields: ResponseFields = {
      esito: 'SUCCESSO',
      stato: 'DISPONIBILE',
      tipoMime: answer.document.mimeType,
      identificativoDocumento: answer.document.documentId,
      identificativoRepository: options.repositoryId,
    };
    return sendDocument(reply, deps, version, answer, {
      slot: recuperoSlot(fields),
      mtom,
      inlineMaxBytes: options.inlineMaxBytes,
      unreadable: () =>
        responseEnvelope(version, {
          esito: 'FALLIMENTO',
          errori: [externalError(options.errorCodes, 'internal-error')],
        }),
    });
  }
}
