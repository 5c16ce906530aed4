/** Our namespace for the on-demand retrieval contract (designed here; see docs). */
export const ON_DEMAND_NS = 'urn:it:piemonte:fse:recupero-immagini:1';
export const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_NS = 'http://www.w3.org/2003/05/soap-envelope';
