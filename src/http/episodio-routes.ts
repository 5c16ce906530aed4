/**
 * The SOAP adapter of on-demand retrieval in the Region's vocabulary: GetDocumento of
 * CLEpisodioService, as the regional FSE back-end calls a local component. It maps the request
 * onto the same retrieval service as RecuperoDocumento (the report is metadatiDocumento's
 * componenteLocale and idDocumento), and the service's answer onto GetDocumentoResponse: the
 * document (the KOS manifest, or the PDI ZIP when tipoFileDocumento asks for it) with the
 * report's linked series, `esito` and `errori`, and in componenteLocaleRisposta whether to ask
 * again. Callers authenticate with WS-Security (a UsernameToken, text or digest) or HTTP Basic.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { externalError, type ErrorKind, type ExternalError } from '../fse/error-catalogue.js';
import { reportKey } from '../fse/report.js';
import type { ReportState } from '../fse/report-state.js';
import type { ReportStore } from '../fse/report-store.js';
import type { StudyIndex } from '../index/study-index.js';
import type { OnDemandAnswer, OnDemandService } from '../ondemand/on-demand-service.js';
import type { OnDemandStore } from '../ondemand/on-demand-store.js';
import { episodioWsdl, episodioXsd } from '../soap/episodio-contract.js';
import type { SchemaPrefix } from '../soap/episodio-model.js';
import {
  onDemandRequestOf,
  parseGetDocumento,
  readableRequest,
  type GetDocumentoRequest,
} from '../soap/episodio-request.js';
import {
  getDocumentoResponse,
  hasSlot,
  type GetDocumentoResult,
  type LinkImmagine,
} from '../soap/episodio-response.js';
import { NOT_TEXT, SoapFaultError, type OnDemandRequest } from '../soap/request.js';
import { soapContentType, soapEnvelope, type SoapVersion } from '../soap/response.js';
import { NonceCache, processSecurity, type SecurityResult } from '../soap/ws-security.js';
import { sendDocument } from './soap-delivery.js';
import {
  authenticationRequired,
  soapEndpoint,
  wantsMtom,
  type CallerAuth,
} from './soap-endpoint.js';
import { refusalAuditor } from './soap-refusals.js';

export interface EpisodioRouteOptions {
  /** Path of the endpoint, e.g. `/ws/CLEpisodioService`. */
  path: string;
  /** The endpoint's address in the WSDL; empty: from the request's Host. */
  publicUrl: string;
  inlineMaxBytes: number;
  bodyLimitBytes: number;
  /** The credentials, of HTTP Basic and of WS-Security UsernameTokens alike. */
  auth: CallerAuth;
  errorCodes: Readonly<Record<ErrorKind, string>>;
  /** tipoFileDocumento codes (upper case) that ask for the PDI ZIP. */
  pdiFileTypes: ReadonlySet<string>;
  clockSkewMs: number;
  maxMessageAgeMs: number;
}

const REALM = 'CLEpisodioService';
const SCHEMAS: readonly SchemaPrefix[] = ['es', 'dma', 'lbl'];
const MAX_ECHOED = 256;

/** The states of componenteLocaleRisposta/stato. */
const STATES = {
  available: { codice: 'DISPONIBILE', descrizione: 'Documento disponibile' },
  inProgress: {
    codice: 'ELAB_IN_CORSO',
    descrizione: 'Elaborazione in corso, richiedere di nuovo più tardi',
  },
  busy: { codice: 'OCCUPATO', descrizione: 'Servizio occupato, richiedere di nuovo più tardi' },
} satisfies Record<string, ExternalError>;

/** A value of the request sent back as it came, when it is text of a sane length. */
function echoed(value: string | undefined): string | undefined {
  return value !== undefined && value.length <= MAX_ECHOED && !NOT_TEXT.test(value)
    ? value
    : undefined;
}

/** Each series of the report's linked studies, with its accession number and instance count. */
function linkedSeries(
  report: ReportState | undefined,
  index: Pick<StudyIndex, 'listSeries'>,
): LinkImmagine[] {
  return (report?.accessions ?? []).flatMap((accession) =>
    accession.studies.flatMap((study) =>
      index.listSeries(study.studyInstanceUid).map((series) => ({
        accessionNumber: accession.accessionNumber,
        study: study.studyInstanceUid,
        series: series.seriesUid,
        instances: series.instanceCount,
      })),
    ),
  );
}

export function episodioRoutes(
  app: FastifyInstance,
  deps: {
    service: OnDemandService;
    /** Reports, for the linked series of a document. */
    reports: Pick<ReportStore, 'get'>;
    index: Pick<StudyIndex, 'listSeries'>;
    /** The audit, for requests refused before they reach the service. */
    audit: Pick<OnDemandStore, 'audit'>;
    log: Logger;
    /** The clock WS-Security freshness is judged by (ms). */
    now?: () => number;
  },
  options: EpisodioRouteOptions,
): void {
  const now = deps.now ?? Date.now;
  const auditRefusal = refusalAuditor(deps);
  const nonces = new NonceCache();
  const { auth, pdiFileTypes } = options;
  const policy = {
    credentials:
      auth.kind === 'basic' ? { username: auth.username, password: auth.password } : undefined,
    clockSkewMs: options.clockSkewMs,
    maxAgeMs: options.maxMessageAgeMs,
  };
  const endpointName = options.path.slice(options.path.lastIndexOf('/') + 1);

  soapEndpoint(
    app,
    deps,
    { ...options, basic: 'when-given', realm: REALM },
    {
      contract: (query, location) => {
        if (!('xsd' in query)) return episodioWsdl(location);
        const prefix = (query.xsd === '' ? 'es' : query.xsd) as SchemaPrefix;
        return SCHEMAS.includes(prefix) ? episodioXsd(prefix, endpointName) : undefined;
      },
      post: async (request, reply, xml, context) => {
        let security: SecurityResult = { username: undefined, authenticated: false };
        const parsed = parseGetDocumento(
          xml,
          (version, header) => {
            security = processSecurity(version, header, policy, nonces, now());
            if (auth.kind === 'basic' && !context.httpAuthenticated && !security.authenticated)
              throw authenticationRequired(reply, REALM);
          },
          pdiFileTypes,
        );
        const converted = onDemandRequestOf(parsed, pdiFileTypes);
        if ('problem' in converted)
          return invalid(request, reply, parsed, converted.problem, security.username);
        context.reached();
        const answer = await deps.service.answer(converted.request);
        return send(request, reply, parsed, converted.request, answer);
      },
    },
  );

  /** An answer without the document's bytes, as a whole envelope. */
  function envelopeOf(version: SoapVersion, result: GetDocumentoResult): string {
    const body = getDocumentoResponse(result);
    return soapEnvelope(version, hasSlot(body) ? `${body.before}${body.after}` : body);
  }

  function respond(reply: FastifyReply, version: SoapVersion, result: GetDocumentoResult): void {
    void reply.header('content-type', soapContentType(version)).send(envelopeOf(version, result));
  }

  /**
   * A request the schema allows but the bridge cannot serve (who asks, the patient or the
   * document missing): audited as refused, answered FALLIMENTO with the invalid-request code.
   */
  function invalid(
    request: FastifyRequest,
    reply: FastifyReply,
    parsed: GetDocumentoRequest,
    problem: string,
    user: string | undefined,
  ): void {
    const refusal = new SoapFaultError('Sender', problem);
    refusal.readable = readableRequest(parsed, pdiFileTypes);
    refusal.user = user;
    auditRefusal(request, refusal);
    respond(reply, parsed.soapVersion, {
      esito: 'FALLIMENTO',
      errori: [externalError(options.errorCodes, 'invalid-request', problem)],
    });
  }

  async function send(
    request: FastifyRequest,
    reply: FastifyReply,
    parsed: GetDocumentoRequest,
    asked: OnDemandRequest,
    answer: OnDemandAnswer,
  ): Promise<void> {
    const { soapVersion: version, codCL } = asked;
    const ids = {
      idDocumento: echoed(parsed.idDocumento),
      idEpisodio: echoed(parsed.idEpisodio),
    };
    const waitSec =
      'retryAfterMs' in answer && answer.retryAfterMs !== undefined
        ? Math.ceil(answer.retryAfterMs / 1000)
        : undefined;
    if (waitSec !== undefined) void reply.header('retry-after', waitSec);
    if (answer.kind === 'in-progress')
      return respond(reply, version, {
        esito: 'SUCCESSO',
        risposta: { codCL, stato: STATES.inProgress, tempoMaxAttesaCLInSec: waitSec ?? 0 },
      });
    if (answer.kind === 'failure') {
      const obscured = answer.errorKind === 'document-obscured';
      return respond(reply, version, {
        esito: 'FALLIMENTO',
        errori: answer.errors,
        ...(obscured && {
          documento: {
            ...ids,
            accessionNumber: undefined,
            idDipartimentale: undefined,
            withBytes: false,
            linkImmagini: [],
            oscurato: 'SI',
          },
        }),
        ...(waitSec !== undefined && {
          risposta: { codCL, stato: STATES.busy, tempoMaxAttesaCLInSec: waitSec },
        }),
      });
    }
    const report = deps.reports.get(reportKey(asked));
    const slot = getDocumentoResponse({
      esito: 'SUCCESSO',
      documento: {
        ...ids,
        accessionNumber: asked.accessionNumber ?? report?.accessions[0]?.accessionNumber,
        idDipartimentale: report?.codDocumentoDipartimentale,
        withBytes: true,
        linkImmagini: linkedSeries(report, deps.index),
        oscurato: 'NO',
      },
      risposta: { codCL, stato: STATES.available, tempoMaxAttesaCLInSec: 0 },
    });
    if (!hasSlot(slot)) throw new Error('a GetDocumento answer without a place for its document');
    return sendDocument(reply, deps, version, answer, {
      slot,
      mtom: wantsMtom(request),
      inlineMaxBytes: options.inlineMaxBytes,
      unreadable: () =>
        envelopeOf(version, {
          esito: 'FALLIMENTO',
          errori: [externalError(options.errorCodes, 'internal-error')],
        }),
    });
  }
}
