/**
 * The WSDL and the XML Schemas of CLEpisodioService's GetDocumento, written from the type model
 * (episodio-model.ts): three schemas (the operation's wrappers, the data types, one enumeration),
 * served apart at `?xsd=es|dma|lbl` and together in the WSDL, which has a SOAP 1.1 and a SOAP 1.2
 * binding of the one operation.
 */
import {
  COMPLEX_TYPES,
  GLOBAL_ELEMENTS,
  SIMPLE_TYPES,
  type ComplexType,
  type Particle,
  type SchemaPrefix,
} from './episodio-model.js';
import { DMA_NS, DMACLBL_NS, EPISODIO_NS } from './namespaces.js';
import { escapeXml } from './response.js';

/** The SOAP action the Region's client sends (not required: the Body says what is asked). */
export const GET_DOCUMENTO_ACTION = `${EPISODIO_NS}/DMACL.WS.EpisodioService.GetDocumento`;
/** The WS-Addressing action of the answer. */
const GET_DOCUMENTO_RESPONSE_ACTION = `${EPISODIO_NS}/EpisodioServiceSoap/GetDocumentoResponse`;

export const SCHEMA_NS: Readonly<Record<SchemaPrefix, string>> = {
  es: EPISODIO_NS,
  dma: DMA_NS,
  lbl: DMACLBL_NS,
};

/** What each schema imports. */
const IMPORTS: Readonly<Record<SchemaPrefix, readonly SchemaPrefix[]>> = {
  es: ['dma'],
  dma: ['lbl'],
  lbl: [],
};

function particle(p: Particle): string {
  const occurs = `${p.required ? '' : ' minOccurs="0"'}${p.many ? ' maxOccurs="unbounded"' : ''}${
    p.nillable ? ' nillable="true"' : ''
  }`;
  return p.ref
    ? `<xs:element ref="${p.type}"${occurs}/>`
    : `<xs:element name="${p.name}" type="${p.type}"${occurs}/>`;
}

function complexTypeXml(type: ComplexType): string {
  const sequence =
    type.sequence.length === 0
      ? ''
      : `<xs:sequence>${type.sequence.map((p) => `\n      ${particle(p)}`).join('')}\n    </xs:sequence>`;
  if (type.rootElement)
    return `  <xs:element name="${type.name}">\n    <xs:complexType>${sequence}</xs:complexType>\n  </xs:element>`;
  const content = type.base
    ? `<xs:complexContent><xs:extension base="${type.base}">${sequence}</xs:extension></xs:complexContent>`
    : sequence;
  return `  <xs:complexType name="${type.name}">${content}</xs:complexType>`;
}

/**
 * One schema. `locations` gives each import's schemaLocation (the standalone schemas); without
 * it imports name only their namespace (the WSDL, which holds all three).
 */
function schemaXml(prefix: SchemaPrefix, locations?: (imported: SchemaPrefix) => string): string {
  const imports = IMPORTS[prefix].map((imported) => {
    const location = locations ? ` schemaLocation="${escapeXml(locations(imported))}"` : '';
    return `  <xs:import namespace="${SCHEMA_NS[imported]}"${location}/>\n`;
  });
  const simple = SIMPLE_TYPES.filter((t) => t.schema === prefix).map(
    (t) =>
      `  <xs:simpleType name="${t.name}"><xs:restriction base="xs:string">${t.enumeration
        .map((value) => `<xs:enumeration value="${value}"/>`)
        .join('')}</xs:restriction></xs:simpleType>\n`,
  );
  const globals =
    prefix === 'dma'
      ? GLOBAL_ELEMENTS.map((e) => `  <xs:element name="${e.name}" type="${e.type}"/>\n`)
      : [];
  const complex = COMPLEX_TYPES.filter((t) => t.schema === prefix).map(
    (t) => `${complexTypeXml(t)}\n`,
  );
  const qualified = prefix === 'lbl' ? '' : ' elementFormDefault="qualified"';
  const bindings = (Object.keys(SCHEMA_NS) as SchemaPrefix[])
    .map((p) => ` xmlns:${p}="${SCHEMA_NS[p]}"`)
    .join('');
  return `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"${bindings} targetNamespace="${SCHEMA_NS[prefix]}"${qualified}>
${[...imports, ...simple, ...globals, ...complex].join('')}</xs:schema>`;
}

/** A standalone schema, its imports located at `?xsd=<prefix>` of the endpoint's last segment. */
export function episodioXsd(prefix: SchemaPrefix, endpointName: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${schemaXml(prefix, (imported) => `${endpointName}?xsd=${imported}`)}\n`;
}

/** The WSDL 1.1 document of CLEpisodioService, its ports at `location`. */
export function episodioWsdl(location: string): string {
  const escaped = escapeXml(location);
  const scheme = location.startsWith('https:') ? 'Https' : 'Http';
  const binding = (version: '11' | '12', prefix: string): string => `
  <wsdl:binding name="CLEpisodioServiceSoap${version}Binding" type="es:CLEpisodioServicePortType">
    <${prefix}:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="GetDocumento">
      <${prefix}:operation soapAction="${GET_DOCUMENTO_ACTION}" style="document"/>
      <wsdl:input><${prefix}:body use="literal"/></wsdl:input>
      <wsdl:output><${prefix}:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>`;
  const port = (version: '11' | '12', prefix: string): string => `
    <wsdl:port name="CLEpisodioService${scheme}Soap${version}Endpoint" binding="es:CLEpisodioServiceSoap${version}Binding">
      <${prefix}:address location="${escaped}"/>
    </wsdl:port>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
  xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
  xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"
  xmlns:wsaw="http://www.w3.org/2006/05/addressing/wsdl"
  xmlns:es="${EPISODIO_NS}" targetNamespace="${EPISODIO_NS}" name="CLEpisodioService">
  <wsdl:types>
${(['lbl', 'dma', 'es'] as const).map((prefix) => schemaXml(prefix)).join('\n')}
  </wsdl:types>
  <wsdl:message name="GetDocumentoSoapIn">
    <wsdl:part name="parameters" element="es:GetDocumento"/>
  </wsdl:message>
  <wsdl:message name="GetDocumentoSoapOut">
    <wsdl:part name="parameters" element="es:GetDocumentoResponse"/>
  </wsdl:message>
  <wsdl:portType name="CLEpisodioServicePortType">
    <wsdl:operation name="GetDocumento">
      <wsdl:input message="es:GetDocumentoSoapIn" wsaw:Action="${GET_DOCUMENTO_ACTION}"/>
      <wsdl:output message="es:GetDocumentoSoapOut" wsaw:Action="${GET_DOCUMENTO_RESPONSE_ACTION}"/>
    </wsdl:operation>
  </wsdl:portType>${binding('12', 'soap12')}${binding('11', 'soap')}
  <wsdl:service name="CLEpisodioService">${port('12', 'soap12')}${port('11', 'soap')}
  </wsdl:service>
</wsdl:definitions>
`;
}
