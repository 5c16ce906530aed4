/**
 * The SOAP adapter of on-demand retrieval: the one place that maps HTTP and SOAP to the
 * service and back. GET `?wsdl` / `?xsd` serve the contract; POST takes a SOAP 1.1 or 1.2
 * request (plain or MTOM): RecuperoDocumento, or NotificaVariazioneMetadati (an obscuration
 * change). A SOAP Fault answers only a malformed, schema-invalid or unauthenticated request, or
 * one with a mandatory header block the bridge does not process, each audited as refused
 * (soap-refusals.ts); every other outcome is HTTP 200 with `esito` and `errori[]`.
 */
import { pipeline, Transform } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { OnDemandAnswer, OnDemandService } from '../ondemand/on-demand-service.js';
import type { OnDemandStore } from '../ondemand/on-demand-store.js';
import { externalError, type ErrorKind } from '../fse/error-catalogue.js';
import { wsdl, XSD } from '../soap/contract.js';
import { reportKey } from '../fse/report.js';
import type { ReportStore } from '../fse/report-store.js';
import { contentTypeParams, mtomRootPart } from '../soap/mtom-request.js';
import {
  parseSoapRequest,
  requestText,
  SoapFaultError,
  type ObscurationNotice,
  type SoapRequest,
} from '../soap/request.js';
import {
  inlineDocument,
  mtomDocument,
  responseEnvelope,
  soapContentType,
  type ResponseFields,
  type SoapVersion,
  variazioneEnvelope,
} from '../soap/response.js';
import { sameSecret } from './same-secret.js';
import { basicCredentials, refuser, sendFault } from './soap-refusals.js';

export type CallerAuth = { kind: 'none' } | { kind: 'basic'; username: string; password: string };

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

// Fault texts are Italian, as the callers are (docs/on-demand.md); the log keeps the detail.
const UNSUPPORTED_MEDIA_TYPE =
  'la richiesta deve essere text/xml, application/soap+xml o multipart/related';

/** The SOAP version a request uses, from its Content-Type (1.2 when it cannot be told). */
function versionOf(request: FastifyRequest): SoapVersion {
  const { type, params } = contentTypeParams(request.headers['content-type'] ?? '');
  if (type === 'text/xml') return '1.1';
  if (type === 'multipart/related' && /text\/xml/i.test(params.get('start-info') ?? '')) {
    return '1.1';
  }
  return '1.2';
}

function wantsMtom(request: FastifyRequest): boolean {
  const { type } = contentTypeParams(request.headers['content-type'] ?? '');
  return type === 'multipart/related' || /multipart\/related/i.test(request.headers.accept ?? '');
}

function authenticated(request: FastifyRequest, auth: CallerAuth): boolean {
  if (auth.kind === 'none') return true;
  const given = basicCredentials(request.headers.authorization);
  // Both compared, whatever the first gives, so timing tells nothing about which was wrong.
  const user = sameSecret(given?.[0] ?? '', auth.username);
  const password = sameSecret(given?.[1] ?? '', auth.password);
  return Boolean(given) && user && password;
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
  const refuse = refuser(deps);
  /** Requests that reached the service (or an obscuration change): it audits them itself. */
  const reachedService = new WeakSet<FastifyRequest>();
  void app.register(async (scope) => {
    scope.addContentTypeParser(
      ['text/xml', 'application/soap+xml', 'multipart/related'],
      { parseAs: 'buffer' },
      (_request, body, done) => done(null, body),
    );
    scope.setErrorHandler(async (error: Error & { statusCode?: number }, request, reply) => {
      const status = error.statusCode ?? 500;
      if (status >= 500) {
        deps.log.error({ err: error }, 'on-demand request failed');
        const fault = new SoapFaultError('Receiver', 'errore interno del servizio', status);
        if (request.method !== 'POST' || reachedService.has(request))
          return sendFault(reply, versionOf(request), fault);
        return refuse(request, reply, versionOf(request), fault);
      }
      const reason =
        status === 413
          ? 'il corpo della richiesta supera la dimensione consentita'
          : status === 415
            ? UNSUPPORTED_MEDIA_TYPE
            : 'richiesta HTTP non valida';
      await refuse(
        request,
        reply,
        versionOf(request),
        new SoapFaultError('Sender', reason, status, error.message),
      );
    });
    scope.addHook('onRequest', async (request, reply) => {
      if (request.method !== 'POST' || authenticated(request, options.auth)) return;
      deps.log.warn({ ip: request.ip }, 'on-demand request without valid credentials');
      void reply.header('www-authenticate', 'Basic realm="recupero-documento", charset="UTF-8"');
      await refuse(
        request,
        reply,
        versionOf(request),
        new SoapFaultError('Sender', 'autenticazione richiesta', 401),
      );
    });

    scope.get(options.path, async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      if ('xsd' in query) return reply.header('content-type', 'text/xml; charset=utf-8').send(XSD);
      const host = request.headers.host ?? `${request.hostname}`;
      return reply
        .header('content-type', 'text/xml; charset=utf-8')
        .send(wsdl(options.publicUrl || `${request.protocol}://${host}${options.path}`));
    });

    scope.post(options.path, { bodyLimit: options.bodyLimitBytes }, async (request, reply) => {
      const version = versionOf(request);
      if (!Buffer.isBuffer(request.body))
        return refuse(
          request,
          reply,
          version,
          new SoapFaultError('Sender', UNSUPPORTED_MEDIA_TYPE, 415),
        );
      let parsed: SoapRequest;
      try {
        const contentType = request.headers['content-type']!;
        const xml = wantsMtomBody(request)
          ? mtomRootPart(request.body, contentType)
          : { body: request.body, charset: contentTypeParams(contentType).params.get('charset') };
        parsed = parseSoapRequest(requestText(xml.body, xml.charset));
      } catch (error) {
        if (!(error instanceof SoapFaultError)) throw error;
        return refuse(request, reply, version, error);
      }
      reachedService.add(request);
      if (parsed.kind === 'variazione') return sendVariazione(reply, parsed.request);
      const answer = await deps.service.answer(parsed.request);
      return send(reply, parsed.request.soapVersion, answer, wantsMtom(request));
    });
  });

  /** Record an obscuration change; an unknown document is a failure, not a fault. */
  async function sendVariazione(reply: FastifyReply, notice: ObscurationNotice): Promise<void> {
    const key = reportKey(notice);
    const known = deps.reports.get(key);
    const state =
      known &&
      (notice.idDocumentoIlec === undefined ||
        known.idDocumentoIlec === undefined ||
        known.idDocumentoIlec === notice.idDocumentoIlec)
        ? deps.reports.changeObscuration(
            key,
            { eventCode: notice.codiceEvento, source: notice.sorgente },
            new Date().toISOString(),
          )
        : undefined;
    if (state)
      deps.log.info(
        {
          report: key,
          eventCode: notice.codiceEvento,
          source: notice.sorgente,
          inForce: state.obscuration,
        },
        'obscuration changed',
      );
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

  function wantsMtomBody(request: FastifyRequest): boolean {
    return contentTypeParams(request.headers['content-type'] ?? '').type === 'multipart/related';
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
    const { document } = answer;
    let stream;
    try {
      stream = await deps.service.open(document);
    } catch (error) {
      deps.log.error({ err: error, key: document.storageKey }, 'document cannot be read');
      return reply.header('content-type', soapContentType(version)).send(
        responseEnvelope(version, {
          esito: 'FALLIMENTO',
          errori: [externalError(options.errorCodes, 'internal-error')],
        }),
      );
    }
    const fields: ResponseFields = {
      esito: 'SUCCESSO',
      stato: 'DISPONIBILE',
      tipoMime: document.mimeType,
      identificativoDocumento: document.documentId,
      identificativoRepository: options.repositoryId,
    };
    // The document's bytes are counted as they go out; the audit learns how the transfer ended.
    let sent = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        sent += chunk.length;
        callback(null, chunk);
      },
    });
    pipeline(stream, counted, () => undefined);
    const { auditId } = answer;
    if (auditId !== undefined)
      reply.raw.once('close', () =>
        deps.service.delivered(
          auditId,
          reply.raw.writableFinished && sent === document.bytes ? 'complete' : 'interrupted',
          sent,
        ),
      );
    const body =
      mtom || document.bytes > options.inlineMaxBytes
        ? mtomDocument(version, fields, { ...document, stream: counted })
        : inlineDocument(version, fields, { ...document, stream: counted });
    return reply
      .header('content-type', body.contentType)
      .header('content-length', body.contentLength)
      .send(body.stream);
  }
}
