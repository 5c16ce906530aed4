/**
 * The types of CLEpisodioService's GetDocumento, as the Region's client classes define them:
 * names, namespaces, element order (propOrder), optionality. The operation's wrappers live in
 * the EpisodioService namespace, the data types in http://dma.csi.it/; both schemas qualify their
 * local elements, so an element is in the namespace of the type that declares it (a base type's
 * elements, which come first, in the base type's). The XML Schema the endpoint serves
 * (episodio-contract.ts) and the check of requests (schema-check.ts) are both made from this.
 */

/** The schemas, by the prefix the bridge gives them. */
export type SchemaPrefix = 'es' | 'dma' | 'lbl';

/** One element of a sequence. */
export interface Particle {
  name: string;
  /** A qualified type: `xs:string`, `dma:codifica`, `lbl:pagatoTicketStato`... */
  type: string;
  /** Required (minOccurs 1); optional unless said. */
  required?: boolean;
  /** maxOccurs unbounded. */
  many?: boolean;
  nillable?: boolean;
  /** A reference to the global element of this name (same namespace), not a local element. */
  ref?: boolean;
}

export interface ComplexType {
  schema: SchemaPrefix;
  name: string;
  /** The type it extends (its elements come first). */
  base?: string;
  sequence: readonly Particle[];
  /** A global element with this type declared inline (a root element of the operation). */
  rootElement?: boolean;
}

export interface SimpleType {
  schema: SchemaPrefix;
  name: string;
  /** xs:string restricted to these values. */
  enumeration: readonly string[];
}

const optional = (name: string, type: string): Particle => ({ name, type });
const list = (name: string, type: string): Particle => ({
  name,
  type,
  many: true,
  nillable: true,
});
const strings = (...names: string[]): Particle[] => names.map((n) => optional(n, 'xs:string'));

export const SIMPLE_TYPES: readonly SimpleType[] = [
  { schema: 'dma', name: 'siNo', enumeration: ['SI', 'NO'] },
  { schema: 'dma', name: 'risultatoCodice', enumeration: ['SUCCESSO', 'FALLIMENTO'] },
  { schema: 'dma', name: 'sesso', enumeration: ['M', 'F'] },
  { schema: 'lbl', name: 'pagatoTicketStato', enumeration: ['P', 'S', 'N', 'E', 'U'] },
];

/** Types that add nothing to `codifica` (codice, descrizione, riferimento). */
const CODIFICHE = [
  'errore',
  'applicazioneRichiedente',
  'regimeDMA',
  'aziendaSanitaria',
  'profilo',
  'comuneDiNascita',
  'statoDiNascita',
  'componenteLocaleTipo',
  'componenteLocaleRispostaStato',
  'strutturaSanitaria',
  'unitaOperativaSanitaria',
  'branca',
  'tipoDocumento',
  'assettoOrganizzativo',
  'tipoFileDocumento',
  'consensoMatriceTipoDato',
  'modalitaDiAlimentazione',
];

const DMA_TYPES: ComplexType[] = [
  { schema: 'dma', name: 'codifica', sequence: strings('codice', 'descrizione', 'riferimento') },
  ...CODIFICHE.map((name) => ({
    schema: 'dma' as const,
    name,
    base: 'dma:codifica',
    sequence: [],
  })),
  {
    schema: 'dma',
    name: 'ruoloDMA',
    base: 'dma:codifica',
    sequence: [
      optional('aziendaSanitaria', 'dma:aziendaSanitaria'),
      optional('profilo', 'dma:profilo'),
      optional('flagVisibilePerConsenso', 'xs:string'),
    ],
  },
  {
    schema: 'dma',
    name: 'richiedente',
    sequence: [
      optional('applicazione', 'dma:applicazioneRichiedente'),
      ...strings('codiceFiscale', 'numeroTransazione'),
      optional('regime', 'dma:regimeDMA'),
      optional('ruolo', 'dma:ruoloDMA'),
      optional('tokenOperazione', 'xs:string'),
    ],
  },
  {
    schema: 'dma',
    name: 'consensoMatriceRuolo',
    sequence: [
      optional('consultazione', 'dma:siNo'),
      optional('dataDiAggiornamento', 'xs:dateTime'),
      optional('ruoloDMA', 'dma:ruoloDMA'),
    ],
  },
  {
    schema: 'dma',
    name: 'consenso',
    sequence: [
      optional('alimentaFse', 'dma:siNo'),
      optional('consensoAllaCostituzioneDMA', 'dma:siNo'),
      list('consensoMatriceRuoli', 'dma:consensoMatriceRuolo'),
      optional('dataDiAggiornamento', 'xs:dateTime'),
      optional('dataDiValidazione', 'xs:dateTime'),
      optional('derogaEmergenza', 'dma:siNo'),
      { name: 'modalitaDiAlimentazione', type: 'dma:modalitaDiAlimentazione', ref: true },
    ],
  },
  {
    schema: 'dma',
    name: 'paziente',
    sequence: [
      ...strings('codiceFiscale', 'cognome'),
      optional('comuneDiNascita', 'dma:comuneDiNascita'),
      { name: 'consenso', type: 'dma:consenso', ref: true },
      optional('dataDiNascita', 'xs:dateTime'),
      optional('idAura', 'xs:long'),
      optional('idIrec', 'xs:long'),
      optional('mailPerAccessoDMA', 'dma:siNo'),
      optional('nome', 'xs:string'),
      optional('sesso', 'dma:sesso'),
      optional('statoDiNascita', 'dma:statoDiNascita'),
    ],
  },
  {
    schema: 'dma',
    name: 'luogoASU',
    sequence: [
      optional('azienda', 'dma:aziendaSanitaria'),
      optional('struttura', 'dma:strutturaSanitaria'),
      optional('unitaOperativa', 'dma:unitaOperativaSanitaria'),
    ],
  },
  {
    schema: 'dma',
    name: 'oscuramento',
    sequence: [
      ...strings('id1', 'id2', 'id3', 'id4', 'id5'),
      optional('oscurato', 'dma:siNo'),
      optional('tipoDiDato', 'dma:consensoMatriceTipoDato'),
      optional('valoreCalcolato', 'xs:string'),
    ],
  },
  { schema: 'dma', name: 'valoriPrestazione', sequence: strings('quantita') },
  {
    schema: 'dma',
    name: 'prestazione',
    base: 'dma:codifica',
    sequence: [
      optional('branca', 'dma:branca'),
      optional('dataOra', 'xs:dateTime'),
      optional('idPrestazione', 'xs:long'),
      optional('valoriPrestazione', 'dma:valoriPrestazione'),
    ],
  },
  {
    schema: 'dma',
    name: 'componenteLocaleOperazione',
    base: 'dma:codifica',
    sequence: [optional('TimeoutMaxElaborazione', 'xs:long')],
  },
  {
    schema: 'dma',
    name: 'componenteLocaleServizio',
    base: 'dma:codifica',
    sequence: [
      optional('urlServizio', 'xs:string'),
      list('operazioni', 'dma:componenteLocaleOperazione'),
    ],
  },
  {
    schema: 'dma',
    name: 'componenteLocale',
    base: 'dma:codifica',
    sequence: [
      optional('aziendaSanitaria', 'dma:aziendaSanitaria'),
      optional('componenteLocaleTipo', 'dma:componenteLocaleTipo'),
      list('servizi', 'dma:componenteLocaleServizio'),
      optional('erroreRegistrazioneConsenso', 'dma:siNo'),
    ],
  },
  {
    schema: 'dma',
    name: 'componenteLocaleRisposta',
    base: 'dma:componenteLocale',
    sequence: [
      list('errori', 'dma:errore'),
      optional('stato', 'dma:componenteLocaleRispostaStato'),
      { name: 'tempoMaxAttesaCLInSec', type: 'xs:long', required: true },
      { name: 'tempoMaxRestituzioneDatiInSec', type: 'xs:long', required: true },
    ],
  },
  {
    schema: 'dma',
    name: 'metadatiDocumento',
    sequence: [
      optional('accessionNumber', 'xs:string'),
      optional('assettoOrganizzativo', 'dma:assettoOrganizzativo'),
      optional('componenteLocale', 'dma:componenteLocale'),
      optional('consultabile', 'dma:siNo'),
      ...strings('dataOscuramento', 'dataSbloccoMediato', 'dataValidazione'),
      optional('firmatoDigitalmente', 'dma:siNo'),
      ...strings('idDocumento', 'idEpisodio'),
      optional('luogoProduzioneDocumento', 'dma:luogoASU'),
      ...strings('mediato', 'medicoValidante', 'medicoVisita'),
      list('nreList', 'xs:string'),
      ...strings('oidDocumento', 'oidDocumentoParent', 'oidRepository'),
      optional('oscuramento', 'dma:oscuramento'),
      optional('pagatoTicket', 'lbl:pagatoTicketStato'),
      list('prestazioniAssociate', 'dma:prestazione'),
      optional('rank', 'xs:long'),
      optional('tipoAssociazione', 'xs:string'),
      optional('tipoDocumento', 'dma:tipoDocumento'),
      optional('tipoFileDocumento', 'dma:tipoFileDocumento'),
    ],
  },
  {
    schema: 'dma',
    name: 'linkImmagine',
    sequence: strings('accessionNumber', 'objectNumber', 'series', 'study'),
  },
  { schema: 'dma', name: 'linkImmagineStazioneRefertante', sequence: strings('link') },
  {
    schema: 'dma',
    name: 'documentoDMA',
    sequence: [
      optional('accessionNumber', 'xs:string'),
      optional('documento', 'xs:base64Binary'),
      optional('firmatoDigitalmente', 'dma:siNo'),
      ...strings('idDipartimentale', 'idDocumento', 'idEpisodio'),
      list('linkImmagini', 'dma:linkImmagine'),
      list('linkImmaginiStazioneRefertante', 'dma:linkImmagineStazioneRefertante'),
      optional('oscurato', 'xs:string'),
      list('listaNre', 'xs:string'),
    ],
  },
];

const ES_TYPES: ComplexType[] = [
  { schema: 'es', name: 'Ens_Messagebody', sequence: [] },
  { schema: 'es', name: 'Ens_Request', base: 'es:Ens_Messagebody', sequence: [] },
  { schema: 'es', name: 'Ens_Response', base: 'es:Ens_Messagebody', sequence: [] },
  { schema: 'es', name: 'ArrayOfcodificacodifica', sequence: [list('codifica', 'dma:codifica')] },
  { schema: 'es', name: 'ArrayOferroreerrore', sequence: [list('errore', 'dma:errore')] },
  {
    schema: 'es',
    name: 'GetDocumentoReq',
    base: 'es:Ens_Request',
    sequence: [
      optional('richiedente', 'dma:richiedente'),
      optional('paziente', 'dma:paziente'),
      optional('metadatiDocumento', 'dma:metadatiDocumento'),
      optional('firmatoDigitalmente', 'dma:siNo'),
      optional('criptato', 'dma:siNo'),
      list('storicoPaziente', 'dma:paziente'),
    ],
  },
  {
    schema: 'es',
    name: 'GetDocumentoRes',
    base: 'es:Ens_Response',
    sequence: [
      optional('codifiche', 'es:ArrayOfcodificacodifica'),
      optional('errori', 'es:ArrayOferroreerrore'),
      optional('esito', 'dma:risultatoCodice'),
      optional('documento', 'dma:documentoDMA'),
      optional('componenteLocaleRisposta', 'dma:componenteLocaleRisposta'),
    ],
  },
  {
    schema: 'es',
    name: 'GetDocumento',
    rootElement: true,
    sequence: [optional('requestDc', 'es:GetDocumentoReq')],
  },
  {
    schema: 'es',
    name: 'GetDocumentoResponse',
    rootElement: true,
    sequence: [{ name: 'GetDocumentoResult', type: 'es:GetDocumentoRes', required: true }],
  },
];

export const COMPLEX_TYPES: readonly ComplexType[] = [...DMA_TYPES, ...ES_TYPES];

/** Global elements of the dma schema that particles refer to, with their types. */
export const GLOBAL_ELEMENTS: ReadonlyArray<{ name: string; type: string }> = [
  { name: 'consenso', type: 'dma:consenso' },
  { name: 'modalitaDiAlimentazione', type: 'dma:modalitaDiAlimentazione' },
];

/** A complex type by qualified name (`dma:paziente`), or a root element's type (`es:GetDocumento`). */
export function complexType(qualified: string): ComplexType | undefined {
  const [schema, name] = qualified.split(':');
  return COMPLEX_TYPES.find((t) => t.schema === schema && t.name === name);
}

export function simpleType(qualified: string): SimpleType | undefined {
  const [schema, name] = qualified.split(':');
  return SIMPLE_TYPES.find((t) => t.schema === schema && t.name === name);
}

/** The elements of a type in wire order, base type's first, each with its type's schema. */
export function sequenceOf(type: ComplexType): Array<Particle & { schema: SchemaPrefix }> {
  const base = type.base ? complexType(type.base) : undefined;
  return [
    ...(base ? sequenceOf(base) : []),
    ...type.sequence.map((particle) => ({ ...particle, schema: type.schema })),
  ];
}
