/**
 * GetDocumento requests of CLEpisodioService, as the Region's client sends them: the envelope
 * and its header blocks (WS-Security's understood, `authenticate` processes it), the request
 * checked against the schema, then read into the bridge's on-demand request. The schema makes
 * every element optional; the few the bridge cannot do without (who asks, the patient, the
 * document) are asked for here, and their absence is an invalid request, not a fault.
 */
import { bodyOf, openEnvelope } from './envelope.js';
import { UNDERSTOOD_HEADERS } from './header-blocks.js';
import { DMA_NS, EPISODIO_NS } from './namespaces.js';
import {
  CODICE_FISCALE,
  LENGTHS,
  NOT_TEXT,
  readable,
  type Formato,
  type OnDemandRequest,
  type ReadableFields,
} from './request.js';
import { checkRoot } from './schema-check.js';
import {
  DEFAULT_LIMITS,
  parseTree,
  SoapFaultError,
  type ParseLimits,
  type XmlNode,
} from './xml-tree.js';

/** What a GetDocumento request says, each value as given (trimmed; undefined when absent). */
export interface GetDocumentoRequest {
  soapVersion: '1.1' | '1.2';
  richiedente: {
    codiceFiscale: string | undefined;
    ruolo: string | undefined;
    applicazione: string | undefined;
    /** numeroTransazione, else tokenOperazione. */
    numeroTransazione: string | undefined;
  };
  /** paziente/codiceFiscale. */
  codiceFiscaleAssistito: string | undefined;
  /** storicoPaziente/codiceFiscale, each. */
  codiciFiscaliPrecedenti: string[];
  /** metadatiDocumento/componenteLocale/codice. */
  codCL: string | undefined;
  /** metadatiDocumento/idDocumento. */
  idDocumento: string | undefined;
  idEpisodio: string | undefined;
  accessionNumber: string | undefined;
  /** metadatiDocumento/tipoFileDocumento/codice. */
  tipoFileDocumento: string | undefined;
}

/** The element reached from `node` through `path`, each step `[namespace, local name]`. */
function at(node: XmlNode | undefined, ...path: Array<[string, string]>): XmlNode | undefined {
  let current = node;
  for (const [ns, name] of path)
    current = current?.children.find((child) => child.ns === ns && child.name === name);
  return current;
}

/** The text of a simple element, trimmed; undefined when absent, empty or not simple. */
function textOf(node: XmlNode | undefined): string | undefined {
  const value = node?.children.length === 0 ? node.text.trim() : '';
  return value === '' ? undefined : value;
}

const ES = (name: string): [string, string] => [EPISODIO_NS, name];
const DMA = (name: string): [string, string] => [DMA_NS, name];

/** The values of a GetDocumento element (checked against the schema or not: nothing throws). */
function valuesOf(soapVersion: '1.1' | '1.2', payload: XmlNode | undefined): GetDocumentoRequest {
  const request = at(payload, ES('requestDc'));
  const requester = at(request, ES('richiedente'));
  const metadata = at(request, ES('metadatiDocumento'));
  const storico = request?.children.filter(
    (child) => child.ns === EPISODIO_NS && child.name === 'storicoPaziente',
  );
  return {
    soapVersion,
    richiedente: {
      codiceFiscale: textOf(at(requester, DMA('codiceFiscale')))?.toUpperCase(),
      ruolo: textOf(at(requester, DMA('ruolo'), DMA('codice'))),
      applicazione: textOf(at(requester, DMA('applicazione'), DMA('codice'))),
      numeroTransazione:
        textOf(at(requester, DMA('numeroTransazione'))) ??
        textOf(at(requester, DMA('tokenOperazione'))),
    },
    codiceFiscaleAssistito: textOf(
      at(request, ES('paziente'), DMA('codiceFiscale')),
    )?.toUpperCase(),
    codiciFiscaliPrecedenti: (storico ?? [])
      .map((patient) => textOf(at(patient, DMA('codiceFiscale')))?.toUpperCase())
      .filter((cf): cf is string => cf !== undefined),
    codCL: textOf(at(metadata, DMA('componenteLocale'), DMA('codice'))),
    idDocumento: textOf(at(metadata, DMA('idDocumento'))),
    idEpisodio: textOf(at(metadata, DMA('idEpisodio'))),
    accessionNumber: textOf(at(metadata, DMA('accessionNumber'))),
    tipoFileDocumento: textOf(at(metadata, DMA('tipoFileDocumento'), DMA('codice'))),
  };
}

/** The format a request asks for: the PDI ZIP when its tipoFileDocumento is one of `pdiTypes`. */
export function formatoOf(
  tipoFileDocumento: string | undefined,
  pdiTypes: ReadonlySet<string>,
): Formato {
  return tipoFileDocumento !== undefined && pdiTypes.has(tipoFileDocumento.toUpperCase())
    ? 'PDI_ZIP'
    : 'KOS';
}

/** Of a request's values, those fit for the audit of its refusal. */
export function readableRequest(
  values: GetDocumentoRequest,
  pdiTypes: ReadonlySet<string>,
): ReadableFields {
  return readable({
    ...values.richiedente,
    codCL: values.codCL,
    codDocumentoDipartimentale: values.idDocumento,
    formato: formatoOf(values.tipoFileDocumento, pdiTypes),
  });
}

/** What can be read of a refused envelope, for its audit. */
function readableOf(envelope: XmlNode, pdiTypes: ReadonlySet<string>): ReadableFields {
  const payload = bodyOf(envelope)?.children[0];
  return payload?.ns === EPISODIO_NS && payload.name === 'GetDocumento'
    ? readableRequest(valuesOf('1.2', payload), pdiTypes)
    : {};
}

/**
 * Parse a GetDocumento envelope: its layout, its header blocks (`authenticate` processes the
 * header; it throws to refuse), its request against the schema. Any refusal is a
 * `SoapFaultError` carrying what could be read of the request.
 */
export function parseGetDocumento(
  xml: string,
  authenticate: (version: '1.1' | '1.2', header: XmlNode | undefined) => void,
  pdiTypes: ReadonlySet<string>,
  limits: ParseLimits = DEFAULT_LIMITS,
): GetDocumentoRequest {
  const envelope = parseTree(xml, limits);
  try {
    const { soapVersion, header, payload } = openEnvelope(envelope, UNDERSTOOD_HEADERS.clEpisodio);
    authenticate(soapVersion, header);
    checkRoot(payload, 'es:GetDocumento');
    return valuesOf(soapVersion, payload);
  } catch (error) {
    if (error instanceof SoapFaultError) error.readable = readableOf(envelope, pdiTypes);
    throw error;
  }
}

/** A value the bridge needs: present, within `max` characters, text. */
function needed(value: string | undefined, element: string, max: number): string {
  if (value === undefined) throw new Error(`manca l'elemento ${element}`);
  return checked(value, element, max)!;
}

function checked(value: string | undefined, element: string, max: number): string | undefined {
  if (value === undefined) return undefined;
  if (value.length > max) throw new Error(`l'elemento ${element} ha più di ${max} caratteri`);
  if (NOT_TEXT.test(value)) throw new Error(`l'elemento ${element} contiene caratteri non validi`);
  return value;
}

function codiceFiscale(value: string | undefined, element: string): string {
  const cf = needed(value, element, LENGTHS.codiceFiscale);
  if (!CODICE_FISCALE.test(cf)) throw new Error(`l'elemento ${element} non è un codice fiscale`);
  return cf;
}

/**
 * The on-demand request a GetDocumento request is, or the reason it cannot be one (a value the
 * bridge needs is missing or unusable).
 */
export function onDemandRequestOf(
  request: GetDocumentoRequest,
  pdiTypes: ReadonlySet<string>,
): { request: OnDemandRequest } | { problem: string } {
  try {
    const { richiedente } = request;
    const codCL = needed(request.codCL, 'metadatiDocumento/componenteLocale/codice', LENGTHS.codCL);
    if (codCL.includes('^'))
      throw new Error(`l'elemento metadatiDocumento/componenteLocale/codice contiene "^"`);
    return {
      request: {
        soapVersion: request.soapVersion,
        richiedente: {
          codiceFiscale: codiceFiscale(richiedente.codiceFiscale, 'richiedente/codiceFiscale'),
          ruolo: checked(richiedente.ruolo, 'richiedente/ruolo/codice', LENGTHS.ruolo) ?? '',
          applicazione:
            checked(
              richiedente.applicazione,
              'richiedente/applicazione/codice',
              LENGTHS.applicazione,
            ) ?? '',
          numeroTransazione:
            checked(
              richiedente.numeroTransazione,
              'richiedente/numeroTransazione',
              LENGTHS.numeroTransazione,
            ) ?? '',
          ip: '',
        },
        codiceFiscaleAssistito: codiceFiscale(
          request.codiceFiscaleAssistito,
          'paziente/codiceFiscale',
        ),
        codiciFiscaliPrecedenti: request.codiciFiscaliPrecedenti,
        codCL,
        codDocumentoDipartimentale: needed(
          request.idDocumento,
          'metadatiDocumento/idDocumento',
          LENGTHS.codDocumentoDipartimentale,
        ),
        idDocumentoIlec: undefined,
        accessionNumber: checked(request.accessionNumber, 'metadatiDocumento/accessionNumber', 64),
        formato: formatoOf(request.tipoFileDocumento, pdiTypes),
        deadlineMs: undefined,
      },
    };
  } catch (error) {
    return { problem: (error as Error).message };
  }
}
