import { createHash, randomBytes } from 'node:crypto';
import { WSSE_NS, WSU_NS } from '../../src/soap/namespaces.js';
import type { TestBridge } from './bridge.js';
import { CALLER, CLINICIAN_CF, PATIENT_CF } from './on-demand.js';

export { WSSE_NS, WSU_NS };
export const ES_NS = 'http://EpisodioService.WS.DMACL.csi.it';
export const DMA_NS = 'http://dma.csi.it/';
const TOKEN_PROFILE =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0';
/** The SOAP action of GetDocumento, as the Region's client sends it. */
export const GET_DOCUMENTO_ACTION = `${ES_NS}/DMACL.WS.EpisodioService.GetDocumento`;
/** The Content-Type of the Region's client (CXF, SOAP 1.2). */
export const CXF_CONTENT_TYPE = `application/soap+xml; charset=UTF-8; action="${GET_DOCUMENTO_ACTION}"`;

export function episodioEndpoint(bridge: TestBridge): string {
  return `http://127.0.0.1:${bridge.app.reporting.httpPort}${bridge.config.onDemand.getDocumento.path}`;
}

/** A UsernameToken as WSS4J writes one: digest, 16-byte nonce, Created with milliseconds. */
export interface Token {
  username?: string;
  password?: string;
  /** Created of the token and the Timestamp (default: now). */
  created?: Date;
  nonce?: Buffer;
  type?: 'PasswordDigest' | 'PasswordText';
}

/** The wsse:Security header of the Region's client: Timestamp first, then the UsernameToken. */
export function securityHeader(token: Token = {}): string {
  const created = (token.created ?? new Date()).toISOString();
  const expires = new Date(Date.parse(created) + 300_000).toISOString();
  const nonce = token.nonce ?? randomBytes(16);
  const password = token.password ?? CALLER.password;
  const type = token.type ?? 'PasswordDigest';
  const value =
    type === 'PasswordDigest'
      ? createHash('sha1')
          .update(Buffer.concat([nonce, Buffer.from(created), Buffer.from(password)]))
          .digest('base64')
      : password;
  return `<wsse:Security xmlns:wsse="${WSSE_NS}" xmlns:wsu="${WSU_NS}" soap:mustUnderstand="true"><wsu:Timestamp wsu:Id="TS-${randomBytes(4).toString('hex')}"><wsu:Created>${created}</wsu:Created><wsu:Expires>${expires}</wsu:Expires></wsu:Timestamp><wsse:UsernameToken wsu:Id="UsernameToken-${randomBytes(4).toString('hex')}"><wsse:Username>${token.username ?? CALLER.username}</wsse:Username><wsse:Password Type="${TOKEN_PROFILE}#${type}">${value}</wsse:Password><wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${nonce.toString('base64')}</wsse:Nonce><wsu:Created>${created}</wsu:Created></wsse:UsernameToken></wsse:Security>`;
}

export interface GetDocumentoFields {
  idDocumento: string;
  codCL?: string;
  tipoFile?: string;
  richiedente?: string;
  ruolo?: string;
  paziente?: string;
  storico?: string[];
  transaction?: string;
}

/**
 * The GetDocumento element as JAXB writes it for the Region's client (GetDocumentoCL): the data
 * types' namespace as the default one, the wrappers' as ns2, no accessionNumber.
 */
export function getDocumentoElement(fields: GetDocumentoFields): string {
  const transaction = fields.transaction ?? `TX-${randomBytes(6).toString('hex')}`;
  const storico = (fields.storico ?? [])
    .map((cf) => `<ns2:storicoPaziente><codiceFiscale>${cf}</codiceFiscale></ns2:storicoPaziente>`)
    .join('');
  return `<ns2:GetDocumento xmlns="${DMA_NS}" xmlns:ns2="${ES_NS}"><ns2:requestDc><ns2:richiedente><applicazione><codice>WEBAPP_DMA</codice></applicazione><codiceFiscale>${fields.richiedente ?? CLINICIAN_CF}</codiceFiscale><numeroTransazione>${transaction}</numeroTransazione><regime><codice>SSN</codice><descrizione>SSN</descrizione></regime><ruolo><codice>${fields.ruolo ?? 'MRP'}</codice></ruolo><tokenOperazione>${transaction}</tokenOperazione></ns2:richiedente><ns2:paziente><codiceFiscale>${fields.paziente ?? PATIENT_CF}</codiceFiscale><idIrec>1234567</idIrec></ns2:paziente><ns2:metadatiDocumento><componenteLocale><codice>${fields.codCL ?? '010203'}</codice></componenteLocale><consultabile>SI</consultabile><idDocumento>${fields.idDocumento}</idDocumento><idEpisodio>555111</idEpisodio><luogoProduzioneDocumento><azienda><codice>010203</codice></azienda></luogoProduzioneDocumento><tipoDocumento><codice>REFERTO_RIS</codice></tipoDocumento><tipoFileDocumento><codice>${fields.tipoFile ?? 'PDF'}</codice></tipoFileDocumento></ns2:metadatiDocumento><ns2:firmatoDigitalmente>NO</ns2:firmatoDigitalmente><ns2:criptato>NO</ns2:criptato>${storico}</ns2:requestDc></ns2:GetDocumento>`;
}

/** A whole SOAP 1.2 request as CXF sends it for the Region: WS-Security header, then the Body. */
export function cxfEnvelope(fields: GetDocumentoFields, header = securityHeader()): string {
  return `<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Header>${header}</soap:Header><soap:Body>${getDocumentoElement(fields)}</soap:Body></soap:Envelope>`;
}

export async function postEpisodio(
  bridge: TestBridge,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(episodioEndpoint(bridge), {
    method: 'POST',
    headers: { 'content-type': CXF_CONTENT_TYPE, ...headers },
    body,
  });
  return { status: response.status, text: await response.text(), headers: response.headers };
}
