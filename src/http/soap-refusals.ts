/**
 * Requests the SOAP endpoint refuses before they reach the retrieval service (credentials,
 * content type, size, charset, XML, header blocks, schema): each is logged, audited in
 * `retrieval_audit` with what can be read of its caller, and answered with its fault.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { reportKey } from '../fse/report.js';
import type { AuditRecord, OnDemandStore } from '../ondemand/on-demand-store.js';
import { MustUnderstandFault } from '../soap/header-blocks.js';
import type { SoapFaultError } from '../soap/request.js';
import { faultEnvelope, faultStatus, soapContentType, type SoapVersion } from '../soap/response.js';
import { basicCredentials } from './authorization.js';

/** Longest HTTP Basic user name and fault text kept in the audit. */
const MAX_AUDITED_USER = 256;
const MAX_AUDITED_REASON = 1024;

/**
 * Answer with `fault`, in the SOAP version of the request (that of its envelope for a
 * MustUnderstand fault, which names the blocks not understood).
 */
export async function sendFault(
  reply: FastifyReply,
  version: SoapVersion,
  fault: SoapFaultError,
): Promise<void> {
  const mustUnderstand = fault instanceof MustUnderstandFault ? fault : undefined;
  const answered = mustUnderstand?.soapVersion ?? version;
  await reply
    .code(fault.httpStatus ?? faultStatus(answered, fault.code))
    .header('content-type', soapContentType(answered))
    .send(
      faultEnvelope(
        answered,
        fault.code,
        fault.message,
        mustUnderstand?.notUnderstood,
        fault.subcode,
      ),
    );
}

/**
 * The audit row of a refused request: the requester's fields, document and format as far as
 * they could be read ('' otherwise), the address it came from, the user name it gave (HTTP Basic,
 * else a WS-Security UsernameToken; the password never), and the fault text it gets.
 */
export function refusalRecord(
  request: FastifyRequest,
  fault: SoapFaultError,
  at: string,
): AuditRecord {
  const fields = fault.readable;
  const { codCL, codDocumentoDipartimentale } = fields;
  const user = basicCredentials(request.headers.authorization)?.[0] ?? fault.user;
  return {
    at,
    requesterCodiceFiscale: fields.codiceFiscale ?? '',
    role: fields.ruolo ?? '',
    application: fields.applicazione ?? '',
    transactionNumber: fields.numeroTransazione ?? '',
    ip: fields.ip ?? '',
    // A codCL holding "^" names no report (see reportKey).
    reportKey:
      codCL !== undefined && codDocumentoDipartimentale !== undefined && !codCL.includes('^')
        ? reportKey({ codCL, codDocumentoDipartimentale })
        : '',
    format: fields.formato ?? '',
    outcome: 'refused',
    errorKind: fault.code === 'Receiver' ? 'internal-error' : 'invalid-request',
    bytes: 0,
    refusal: {
      remoteAddress: request.ip,
      httpUser: user?.slice(0, MAX_AUDITED_USER),
      reason: fault.message.slice(0, MAX_AUDITED_REASON),
    },
  };
}

/** Log and audit requests refused before they reach the service. */
export function refusalAuditor(deps: {
  audit: Pick<OnDemandStore, 'audit'>;
  log: Logger;
}): (request: FastifyRequest, fault: SoapFaultError) => void {
  return (request, fault) => {
    deps.log.info(
      { ip: request.ip, reason: fault.message, detail: fault.detail },
      'on-demand request refused',
    );
    try {
      deps.audit.audit(refusalRecord(request, fault, new Date().toISOString()));
    } catch (error) {
      // The caller still learns why it was refused; the log keeps what the audit could not.
      deps.log.error({ err: error, ip: request.ip }, 'refused on-demand request not audited');
    }
  };
}

/** Log, audit and answer refused requests. */
export function refuser(deps: {
  audit: Pick<OnDemandStore, 'audit'>;
  log: Logger;
}): (
  request: FastifyRequest,
  reply: FastifyReply,
  version: SoapVersion,
  fault: SoapFaultError,
) => Promise<void> {
  const audit = refusalAuditor(deps);
  return async (request, reply, version, fault) => {
    audit(request, fault);
    await sendFault(reply, version, fault);
  };
}
