import { request, type IncomingHttpHeaders } from 'node:http';
import soap from 'soap';
import type { TestBridge } from './bridge.js';
import { dcmsend, waitFor } from './tools.js';
import { ON_DEMAND_NS } from '../../src/soap/request.js';
import type { ReportState } from '../../src/fse/report-state.js';

export const PATIENT_CF = 'RSSMRA80A01H501U';
export const CLINICIAN_CF = 'BNCGVN70C10L219X';
export const GUARDIAN_CF = 'VRDLGU65D15L219K';
export const CALLER = { username: 'fse-regione', password: 'segreto-di-prova' };

export interface RequestFields {
  codiceFiscale?: string;
  ruolo?: string;
  codiceFiscaleAssistito?: string;
  codCL?: string;
  codDocumentoDipartimentale: string;
  formato: string;
  tempoMassimoAttesaMs?: number;
}

/** The request as the `soap` client takes it (keys in the schema's order). */
export function requestArgs(fields: RequestFields): Record<string, unknown> {
  return {
    richiedente: {
      codiceFiscale: fields.codiceFiscale ?? CLINICIAN_CF,
      ruolo: fields.ruolo ?? 'MED',
      applicazione: 'FSE-PIEMONTE',
      numeroTransazione: `TX-${Math.random().toString(36).slice(2)}`,
      ip: '10.1.2.3',
    },
    codiceFiscaleAssistito: fields.codiceFiscaleAssistito ?? PATIENT_CF,
    codCL: fields.codCL ?? '010203',
    codDocumentoDipartimentale: fields.codDocumentoDipartimentale,
    formato: fields.formato,
    ...(fields.tempoMassimoAttesaMs ? { tempoMassimoAttesaMs: fields.tempoMassimoAttesaMs } : {}),
  };
}

/** The same request written by hand, for raw HTTP clients. */
export function requestXml(fields: RequestFields, version: '1.1' | '1.2' = '1.2'): string {
  const ns =
    version === '1.2'
      ? 'http://www.w3.org/2003/05/soap-envelope'
      : 'http://schemas.xmlsoap.org/soap/envelope/';
  const args = requestArgs(fields);
  const element = (name: string, value: unknown): string =>
    typeof value === 'object' && value !== null
      ? `<r:${name}>${Object.entries(value)
          .map(([k, v]) => element(k, v))
          .join('')}</r:${name}>`
      : `<r:${name}>${String(value)}</r:${name}>`;
  return `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${ns}" xmlns:r="${ON_DEMAND_NS}"><s:Body><r:RecuperoDocumentoRequest>${Object.entries(
    args,
  )
    .map(([k, v]) => element(k, v))
    .join('')}</r:RecuperoDocumentoRequest></s:Body></s:Envelope>`;
}

export function endpointOf(bridge: TestBridge): string {
  return `http://127.0.0.1:${bridge.app.reporting.httpPort}${bridge.config.onDemand.path}`;
}

export function basicAuth(): string {
  return `Basic ${Buffer.from(`${CALLER.username}:${CALLER.password}`).toString('base64')}`;
}

/** Ask for a document over SOAP 1.2 by plain HTTP; the answer's text (always HTTP 200). */
export async function askText(bridge: TestBridge, fields: RequestFields): Promise<string> {
  const response = await fetch(endpointOf(bridge), {
    method: 'POST',
    headers: { 'content-type': 'application/soap+xml; charset=utf-8', authorization: basicAuth() },
    body: requestXml(fields),
  });
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  return response.text();
}

/** A node-soap client built from the WSDL the bridge serves, authenticated. */
export async function soapClient(
  bridge: TestBridge,
  version: '1.1' | '1.2' = '1.2',
): Promise<soap.Client> {
  const client = await soap.createClientAsync(`${endpointOf(bridge)}?wsdl`, {
    parseReponseAttachments: true,
    forceSoap12Headers: version === '1.2',
    // Clients of one WSDL share its options unless each reads its own copy.
    disableCache: true,
  });
  client.setSecurity(new soap.BasicAuthSecurity(CALLER.username, CALLER.password));
  return client;
}

/** Register a report over the HTTP API and wait until it is linked. */
export async function registerLinked(
  bridge: TestBridge,
  body: Record<string, unknown>,
): Promise<ReportState> {
  const response = await fetch(`http://127.0.0.1:${bridge.app.reporting.httpPort}/api/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status >= 300) throw new Error(`report refused: ${await response.text()}`);
  const key = `${String(body.codCL)}^${String(body.codDocumentoDipartimentale)}`;
  await waitFor(
    () => bridge.app.reporting.reports.get(key)?.status === 'linked',
    60_000,
    `report ${key} linked`,
  );
  return bridge.app.reporting.reports.get(key)!;
}

/**
 * Register a report over the HTTP API and wait until its first linking run has ended, linked
 * or not (a report waiting for images logs so).
 */
export async function registerTried(
  bridge: TestBridge,
  body: Record<string, unknown>,
): Promise<ReportState> {
  const key = `${String(body.codCL)}^${String(body.codDocumentoDipartimentale)}`;
  const runs = (): number => linkingRuns(bridge, key);
  const before = runs();
  const response = await fetch(`http://127.0.0.1:${bridge.app.reporting.httpPort}/api/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status >= 300) throw new Error(`report refused: ${await response.text()}`);
  await waitFor(() => runs() > before, 60_000, `a first linking run of ${key}`);
  return bridge.app.reporting.reports.get(key)!;
}

/** Linking runs of a report that have ended so far, from the log. */
export function linkingRuns(bridge: TestBridge, key: string): number {
  return bridge.logs.filter(
    (l) =>
      l.report === key &&
      (l.msg === 'report waiting for images' || l.msg === 'report linked; manifest stored'),
  ).length;
}

/** Record an obscuration change of report 010203^`document` through the reports API. */
export async function obscure(
  bridge: TestBridge,
  document: string,
  eventCode: string,
): Promise<void> {
  const response = await fetch(
    `http://127.0.0.1:${bridge.app.reporting.httpPort}/api/reports/010203/${document}/obscuration`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ eventCode, source: 'FSE' }),
    },
  );
  if (response.status >= 300) throw new Error(`obscuration refused: ${await response.text()}`);
}

/** Push files to the bridge with DCMTK dcmsend; throws when it fails. */
export async function push(bridge: TestBridge, files: string[]): Promise<void> {
  const sent = await dcmsend(bridge.port, files);
  if (sent.code !== 0) throw new Error(`dcmsend failed: ${sent.stderr}`);
}

/** A response as node-soap reads it. */
export interface Answer {
  esito: string;
  oscuramentiInVigore?: string;
  stato?: string;
  tempoAttesaSuggeritoMs?: string;
  errori?: Array<{ codice: string; descrizione: string }>;
  tipoMime?: string;
  identificativoDocumento?: string;
  identificativoRepository?: string;
  documento?: unknown;
}

export interface Attachments {
  parts: Array<{ body: Buffer; headers: Record<string, string> }>;
}

type Operation = (
  args: Record<string, unknown>,
  callback: (
    error: Error | null,
    answer: Answer,
    raw: unknown,
    header: unknown,
    xml: unknown,
    attachments: Attachments | undefined,
  ) => void,
  options: Record<string, unknown>,
) => void;

/** Call `operation` on the WSDL port of `version` (node-soap's top level picks one port). */
export function callOperation(
  client: soap.Client,
  version: '1.1' | '1.2',
  operation: 'RecuperoDocumento' | 'NotificaVariazioneMetadati',
  args: Record<string, unknown>,
  options: Record<string, unknown> = {},
): Promise<{ answer: Answer; attachments: Attachments | undefined }> {
  const port = version === '1.2' ? 'RecuperoDocumentoSoap12' : 'RecuperoDocumentoSoap11';
  const service = (client as unknown as Record<string, Record<string, Record<string, Operation>>>)
    .RecuperoDocumentoService!;
  return new Promise((resolve, reject) => {
    service[port]![operation]!(
      args,
      (error, answer, _raw, _header, _xml, attachments) =>
        error ? reject(error) : resolve({ answer, attachments }),
      options,
    );
  });
}

/** Ask for a document on the WSDL port of `version`. */
export function callPort(
  client: soap.Client,
  version: '1.1' | '1.2',
  fields: RequestFields,
  options: Record<string, unknown> = {},
): Promise<{ answer: Answer; attachments: Attachments | undefined }> {
  return callOperation(client, version, 'RecuperoDocumento', requestArgs(fields), options);
}

/** The sample MR study's report (accession 2 of patient 98890234), registered and linked. */
export function registerMrReport(bridge: TestBridge, document: string): Promise<ReportState> {
  return registerLinked(bridge, {
    codCL: '010203',
    codDocumentoDipartimentale: document,
    patientId: '98890234',
    codiceFiscale: PATIENT_CF,
    accessionNumbers: [{ accessionNumber: '2' }],
  });
}

/** An answer read as it streams in: only its first bytes are kept. */
export interface StreamedAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** Bytes received. */
  bytes: number;
  /** The first 4 KB, as latin1 text (the envelope, or the root part of MTOM). */
  head: string;
  ms: number;
}

/** One HTTP exchange whose answer is read to its end and dropped, whatever its size. */
export function streamExchange(
  url: URL,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  body?: string,
): Promise<StreamedAnswer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let bytes = 0;
      let head = '';
      res.on('data', (chunk: Buffer) => {
        if (head.length < 4096) head += chunk.subarray(0, 4096).toString('latin1');
        bytes += chunk.length;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          bytes,
          head,
          ms: performance.now() - started,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
