/**
 * GetDocumentoResponse, written from the type model (episodio-model.ts): each element in the
 * namespace of the type that declares it and in its sequence's order, whatever order the values
 * are given in, so the answer is valid against the schema the endpoint serves.
 */
import type { ExternalError } from '../fse/error-catalogue.js';
import { SCHEMA_NS } from './episodio-contract.js';
import { complexType, sequenceOf, type SchemaPrefix } from './episodio-model.js';
import { escapeXml, type DocumentSlot } from './response.js';

/** Where the document's bytes go in an answer that carries them. */
const SLOT = Symbol('documento');

type Value = string | number | typeof SLOT | Values | Value[] | undefined;
interface Values {
  [element: string]: Value;
}

/** One linked series: its study, its accession number and how many instances it holds. */
export interface LinkImmagine {
  accessionNumber: string;
  study: string;
  series: string;
  instances: number;
}

/** The document of an answer (its bytes apart: they are streamed into the slot). */
export interface DocumentoDma {
  accessionNumber: string | undefined;
  /** Whether the bytes follow: false for a document the caller may not see. */
  withBytes: boolean;
  idDipartimentale: string | undefined;
  idDocumento: string | undefined;
  idEpisodio: string | undefined;
  linkImmagini: readonly LinkImmagine[];
  /** SI when the document is obscured for the caller. */
  oscurato: 'SI' | 'NO';
}

/** How the local component stands: the state of the document, and when to ask again. */
export interface ComponenteLocaleRisposta {
  codCL: string | undefined;
  stato: ExternalError;
  /** When to ask again, in seconds (0: no need). */
  tempoMaxAttesaCLInSec: number;
}

export interface GetDocumentoResult {
  esito: 'SUCCESSO' | 'FALLIMENTO';
  errori?: readonly ExternalError[];
  documento?: DocumentoDma;
  risposta?: ComponenteLocaleRisposta;
}

/** `value` as the element `name` of `type`, its children in the type's order. */
function render(schema: SchemaPrefix, name: string, type: string, value: Value): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((item) => render(schema, name, type, item)).join('');
  const tag = `${schema}:${name}`;
  const complex = complexType(type);
  if (!complex) {
    const text = value === SLOT ? '\u0000' : escapeXml(String(value as string | number));
    return `<${tag}>${text}</${tag}>`;
  }
  const values = value as Values;
  const sequence = sequenceOf(complex);
  const unknown = Object.keys(values).find((key) => !sequence.some((p) => p.name === key));
  if (unknown) throw new Error(`${unknown} is not an element of ${type}`);
  const children = sequence.map((p) => render(p.schema, p.name, p.type, values[p.name]));
  return `<${tag}>${children.join('')}</${tag}>`;
}

function documentoValues(documento: DocumentoDma): Values {
  return {
    accessionNumber: documento.accessionNumber,
    documento: documento.withBytes ? SLOT : undefined,
    firmatoDigitalmente: documento.withBytes ? 'NO' : undefined,
    idDipartimentale: documento.idDipartimentale,
    idDocumento: documento.idDocumento,
    idEpisodio: documento.idEpisodio,
    linkImmagini: documento.linkImmagini.map((link) => ({
      accessionNumber: link.accessionNumber,
      objectNumber: link.instances,
      series: link.series,
      study: link.study,
    })),
    oscurato: documento.oscurato,
  };
}

/**
 * The Body content of a GetDocumentoResponse; when the result carries a document with its bytes,
 * split around the place of the bytes (a string otherwise).
 */
export function getDocumentoResponse(result: GetDocumentoResult): DocumentSlot | string {
  const { risposta } = result;
  const xml = render('es', 'GetDocumentoResponse', 'es:GetDocumentoResponse', {
    GetDocumentoResult: {
      errori: result.errori && { errore: result.errori.map((e) => ({ ...e })) },
      esito: result.esito,
      documento: result.documento && documentoValues(result.documento),
      componenteLocaleRisposta: risposta && {
        codice: risposta.codCL,
        stato: { ...risposta.stato },
        tempoMaxAttesaCLInSec: risposta.tempoMaxAttesaCLInSec,
        tempoMaxRestituzioneDatiInSec: 0,
      },
    },
  }).replace(
    '<es:GetDocumentoResponse>',
    `<es:GetDocumentoResponse xmlns:es="${SCHEMA_NS.es}" xmlns:dma="${SCHEMA_NS.dma}">`,
  );
  const [before, after] = xml.split('\u0000');
  return after === undefined ? before! : { before: before!, after };
}

/** Whether the answer of `getDocumentoResponse` has a place for the document's bytes. */
export function hasSlot(body: DocumentSlot | string): body is DocumentSlot {
  return typeof body !== 'string';
}
