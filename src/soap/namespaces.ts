/** Our namespace for the on-demand retrieval contract (designed here; see docs). */
export const ON_DEMAND_NS = 'urn:it:piemonte:fse:recupero-immagini:1';
export const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_NS = 'http://www.w3.org/2003/05/soap-envelope';
/** WS-Security 1.0 (OASIS): the Security header and its UsernameToken, and its utility names. */
export const WSSE_NS =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
export const WSU_NS =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
/** The WS-Security header block. */
export const WSSE_SECURITY = { ns: WSSE_NS, local: 'Security' } as const;
/** CLEpisodioService: the operation wrappers, the data types, and one enumeration. */
export const EPISODIO_NS = 'http://EpisodioService.WS.DMACL.csi.it';
export const DMA_NS = 'http://dma.csi.it/';
export const DMACLBL_NS = 'http://dmaclbl.csi.it/';
