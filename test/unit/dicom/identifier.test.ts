import { decodeIdentifier } from '../../../src/dicom/identifier-decode.js';
import dcmjs from 'dcmjs';
import { describe, expect, it } from 'vitest';
import { encodeFileMeta, parseFileMeta } from '../../../src/dicom/file-meta.js';
import {
  IdentifierError,
  MAX_SEQUENCE_DEPTH,
  QR_KEYS,
  encodeIdentifier,
  formatTag,
  getText,
  identifierOf,
  type Identifier,
  type IdentifierEncoding,
} from '../../../src/dicom/identifier.js';
import { hex, studyQuery, view } from '../../helpers/identifier-views.js';

const EXPLICIT: IdentifierEncoding = { explicitVr: true };
const IMPLICIT: IdentifierEncoding = { explicitVr: false };
const BOTH = [
  ['explicit', EXPLICIT],
  ['implicit', IMPLICIT],
] as const;
const UNDEFINED = 0xffffffff;

/** The parts of dcmjs that write files, which src/types/dcmjs.d.ts leaves out. */
interface DcmjsWriting {
  DicomDict: new (meta: Record<string, unknown>) => {
    dict: Record<string, unknown>;
    write(): ArrayBuffer;
  };
  DicomMetaDictionary: {
    denaturalizeDataset(dataset: Record<string, unknown>): Record<string, unknown>;
    nameMap: Record<string, { tag: string; vr: string } | undefined>;
  };
}
const dcmjsData = dcmjs.data as unknown as DcmjsWriting;
dcmjs.log.setLevel('silent');

/** An element in Explicit VR LE, with the 2- or 4-byte length form of its VR. */
function explicitElement(tag: number, vr: string, value: Buffer, length = value.length): Buffer {
  const long = ['OB', 'SQ', 'UN', 'UT'].includes(vr);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(length, 8);
  else header.writeUInt16LE(length, 6);
  return Buffer.concat([header, value]);
}

/** An element, item or delimiter in Implicit VR LE (also the item form of Explicit VR). */
function implicitElement(tag: number, value: Buffer, length = value.length): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  header.writeUInt32LE(length, 4);
  return Buffer.concat([header, value]);
}

const ITEM = 0xfffee000;
const ITEM_END = 0xfffee00d;
const SEQUENCE_END = 0xfffee0dd;
const item = (content: Buffer): Buffer =>
  Buffer.concat([implicitElement(ITEM, content, UNDEFINED), implicitElement(ITEM_END, hex(''))]);
const sequenceEnd = (): Buffer => implicitElement(SEQUENCE_END, hex(''));

function expectIdentifierError(run: () => unknown, message: RegExp): void {
  let error: unknown;
  try {
    run();
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(IdentifierError);
  expect((error as Error).message).toMatch(message);
}

describe('encodeIdentifier / decodeIdentifier round trips', () => {
  for (const [name, encoding] of BOTH) {
    it(`round-trips nested sequences, empty values, multiple values and UTF-8 (${name} VR)`, () => {
      const query = studyQuery();
      const decoded = decodeIdentifier(encodeIdentifier(query, encoding), encoding);
      const expected = view(query);
      expected['(0008,0005)'] = ['CS', 'ISO_IR 192'];
      expect(view(decoded)).toEqual(expected);
      expect(Object.keys(view(decoded))).toEqual(Object.keys(expected).sort());
      expect(getText(decoded, 'PatientName')).toBe('Rossi^Niccolò=ロッシ^ニッコロ');
    });

    it(`re-encodes an ASCII identifier identically, with no character set (${name} VR)`, () => {
      const query = identifierOf({
        QueryRetrieveLevel: 'SERIES',
        StudyInstanceUID: '1.2.3',
        SeriesInstanceUID: '',
        Modality: 'CT',
        SeriesNumber: '',
        IssuerOfAccessionNumberSequence: '',
      });
      const bytes = encodeIdentifier(query, encoding);
      const decoded = decodeIdentifier(bytes, encoding);
      expect(decoded.has(0x00080005)).toBe(false);
      expect(view(decoded)).toEqual(view(query));
      expect(encodeIdentifier(decoded, encoding).equals(bytes)).toBe(true);
    });
  }
});

describe('encodeIdentifier bytes', () => {
  it('sorts by tag and pads to even length: UI with NUL, other text with a space', () => {
    const query = identifierOf({
      StudyInstanceUID: '',
      PatientID: 'P1',
      SOPClassUID: '1.2.3',
      QueryRetrieveLevel: 'STUDY',
    });
    expect(encodeIdentifier(query, EXPLICIT).toString('hex')).toBe(
      hex(`08001600 5549 0600 312e322e3300
           08005200 4353 0600 535455445920
           10002000 4c4f 0200 5031
           20000d00 5549 0000`).toString('hex'),
    );
    expect(encodeIdentifier(query, IMPLICIT).toString('hex')).toBe(
      hex(`08001600 06000000 312e322e3300
           08005200 06000000 535455445920
           10002000 02000000 5031
           20000d00 00000000`).toString('hex'),
    );
  });

  it('writes sequences and items of undefined length with delimiters; UT with a 4-byte length', () => {
    const query = identifierOf({
      IssuerOfAccessionNumberSequence: [identifierOf({ LocalNamespaceEntityID: 'HOSP' })],
    });
    expect(encodeIdentifier(query, EXPLICIT).toString('hex')).toBe(
      hex(`08005100 5351 0000 ffffffff
           feff00e0 ffffffff
           40003100 5554 0000 04000000 484f5350
           feff0de0 00000000
           feffdde0 00000000`).toString('hex'),
    );
    expect(encodeIdentifier(query, IMPLICIT).toString('hex')).toBe(
      hex(`08005100 ffffffff
           feff00e0 ffffffff
           40003100 04000000 484f5350
           feff0de0 00000000
           feffdde0 00000000`).toString('hex'),
    );
  });

  it('leaves group lengths out', () => {
    const query = identifierOf({ PatientID: 'P1' });
    query.set(0x00100000, { tag: 0x00100000, vr: 'UL', value: hex('0a000000') });
    expect(encodeIdentifier(query, EXPLICIT).toString('hex')).toBe('100020004c4f02005031');
  });

  it('refuses a value longer than 65535 bytes in a 2-byte-length VR, in both encodings', () => {
    for (const [, encoding] of BOTH) {
      expectIdentifierError(
        () => encodeIdentifier(identifierOf({ StudyDescription: 'x'.repeat(0x10000) }), encoding),
        /\(0008,1030\) LO value is 65536 bytes/,
      );
      expect(
        encodeIdentifier(identifierOf({ StudyDescription: 'x'.repeat(0xfffe) }), encoding).length,
      ).toBe(0xfffe + 8);
      const long = identifierOf({ LocalNamespaceEntityID: 'x'.repeat(0x10000) });
      expect(decodeIdentifier(encodeIdentifier(long, encoding), encoding)).toEqual(long);
    }
  });

  it('encodes non-ASCII text as UTF-8 and adds SpecificCharacterSet ISO_IR 192', () => {
    const bytes = encodeIdentifier(identifierOf({ PatientName: 'Niccolò' }), EXPLICIT);
    expect(bytes.toString('hex')).toBe(
      hex(`08000500 4353 0a00 49534f5f495220313932
           10001000 504e 0800 4e6963636f6cc3b2`).toString('hex'),
    );
    // An empty SpecificCharacterSet is the default repertoire: replaced the same way.
    const unset = identifierOf({ SpecificCharacterSet: '', PatientName: 'Niccolò' });
    expect(encodeIdentifier(unset, EXPLICIT).equals(bytes)).toBe(true);
    // Non-ASCII text only inside an item counts too.
    const nested = identifierOf({
      IssuerOfAccessionNumberSequence: [identifierOf({ LocalNamespaceEntityID: 'Città' })],
    });
    expect(
      getText(decodeIdentifier(encodeIdentifier(nested, IMPLICIT), IMPLICIT), 0x00080005),
    ).toBe('ISO_IR 192');
  });

  it("keeps the caller's ISO_IR 100 or 192 and refuses other sets for non-ASCII text", () => {
    const latin1 = encodeIdentifier(
      identifierOf({ SpecificCharacterSet: 'ISO_IR 100', PatientName: 'Niccolò' }),
      EXPLICIT,
    );
    expect(latin1.subarray(-8).toString('hex')).toBe('4e6963636f6cf220');
    expect(getText(decodeIdentifier(latin1, EXPLICIT), 'PatientName')).toBe('Niccolò');
    const utf8 = encodeIdentifier(
      identifierOf({ SpecificCharacterSet: 'ISO_IR 192', PatientName: 'Niccolò' }),
      IMPLICIT,
    );
    expect(utf8.subarray(-8).toString('hex')).toBe('4e6963636f6cc3b2');
    expectIdentifierError(
      () =>
        encodeIdentifier(
          identifierOf({ SpecificCharacterSet: 'ISO_IR 100', PatientName: 'Σωκράτης' }),
          EXPLICIT,
        ),
      /\(0010,0010\) holds characters outside ISO_IR 100/,
    );
    expectIdentifierError(
      () =>
        encodeIdentifier(
          identifierOf({ SpecificCharacterSet: 'ISO 2022 IR 6', PatientName: 'Niccolò' }),
          EXPLICIT,
        ),
      /\(0010,0010\) holds non-ASCII text .* "ISO 2022 IR 6"/,
    );
    // ASCII text is fine under any declared set.
    const ascii = identifierOf({ SpecificCharacterSet: 'ISO 2022 IR 6', PatientName: 'Rossi' });
    expect(view(decodeIdentifier(encodeIdentifier(ascii, EXPLICIT), EXPLICIT))).toEqual(
      view(ascii),
    );
  });

  it('refuses values that do not fit their VR, misfiled elements and runaway nesting', () => {
    const cases: Array<[Identifier, RegExp]> = [
      [
        new Map([[0x00280010, { tag: 0x00280010, vr: 'US', value: '512' }]]),
        /\(0028,0010\) US is not a text VR/,
      ],
      [
        new Map([[0x00280010, { tag: 0x00280010, vr: 'US', value: hex('02') }]]),
        /\(0028,0010\) US has an odd length/,
      ],
      [
        new Map([[0x00100010, { tag: 0x00100020, vr: 'LO', value: 'P1' }]]),
        /\(0010,0020\) is stored under \(0010,0010\)/,
      ],
      [
        new Map([[0x00080051, { tag: 0x00080051, vr: 'SQ', value: 'x' }]]),
        /\(0008,0051\) is a sequence/,
      ],
      [
        new Map([[0x00100020, { tag: 0x00100020, vr: 'LO', value: [] }]]),
        /\(0010,0020\) LO holds items/,
      ],
      [
        new Map([[0x00100020, { tag: 0x00100020, vr: 'lo', value: 'P1' }]]),
        /\(0010,0020\) has invalid VR "lo"/,
      ],
      [
        new Map([[ITEM, { tag: ITEM, vr: 'UN', value: hex('') }]]),
        /\(FFFE,E000\) is not a dataset element tag/,
      ],
    ];
    for (const [identifier, message] of cases) {
      expectIdentifierError(() => encodeIdentifier(identifier, EXPLICIT), message);
    }
    // An item that contains itself would nest forever.
    const loop: Identifier = new Map();
    loop.set(0x00080051, { tag: 0x00080051, vr: 'SQ', value: [loop] });
    expectIdentifierError(() => encodeIdentifier(loop, IMPLICIT), /nests sequences deeper than 16/);
  });
});

describe('identifierOf, getText and QR_KEYS', () => {
  it('builds elements from keywords and reads text by keyword or tag', () => {
    const query = identifierOf({
      QueryRetrieveLevel: 'STUDY',
      AccessionNumber: 'A1',
      StudyInstanceUID: '',
    });
    expect([...query.values()]).toEqual([
      { tag: 0x00080052, vr: 'CS', value: 'STUDY' },
      { tag: 0x00080050, vr: 'SH', value: 'A1' },
      { tag: 0x0020000d, vr: 'UI', value: '' },
    ]);
    expect(getText(query, 'AccessionNumber')).toBe('A1');
    expect(getText(query, 0x00080052)).toBe('STUDY');
    expect(getText(query, 'StudyInstanceUID')).toBe('');
    expect(getText(query, 'PatientID')).toBeUndefined();
    const withItems = identifierOf({ IssuerOfAccessionNumberSequence: [] });
    expect(getText(withItems, 'IssuerOfAccessionNumberSequence')).toBeUndefined();
    expectIdentifierError(() => getText(query, 'PatientsName'), /unknown .* "PatientsName"/);
    expectIdentifierError(() => identifierOf({ Pixels: '' }), /unknown .* "Pixels"/);
    expectIdentifierError(() => identifierOf({ PatientID: [] }), /PatientID \(0010,0020\) is LO/);
    expectIdentifierError(
      () => identifierOf({ IssuerOfAccessionNumberSequence: 'x' }),
      /IssuerOfAccessionNumberSequence \(0008,0051\) is SQ/,
    );
  });

  it('agrees with the dcmjs data dictionary on every tag and VR', () => {
    const required = `
      SpecificCharacterSet StudyDate SeriesDate StudyTime AccessionNumber
      IssuerOfAccessionNumberSequence QueryRetrieveLevel RetrieveAETitle InstanceAvailability
      Modality ModalitiesInStudy SOPClassesInStudy SOPClassUID SOPInstanceUID
      ReferringPhysicianName StudyDescription SeriesDescription PatientName PatientID
      IssuerOfPatientID PatientBirthDate PatientSex StudyInstanceUID SeriesInstanceUID StudyID
      SeriesNumber InstanceNumber NumberOfPatientRelatedStudies NumberOfPatientRelatedSeries
      NumberOfPatientRelatedInstances NumberOfStudyRelatedSeries NumberOfStudyRelatedInstances
      NumberOfSeriesRelatedInstances LocalNamespaceEntityID UniversalEntityID
      UniversalEntityIDType AvailableTransferSyntaxUID NumberOfFrames BodyPartExamined`;
    for (const keyword of required.trim().split(/\s+/))
      expect(QR_KEYS, keyword).toHaveProperty(keyword);
    for (const [keyword, { tag, vr }] of Object.entries(QR_KEYS)) {
      const entry = dcmjsData.DicomMetaDictionary.nameMap[keyword];
      expect({ keyword, tag: formatTag(tag), vr }).toEqual({
        keyword,
        tag: entry?.tag,
        vr: entry?.vr,
      });
    }
  });
});

describe('decodeIdentifier', () => {
  it('reads text per SpecificCharacterSet: ISO_IR 192 as UTF-8, Latin-1 and the default as ISO 8859-1', () => {
    const name = explicitElement(0x00100010, 'PN', hex('4e6963636f6cc3b2'));
    const charset = (value: string): Buffer =>
      explicitElement(0x00080005, 'CS', Buffer.from(value.length % 2 ? `${value} ` : value));
    const nameOf = (...parts: Buffer[]): string | undefined =>
      getText(decodeIdentifier(Buffer.concat(parts), EXPLICIT), 'PatientName');
    expect(nameOf(charset('ISO_IR 192'), name)).toBe('Niccolò');
    expect(nameOf(name)).toBe('NiccolÃ²');
    expect(nameOf(charset('ISO_IR 100'), name)).toBe('NiccolÃ²');
    expect(nameOf(charset('ISO_IR 6'), name)).toBe('NiccolÃ²');
    expect(nameOf(charset('\\ISO 2022 IR 100'), name)).toBe('NiccolÃ²');
    expect(nameOf(charset('ISO_IR 999'), name)).toBe('NiccolÃ²');
    // The other single-byte sets, and code extensions whose first term is the default.
    const cyrillic = explicitElement(0x00100010, 'PN', hex('bbeedad0'));
    expect(nameOf(charset('ISO_IR 144'), cyrillic)).toBe('Люка');
    expect(nameOf(charset('ISO 2022 IR 144'), cyrillic)).toBe('Люка');
    // ISO 2022 IR 87: JIS X 0208 between escape sequences (PS3.5 H.3.1).
    const japanese = explicitElement(0x00100010, 'PN', hex('59616d6164613d1b24423b334544'));
    expect(nameOf(charset('\\ISO 2022 IR 87'), japanese)).toBe('Yamada=山田');
    // Only the text VRs SpecificCharacterSet governs are decoded with it.
    const date = explicitElement(0x00080020, 'DA', Buffer.from('20261126'));
    expect(
      getText(
        decodeIdentifier(Buffer.concat([charset('ISO_IR 144'), date]), EXPLICIT),
        'StudyDate',
      ),
    ).toBe('20261126');
    // An item may declare its own character set (PS3.5 6.1.2.5.3).
    const nested = decodeIdentifier(
      Buffer.concat([
        explicitElement(0x00080051, 'SQ', hex(''), UNDEFINED),
        item(
          Buffer.concat([
            charset('ISO_IR 192'),
            explicitElement(0x00400031, 'UT', hex('43697474c3a0')),
          ]),
        ),
        sequenceEnd(),
        name,
      ]),
      EXPLICIT,
    );
    expect(getText(nested, 'PatientName')).toBe('NiccolÃ²');
    const issuer = nested.get(0x00080051)!.value as Identifier[];
    expect(getText(issuer[0]!, 'LocalNamespaceEntityID')).toBe('Città');
  });

  it('reads defined-length sequences and items, skips group lengths, keeps unknown tags', () => {
    const inner = explicitElement(0x00400033, 'CS', Buffer.from('ISO '));
    const definedItem = implicitElement(ITEM, inner);
    const decoded = decodeIdentifier(
      Buffer.concat([
        explicitElement(0x00080000, 'UL', hex('40000000')),
        explicitElement(0x00080051, 'SQ', definedItem),
        explicitElement(0x00091002, 'OB', hex('0102')),
        explicitElement(0x00100000, 'UL', hex('0a000000')),
        explicitElement(0x00100020, 'LO', Buffer.from('P1')),
      ]),
      EXPLICIT,
    );
    expect(view(decoded)).toEqual({
      '(0008,0051)': ['SQ', [{ '(0040,0033)': ['CS', 'ISO'] }]],
      '(0009,1002)': ['OB', '0x0102'],
      '(0010,0020)': ['LO', 'P1'],
    });
  });

  it('in Implicit VR: VRs from QR_KEYS, other tags as UN bytes or, of undefined length, sequences', () => {
    const decoded = decodeIdentifier(
      Buffer.concat([
        implicitElement(0x00080000, hex('20000000')),
        implicitElement(
          0x00080051,
          implicitElement(ITEM, implicitElement(0x00400031, Buffer.from('HOSP'))),
        ),
        implicitElement(0x00091001, hex(''), UNDEFINED),
        item(implicitElement(0x00091010, Buffer.from('ab'))),
        sequenceEnd(),
        implicitElement(0x00091002, hex('0102')),
        implicitElement(0x00201208, Buffer.from('12')),
      ]),
      IMPLICIT,
    );
    expect(view(decoded)).toEqual({
      '(0008,0051)': ['SQ', [{ '(0040,0031)': ['UT', 'HOSP'] }]],
      '(0009,1001)': ['SQ', [{ '(0009,1010)': ['UN', '0x6162'] }]],
      '(0009,1002)': ['UN', '0x0102'],
      '(0020,1208)': ['IS', '12'],
    });
  });

  it('reads a UN of undefined length in Explicit VR as an Implicit VR sequence (CP-246)', () => {
    const decoded = decodeIdentifier(
      Buffer.concat([
        explicitElement(0x00091001, 'UN', hex(''), UNDEFINED),
        item(implicitElement(0x00100020, Buffer.from('P1'))),
        sequenceEnd(),
        explicitElement(0x00100040, 'CS', Buffer.from('F ')),
      ]),
      EXPLICIT,
    );
    expect(view(decoded)).toEqual({
      '(0009,1001)': ['SQ', [{ '(0010,0020)': ['LO', 'P1'] }]],
      '(0010,0040)': ['CS', 'F'],
    });
  });
});

describe('interoperability', () => {
  /** The study query written by dcmjs, as a PS3.10 file. */
  function dcmjsFile(transferSyntaxUid: string): Buffer {
    const { DicomDict, DicomMetaDictionary } = dcmjsData;
    const dict = new DicomDict(
      DicomMetaDictionary.denaturalizeDataset({
        TransferSyntaxUID: transferSyntaxUid,
        MediaStorageSOPClassUID: '1.2.840.10008.5.1.4.1.2.2.1',
        MediaStorageSOPInstanceUID: '2.25.1',
        ImplementationClassUID: '2.25.2',
      }),
    );
    dict.dict = DicomMetaDictionary.denaturalizeDataset({
      SpecificCharacterSet: 'ISO_IR 192',
      QueryRetrieveLevel: 'STUDY',
      PatientName: 'Rossi^Niccolò',
      PatientBirthDate: '',
      ModalitiesInStudy: ['CT', 'MR'],
      StudyInstanceUID: '1.2.840.113619.2.55.3',
      AccessionNumber: '',
      NumberOfStudyRelatedInstances: '12',
      IssuerOfAccessionNumberSequence: [
        {
          LocalNamespaceEntityID: 'HOSP',
          UniversalEntityID: '1.2.3',
          UniversalEntityIDType: 'ISO',
        },
      ],
    });
    return Buffer.from(dict.write());
  }

  for (const [name, encoding, syntax] of [
    ['explicit', EXPLICIT, '1.2.840.10008.1.2.1'],
    ['implicit', IMPLICIT, '1.2.840.10008.1.2'],
  ] as const) {
    it(`decodes a dataset written by dcmjs (${name} VR little endian)`, () => {
      const file = dcmjsFile(syntax);
      const decoded = decodeIdentifier(file.subarray(parseFileMeta(file).datasetOffset), encoding);
      expect(view(decoded)).toEqual({
        '(0008,0005)': ['CS', 'ISO_IR 192'],
        '(0008,0050)': ['SH', ''],
        '(0008,0051)': [
          'SQ',
          [
            {
              '(0040,0031)': ['UT', 'HOSP'],
              '(0040,0032)': ['UT', '1.2.3'],
              '(0040,0033)': ['CS', 'ISO'],
            },
          ],
        ],
        '(0008,0052)': ['CS', 'STUDY'],
        '(0008,0061)': ['CS', 'CT\\MR'],
        '(0010,0010)': ['PN', 'Rossi^Niccolò'],
        '(0010,0030)': ['DA', ''],
        '(0020,000D)': ['UI', '1.2.840.113619.2.55.3'],
        '(0020,1208)': ['IS', '12'],
      });
    });
  }

  it('encodes what dcmjs reads back', () => {
    const bytes = encodeIdentifier(studyQuery(), EXPLICIT);
    const file = Buffer.concat([
      encodeFileMeta({
        sopClassUid: '1.2.840.10008.5.1.4.1.2.2.1',
        sopInstanceUid: '2.25.1',
        transferSyntaxUid: '1.2.840.10008.1.2.1',
      }),
      bytes,
    ]);
    const parsed = dcmjs.data.DicomMessage.readFile(
      file.buffer.slice(file.byteOffset, file.byteOffset + file.length),
      {
        ignoreErrors: false,
        untilTag: null,
        includeUntilTagValue: false,
        noCopy: false,
        forceStoreRaw: false,
      },
    );
    const data = dcmjs.data.DicomMetaDictionary.naturalizeDataset(parsed.dict);
    expect(data).toMatchObject({
      SpecificCharacterSet: 'ISO_IR 192',
      QueryRetrieveLevel: 'STUDY',
      PatientID: 'BRG-0001',
      ModalitiesInStudy: ['CT', 'MR', ''],
      IssuerOfAccessionNumberSequence: [
        { LocalNamespaceEntityID: 'OSPEDALE SAN RAFFAELE', UniversalEntityIDType: 'ISO' },
      ],
    });
    expect(JSON.stringify(data.PatientName)).toContain('Rossi^Niccolò');
  });
});

describe('decodeIdentifier on malformed input', () => {
  const patientId = explicitElement(0x00100020, 'LO', Buffer.from('P12345'));

  it('names the element and offset of a truncated header or a value past the end', () => {
    const query = encodeIdentifier(
      identifierOf({ QueryRetrieveLevel: 'STUDY', PatientID: 'P1' }),
      EXPLICIT,
    );
    expectIdentifierError(
      () => decodeIdentifier(query.subarray(0, 3), EXPLICIT),
      /at offset 0: header is truncated \(3 bytes left\)/,
    );
    expectIdentifierError(
      () => decodeIdentifier(query.subarray(0, 20), EXPLICIT),
      /\(0010,0020\) at offset 14: header is truncated/,
    );
    expectIdentifierError(
      () => decodeIdentifier(patientId.subarray(0, 12), EXPLICIT),
      /\(0010,0020\) at offset 0: value length 6 runs past the end \(4 bytes left\)/,
    );
    const implicit = implicitElement(0x00100020, Buffer.from('P1'), 0x7ffffff0);
    expectIdentifierError(
      () => decodeIdentifier(implicit, IMPLICIT),
      /\(0010,0020\) at offset 0: value length 2147483632 runs past the end/,
    );
    // A long-form header cut after its VR.
    const text = explicitElement(0x00400031, 'UT', Buffer.from('HOSP'));
    expectIdentifierError(
      () => decodeIdentifier(text.subarray(0, 10), EXPLICIT),
      /\(0040,0031\) at offset 0: header is truncated/,
    );
  });

  it('refuses a sequence that holds something other than items, or is never closed', () => {
    const notAnItem = Buffer.concat([
      explicitElement(0x00080051, 'SQ', hex(''), UNDEFINED),
      patientId,
    ]);
    expectIdentifierError(
      () => decodeIdentifier(notAnItem, EXPLICIT),
      /\(0010,0020\) at offset 12: expected an item of \(0008,0051\)/,
    );
    const unclosed = Buffer.concat([
      explicitElement(0x00080051, 'SQ', hex(''), UNDEFINED),
      item(patientId),
    ]);
    expectIdentifierError(
      () => decodeIdentifier(unclosed, EXPLICIT),
      /\(0008,0051\) at offset 42: sequence is truncated or has no delimiter/,
    );
    const openItem = Buffer.concat([
      explicitElement(0x00080051, 'SQ', hex(''), UNDEFINED),
      implicitElement(ITEM, patientId, UNDEFINED),
    ]);
    expectIdentifierError(
      () => decodeIdentifier(openItem, EXPLICIT),
      /at offset 34 in \(0008,0051\)\[0\]: item has no item delimiter/,
    );
    const itemTooLong = explicitElement(
      0x00080051,
      'SQ',
      implicitElement(ITEM, patientId, patientId.length + 2),
    );
    expectIdentifierError(
      () => decodeIdentifier(itemTooLong, EXPLICIT),
      /\(FFFE,E000\) at offset 12 in \(0008,0051\): item length 16 runs past the end of \(0008,0051\)/,
    );
    // An element overrunning its defined-length item.
    const overrun = explicitElement(
      0x00080051,
      'SQ',
      implicitElement(ITEM, patientId, patientId.length - 2),
    );
    expectIdentifierError(
      () => decodeIdentifier(overrun, EXPLICIT),
      /\(0010,0020\) at offset 20 in \(0008,0051\)\[0\]: value length 6 runs past the end/,
    );
    expectIdentifierError(
      () => decodeIdentifier(Buffer.concat([patientId, item(hex(''))]), EXPLICIT),
      /\(FFFE,E000\) at offset 14: unexpected item or delimiter tag/,
    );
    expectIdentifierError(
      () =>
        decodeIdentifier(
          Buffer.concat([implicitElement(0x00100020, Buffer.from('P12345')), sequenceEnd()]),
          IMPLICIT,
        ),
      /\(FFFE,E0DD\) at offset 14: unexpected item/,
    );
  });

  it('refuses odd lengths, invalid VRs, undefined lengths outside sequences, repeated tags', () => {
    const odd = explicitElement(0x00100020, 'LO', Buffer.from('P12'));
    expectIdentifierError(
      () => decodeIdentifier(odd, EXPLICIT),
      /\(0010,0020\) at offset 0: odd value length 3/,
    );
    const oddItem = explicitElement(0x00080051, 'SQ', implicitElement(ITEM, Buffer.from('abc')));
    expectIdentifierError(() => decodeIdentifier(oddItem, EXPLICIT), /odd (item|sequence) length/);
    const badVr = Buffer.from(patientId);
    badVr.write('l0', 4, 'latin1');
    expectIdentifierError(
      () => decodeIdentifier(badVr, EXPLICIT),
      /\(0010,0020\) at offset 0: invalid VR "l0"/,
    );
    const undefinedText = implicitElement(0x00100020, hex(''), UNDEFINED);
    expectIdentifierError(
      () => decodeIdentifier(undefinedText, IMPLICIT),
      /\(0010,0020\) at offset 0: undefined length on a LO element/,
    );
    expectIdentifierError(
      () => decodeIdentifier(Buffer.concat([patientId, patientId]), EXPLICIT),
      /\(0010,0020\) at offset 14: appears twice/,
    );
  });

  for (const [name, encoding] of BOTH) {
    it(`bounds the nesting depth at ${MAX_SEQUENCE_DEPTH} sequences (${name} VR)`, () => {
      const nested = (depth: number): Identifier => {
        let query = identifierOf({ PatientID: 'P1' });
        for (let i = 0; i < depth; i++)
          query = identifierOf({ IssuerOfAccessionNumberSequence: [query] });
        return query;
      };
      const deepest = encodeIdentifier(nested(MAX_SEQUENCE_DEPTH), encoding);
      expect(view(decodeIdentifier(deepest, encoding))).toEqual(view(nested(MAX_SEQUENCE_DEPTH)));
      expectIdentifierError(
        () => encodeIdentifier(nested(MAX_SEQUENCE_DEPTH + 1), encoding),
        /nests sequences deeper than 16/,
      );
      // A bomb: a hundred thousand sequence and item openings, never closed.
      const opening = Buffer.concat([
        encoding.explicitVr
          ? explicitElement(0x00080051, 'SQ', hex(''), UNDEFINED)
          : implicitElement(0x00080051, hex(''), UNDEFINED),
        implicitElement(ITEM, hex(''), UNDEFINED),
      ]);
      const bomb = Buffer.concat(Array.from({ length: 100_000 }, () => opening));
      expectIdentifierError(
        () => decodeIdentifier(bomb, encoding),
        /\(0008,0051\) at offset \d+ in (\(0008,0051\)(\[0\])?( > )?){16}: sequences nest deeper than 16/,
      );
    });
  }

  it('only ever returns or throws IdentifierError on corrupted and truncated identifiers', () => {
    let seed = 7;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (const [, encoding] of BOTH) {
      const valid = encodeIdentifier(studyQuery(), encoding);
      for (let round = 0; round < 3000; round++) {
        const bytes = Buffer.from(valid.subarray(0, 1 + Math.floor(next() * valid.length)));
        for (let flips = 1 + Math.floor(next() * 4); flips > 0; flips--) {
          const at = Math.floor(next() * bytes.length);
          bytes[at] = next() < 0.5 ? Math.floor(next() * 256) : [0x00, 0xff, 0xfe, 0xe0][at % 4]!;
        }
        try {
          decodeIdentifier(bytes, encoding);
        } catch (error) {
          expect(error, bytes.toString('hex')).toBeInstanceOf(IdentifierError);
        }
      }
    }
  });
});
