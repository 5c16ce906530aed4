/**
 * The WSDL and XML Schema of "recupero documento on demand", designed here until the regional
 * specification arrives (docs/on-demand.md). `parseOnDemandRequest` enforces the same rules as
 * the schema; a test validates requests with xmllint against this schema to keep them equal.
 */
import { ON_DEMAND_NS } from './request.js';

/** The operations, each with request and response elements `<name>Request`, `<name>Response`. */
const OPERATIONS = ['RecuperoDocumento', 'NotificaVariazioneMetadati'] as const;

export const soapAction = (operation: (typeof OPERATIONS)[number]): string =>
  `${ON_DEMAND_NS}/${operation}`;

/** A token of 1..`max` characters. */
function text(name: string, max: number): string {
  return `<xs:simpleType name="${name}"><xs:restriction base="xs:token"><xs:minLength value="1"/><xs:maxLength value="${max}"/></xs:restriction></xs:simpleType>`;
}

export const XSD = `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="${ON_DEMAND_NS}"
  targetNamespace="${ON_DEMAND_NS}" elementFormDefault="qualified">
  <xs:simpleType name="CodiceFiscale">
    <xs:restriction base="xs:token"><xs:pattern value="[A-Za-z0-9]{16}"/></xs:restriction>
  </xs:simpleType>
  ${text('Ruolo', 32)}
  ${text('Applicazione', 64)}
  ${text('NumeroTransazione', 128)}
  ${text('Ip', 45)}
  ${text('CodCL', 64)}
  ${text('CodDocumento', 256)}
  ${text('AccessionNumber', 16)}
  <xs:simpleType name="Formato">
    <xs:restriction base="xs:token">
      <xs:enumeration value="PDI_ZIP"/>
      <xs:enumeration value="KOS"/>
      <xs:enumeration value="ANTEPRIMA_JPEG"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="Millisecondi">
    <xs:restriction base="xs:positiveInteger"><xs:maxInclusive value="999999999"/></xs:restriction>
  </xs:simpleType>
  <xs:complexType name="Richiedente">
    <xs:sequence>
      <xs:element name="codiceFiscale" type="tns:CodiceFiscale"/>
      <xs:element name="ruolo" type="tns:Ruolo"/>
      <xs:element name="applicazione" type="tns:Applicazione"/>
      <xs:element name="numeroTransazione" type="tns:NumeroTransazione"/>
      <xs:element name="ip" type="tns:Ip"/>
    </xs:sequence>
  </xs:complexType>
  <xs:element name="RecuperoDocumentoRequest">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="richiedente" type="tns:Richiedente"/>
        <xs:element name="codiceFiscaleAssistito" type="tns:CodiceFiscale"/>
        <xs:element name="codCL" type="tns:CodCL"/>
        <xs:element name="codDocumentoDipartimentale" type="tns:CodDocumento"/>
        <xs:element name="idDocumentoIlec" type="tns:CodDocumento" minOccurs="0"/>
        <xs:element name="accessionNumber" type="tns:AccessionNumber" minOccurs="0"/>
        <xs:element name="formato" type="tns:Formato"/>
        <xs:element name="tempoMassimoAttesaMs" type="tns:Millisecondi" minOccurs="0"/>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
  <xs:simpleType name="CodiceEvento">
    <xs:restriction base="xs:token">
      <xs:enumeration value="P99"/>
      <xs:enumeration value="P97"/>
      <xs:enumeration value="P98"/>
      <xs:enumeration value="P00"/>
    </xs:restriction>
  </xs:simpleType>
  ${text('Sorgente', 64)}
  <xs:element name="NotificaVariazioneMetadatiRequest">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="codCL" type="tns:CodCL"/>
        <xs:element name="codDocumentoDipartimentale" type="tns:CodDocumento"/>
        <xs:element name="idDocumentoIlec" type="tns:CodDocumento" minOccurs="0"/>
        <xs:element name="codiceEvento" type="tns:CodiceEvento"/>
        <xs:element name="sorgente" type="tns:Sorgente"/>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
  <xs:simpleType name="Esito">
    <xs:restriction base="xs:string">
      <xs:enumeration value="SUCCESSO"/>
      <xs:enumeration value="FALLIMENTO"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="Stato">
    <xs:restriction base="xs:string">
      <xs:enumeration value="DISPONIBILE"/>
      <xs:enumeration value="ELAB_IN_CORSO"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:complexType name="Errore">
    <xs:sequence>
      <xs:element name="codice" type="xs:string"/>
      <xs:element name="descrizione" type="xs:string"/>
    </xs:sequence>
  </xs:complexType>
  <xs:element name="RecuperoDocumentoResponse">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="esito" type="tns:Esito"/>
        <xs:element name="stato" type="tns:Stato" minOccurs="0"/>
        <xs:element name="tempoAttesaSuggeritoMs" type="xs:positiveInteger" minOccurs="0"/>
        <xs:element name="errori" type="tns:Errore" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element name="tipoMime" type="xs:string" minOccurs="0"/>
        <xs:element name="identificativoDocumento" type="xs:string" minOccurs="0"/>
        <xs:element name="identificativoRepository" type="xs:string" minOccurs="0"/>
        <xs:element name="documento" type="xs:base64Binary" minOccurs="0"/>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
  <xs:element name="NotificaVariazioneMetadatiResponse">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="esito" type="tns:Esito"/>
        <xs:element name="errori" type="tns:Errore" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element name="oscuramentiInVigore" type="xs:string" minOccurs="0"/>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>
`;

/** The WSDL 1.1 document: one operation, SOAP 1.1 and SOAP 1.2 bindings, served at `location`. */
export function wsdl(location: string): string {
  const schema = XSD.replace(/^<\?xml[^>]*>\s*/, '');
  const binding = (name: string, prefix: string): string => `
  <wsdl:binding name="${name}" type="tns:RecuperoDocumentoPortType">
    <${prefix}:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>${OPERATIONS.map(
      (operation) => `
    <wsdl:operation name="${operation}">
      <${prefix}:operation soapAction="${soapAction(operation)}" style="document"/>
      <wsdl:input><${prefix}:body use="literal"/></wsdl:input>
      <wsdl:output><${prefix}:body use="literal"/></wsdl:output>
    </wsdl:operation>`,
    ).join('')}
  </wsdl:binding>`;
  const escaped = location.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return `<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
  xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
  xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"
  xmlns:tns="${ON_DEMAND_NS}" targetNamespace="${ON_DEMAND_NS}" name="RecuperoDocumentoOnDemand">
  <wsdl:types>
  ${schema}
  </wsdl:types>
${OPERATIONS.map(
  (operation) => `  <wsdl:message name="${operation}Request">
    <wsdl:part name="parameters" element="tns:${operation}Request"/>
  </wsdl:message>
  <wsdl:message name="${operation}Response">
    <wsdl:part name="parameters" element="tns:${operation}Response"/>
  </wsdl:message>
`,
).join('')}  <wsdl:portType name="RecuperoDocumentoPortType">${OPERATIONS.map(
    (operation) => `
    <wsdl:operation name="${operation}">
      <wsdl:input message="tns:${operation}Request"/>
      <wsdl:output message="tns:${operation}Response"/>
    </wsdl:operation>`,
  ).join('')}
  </wsdl:portType>${binding('RecuperoDocumentoSoap12', 'soap12')}${binding('RecuperoDocumentoSoap11', 'soap')}
  <wsdl:service name="RecuperoDocumentoService">
    <wsdl:port name="RecuperoDocumentoSoap12" binding="tns:RecuperoDocumentoSoap12">
      <soap12:address location="${escaped}"/>
    </wsdl:port>
    <wsdl:port name="RecuperoDocumentoSoap11" binding="tns:RecuperoDocumentoSoap11">
      <soap:address location="${escaped}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
`;
}
