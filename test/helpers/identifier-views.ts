import { formatTag, identifierOf, type Identifier } from '../../src/dicom/identifier.js';

/* Query identifiers shared by the identifier tests, and a view of them that compares well. */

/** Bytes from hex digits, white space ignored. */
export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** A comparable view: `(gggg,eeee)` → [VR, text | item views | hex bytes]. */
export type View = { [tag: string]: [string, string | View[]] };
export function view(identifier: Identifier): View {
  const out: View = {};
  for (const [tag, { vr, value }] of identifier) {
    out[formatTag(tag)] = [
      vr,
      Array.isArray(value)
        ? value.map(view)
        : Buffer.isBuffer(value)
          ? `0x${value.toString('hex')}`
          : value,
    ];
  }
  return out;
}

/** A study-level query with every kind of value: return keys, multiple values, UTF-8, items. */
export function studyQuery(): Identifier {
  const issuer = identifierOf({
    LocalNamespaceEntityID: 'OSPEDALE SAN RAFFAELE',
    UniversalEntityID: '1.2.3.4',
    UniversalEntityIDType: 'ISO',
  });
  // A nested sequence (the same tag inside its own item is fine for the encoding).
  issuer.set(0x00080051, {
    tag: 0x00080051,
    vr: 'SQ',
    value: [identifierOf({ LocalNamespaceEntityID: 'Città' }), new Map()],
  });
  const query = identifierOf({
    QueryRetrieveLevel: 'STUDY',
    PatientName: 'Rossi^Niccolò=ロッシ^ニッコロ',
    PatientID: 'BRG-0001',
    StudyDate: '20240101-20240131',
    ModalitiesInStudy: 'CT\\MR\\', // a trailing empty value is kept
    SOPClassesInStudy: '1.2.840.10008.5.1.4.1.1.2\\1.2.840.10008.5.1.4.1.1.4',
    AccessionNumber: '',
    StudyInstanceUID: '',
    NumberOfStudyRelatedInstances: '',
    IssuerOfAccessionNumberSequence: [issuer],
  });
  // A sequence of unknown tag: in Implicit VR its undefined length says what it is.
  query.set(0x00091001, { tag: 0x00091001, vr: 'SQ', value: [] });
  query.set(0x00091002, { tag: 0x00091002, vr: 'UN', value: hex('01020304') });
  return query;
}
