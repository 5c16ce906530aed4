/**
 * PS3.8 upper-layer PDUs: constants and types (pdu-types.ts), encoding (pdu-encode.ts) and
 * decoding (pdu-decode.ts) of the association PDUs and the P-DATA-TF header. P-DATA-TF bodies
 * are not decoded here: `PduReader` streams their PDVs without holding them whole.
 */
export * from './pdu-types.js';
export * from './pdu-encode.js';
export * from './pdu-decode.js';
