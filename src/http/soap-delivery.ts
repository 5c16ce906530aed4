/**
 * Sending a document the retrieval service answered with: its bytes read from object storage,
 * inline base64 or as an MTOM attachment, streamed with an exact length; the bytes that went out
 * counted, and the audit told how the transfer ended.
 */
import { pipeline, Transform } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { OnDemandAnswer, OnDemandService } from '../ondemand/on-demand-service.js';
import {
  inlineBody,
  mtomBody,
  soapContentType,
  type DocumentSlot,
  type SoapVersion,
} from '../soap/response.js';

export interface DeliveryOptions {
  /** The answer around the document. */
  slot: DocumentSlot;
  /** Send it as MTOM whatever its size (the caller sent MTOM or accepts multipart). */
  mtom: boolean;
  /** Larger documents go as MTOM attachments even when the caller did not ask. */
  inlineMaxBytes: number;
  /** The whole envelope answered when the document cannot be read. */
  unreadable: () => string;
}

export async function sendDocument(
  reply: FastifyReply,
  deps: { service: Pick<OnDemandService, 'open' | 'delivered'>; log: Logger },
  version: SoapVersion,
  answer: Extract<OnDemandAnswer, { kind: 'document' }>,
  options: DeliveryOptions,
): Promise<void> {
  const { document } = answer;
  let stream;
  try {
    stream = await deps.service.open(document);
  } catch (error) {
    deps.log.error({ err: error, key: document.storageKey }, 'document cannot be read');
    return reply.header('content-type', soapContentType(version)).send(options.unreadable());
  }
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
    options.mtom || document.bytes > options.inlineMaxBytes
      ? mtomBody(version, options.slot, { ...document, stream: counted })
      : inlineBody(version, options.slot, { ...document, stream: counted });
  return reply
    .header('content-type', body.contentType)
    .header('content-length', body.contentLength)
    .send(body.stream);
}
