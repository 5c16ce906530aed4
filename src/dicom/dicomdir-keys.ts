/**
 * The DICOMDIR record of a non-image instance (PS3.3 F.5): which record type its SOP class
 * takes, and that record's keys read from the instance itself (the index does not hold them).
 * A Type 1 key the instance lacks gets a stand-in, as for studies (`19000101`, `000000`).
 */
import dcmjs from 'dcmjs';
import type { InstanceRecordKeys, InstanceRecordType } from './dicomdir.js';
import { cleanValue } from './dicomdir.js';
import type { Identifier, IdentifierValue } from './identifier.js';
import { silenceDcmjs } from './dcmjs-quiet.js';

const STORAGE = '1.2.840.10008.5.1.4.1.1.';
const KEY_OBJECT_SELECTION = `${STORAGE}88.59`;
const SR_ROOT = `${STORAGE}88.`;
const WAVEFORM_ROOT = `${STORAGE}9.`;
const ENCAPSULATED_ROOT = `${STORAGE}104.`;
const PRESENTATION_ROOT = `${STORAGE}11.`;

/** The record type of an instance of `sopClassUid`. */
export function recordTypeOf(sopClassUid: string): InstanceRecordType {
  if (sopClassUid === KEY_OBJECT_SELECTION) return 'KEY OBJECT DOC';
  if (sopClassUid.startsWith(SR_ROOT)) return 'SR DOCUMENT';
  if (sopClassUid.startsWith(WAVEFORM_ROOT)) return 'WAVEFORM';
  if (sopClassUid.startsWith(ENCAPSULATED_ROOT)) return 'ENCAP DOC';
  if (sopClassUid.startsWith(PRESENTATION_ROOT)) return 'PRESENTATION';
  return 'IMAGE';
}

const TAG = {
  ContentDate: 0x00080023,
  ContentTime: 0x00080033,
  CodeValue: 0x00080100,
  CodingSchemeDesignator: 0x00080102,
  CodingSchemeVersion: 0x00080103,
  CodeMeaning: 0x00080104,
  DocumentTitle: 0x00420010,
  MIMETypeOfEncapsulatedDocument: 0x00420012,
  VerificationDateTime: 0x0040a030,
  ConceptNameCodeSequence: 0x0040a043,
  CompletionFlag: 0x0040a491,
  VerificationFlag: 0x0040a493,
  ReferencedSeriesSequence: 0x00081115,
  ReferencedImageSequence: 0x00081140,
  ReferencedSOPClassUID: 0x00081150,
  ReferencedSOPInstanceUID: 0x00081155,
  ReferencedFrameNumber: 0x00081160,
  SeriesInstanceUID: 0x0020000e,
  ContentLabel: 0x00700080,
  ContentDescription: 0x00700081,
  PresentationCreationDate: 0x00700082,
  PresentationCreationTime: 0x00700083,
  ContentCreatorName: 0x00700084,
} as const;

type Keys = InstanceRecordKeys['keys'];
type Naturalized = Record<string, unknown>;

function first(value: unknown): string | undefined {
  const one = Array.isArray(value) ? value[0] : value;
  return typeof one === 'string' || typeof one === 'number' ? String(one) : undefined;
}

/** The code items of a code sequence, with the code attributes they have. */
function codeItems(value: unknown): Identifier[] {
  if (!Array.isArray(value)) return [];
  return (value as Naturalized[]).map((item) => {
    const identifier: Identifier = new Map();
    const add = (tag: number, vr: 'SH' | 'LO', keyword: string): void => {
      const text = cleanValue(vr, first(item[keyword]));
      if (text !== undefined) identifier.set(tag, { tag, vr, value: text });
    };
    add(TAG.CodeValue, 'SH', 'CodeValue');
    add(TAG.CodingSchemeDesignator, 'SH', 'CodingSchemeDesignator');
    add(TAG.CodingSchemeVersion, 'SH', 'CodingSchemeVersion');
    add(TAG.CodeMeaning, 'LO', 'CodeMeaning');
    return identifier;
  });
}

function contentDateTime(data: Naturalized): Keys {
  return [
    [TAG.ContentDate, 'DA', cleanValue('DA', first(data.ContentDate)) ?? '19000101'],
    [TAG.ContentTime, 'TM', cleanValue('TM', first(data.ContentTime)) ?? '000000'],
  ];
}

function conceptName(data: Naturalized): [number, string, IdentifierValue] {
  return [TAG.ConceptNameCodeSequence, 'SQ', codeItems(data.ConceptNameCodeSequence)];
}

/** A DT value (PS3.5 6.2): digits, an optional fraction and offset, at most 26 characters. */
const DATE_TIME = /^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?)?)?([+-]\d{4})?$/;

/** `raw` when it is a DT value, otherwise undefined: stored instances are kept as received. */
function dateTime(raw: string | undefined): string | undefined {
  const value = raw?.trim();
  return value !== undefined && DATE_TIME.test(value) ? value : undefined;
}

/** Frame numbers as an IS list, when every one is an integer and the list fits an element. */
function frameNumbers(frames: unknown): string | undefined {
  const list = (Array.isArray(frames) ? frames : [frames]).map((frame) => String(frame).trim());
  const value = list.join('\\');
  return list.every((frame) => /^[+-]?\d{1,11}$/.test(frame)) && value.length <= 0xfffe
    ? value
    : undefined;
}

/** The alphabetic group of a person name: dcmjs gives PN values as objects. */
function personName(value: unknown): string | undefined {
  const one = Array.isArray(value) ? value[0] : value;
  if (typeof one === 'object' && one !== null && 'Alphabetic' in one)
    return first((one as { Alphabetic: unknown }).Alphabetic);
  return first(one);
}

/** A text element of an item, when the naturalized item has a value for it. */
function put(item: Identifier, tag: number, vr: string, value: string | undefined): void {
  if (value !== undefined && value !== '') item.set(tag, { tag, vr, value });
}

/** The series and images a presentation state applies to (ReferencedSeriesSequence). */
function referencedSeries(value: unknown): Identifier[] {
  if (!Array.isArray(value)) return [];
  return (value as Naturalized[]).map((series) => {
    const item: Identifier = new Map();
    put(item, TAG.SeriesInstanceUID, 'UI', cleanValue('UI', first(series.SeriesInstanceUID)));
    const images = Array.isArray(series.ReferencedImageSequence)
      ? (series.ReferencedImageSequence as Naturalized[])
      : [];
    const tag = TAG.ReferencedImageSequence;
    item.set(tag, {
      tag,
      vr: 'SQ',
      value: images.map((image) => {
        const reference: Identifier = new Map();
        put(
          reference,
          TAG.ReferencedSOPClassUID,
          'UI',
          cleanValue('UI', first(image.ReferencedSOPClassUID)),
        );
        put(
          reference,
          TAG.ReferencedSOPInstanceUID,
          'UI',
          cleanValue('UI', first(image.ReferencedSOPInstanceUID)),
        );
        const frames = image.ReferencedFrameNumber;
        if (frames !== undefined)
          put(reference, TAG.ReferencedFrameNumber, 'IS', frameNumbers(frames));
        return reference;
      }),
    });
    return item;
  });
}

/** The keys of the record type, from the naturalized header. */
function keysOf(type: InstanceRecordType, data: Naturalized): Keys {
  switch (type) {
    case 'SR DOCUMENT': {
      const verification = first(data.VerificationFlag) === 'VERIFIED' ? 'VERIFIED' : 'UNVERIFIED';
      const observers = data.VerifyingObserverSequence as Naturalized[] | undefined;
      const verifiedAt = dateTime(first(observers?.at(-1)?.VerificationDateTime));
      return [
        ...contentDateTime(data),
        [TAG.VerificationDateTime, 'DT', verification === 'VERIFIED' ? (verifiedAt ?? '') : ''],
        conceptName(data),
        [
          TAG.CompletionFlag,
          'CS',
          first(data.CompletionFlag) === 'COMPLETE' ? 'COMPLETE' : 'PARTIAL',
        ],
        [TAG.VerificationFlag, 'CS', verification],
      ].filter(([tag, , value]) => tag !== TAG.VerificationDateTime || value !== '') as Keys;
    }
    case 'KEY OBJECT DOC':
      return [...contentDateTime(data), conceptName(data)];
    case 'WAVEFORM':
      return contentDateTime(data);
    case 'ENCAP DOC':
      return [
        [TAG.ContentDate, 'DA', cleanValue('DA', first(data.ContentDate)) ?? ''],
        [TAG.ContentTime, 'TM', cleanValue('TM', first(data.ContentTime)) ?? ''],
        [TAG.DocumentTitle, 'ST', first(data.DocumentTitle)?.slice(0, 1024) ?? ''],
        [
          TAG.MIMETypeOfEncapsulatedDocument,
          'LO',
          cleanValue('LO', first(data.MIMETypeOfEncapsulatedDocument)) ?? 'application/pdf',
        ],
        conceptName(data),
      ];
    case 'PRESENTATION': {
      const series = referencedSeries(data.ReferencedSeriesSequence);
      return [
        [
          TAG.PresentationCreationDate,
          'DA',
          cleanValue('DA', first(data.PresentationCreationDate)) ?? '19000101',
        ],
        [
          TAG.PresentationCreationTime,
          'TM',
          cleanValue('TM', first(data.PresentationCreationTime)) ?? '000000',
        ],
        [TAG.ContentLabel, 'CS', cleanValue('CS', first(data.ContentLabel)) ?? 'UNNAMED'],
        [TAG.ContentDescription, 'LO', cleanValue('LO', first(data.ContentDescription)) ?? ''],
        [TAG.ContentCreatorName, 'PN', cleanValue('PN', personName(data.ContentCreatorName)) ?? ''],
        ...(series.length > 0 ? [[TAG.ReferencedSeriesSequence, 'SQ', series] as const] : []),
      ] as Keys;
    }
    default:
      return [];
  }
}

/**
 * The record of a non-image instance, read from its PS3.10 file; `undefined` for an image
 * (an IMAGE record needs nothing more) or a file dcmjs cannot read (the caller then writes an
 * IMAGE record, as before, rather than leave the instance out).
 */
export function recordKeysOf(file: Buffer, sopClassUid: string): InstanceRecordKeys | undefined {
  const type = recordTypeOf(sopClassUid);
  if (type === 'IMAGE') return undefined;
  silenceDcmjs();
  try {
    const parsed = dcmjs.data.DicomMessage.readFile(new Uint8Array(file).buffer, {
      ignoreErrors: true,
      untilTag: '7FE00010',
      includeUntilTagValue: false,
      noCopy: false,
      forceStoreRaw: false,
    });
    const data = dcmjs.data.DicomMetaDictionary.naturalizeDataset(parsed.dict) as Naturalized;
    return { type, keys: keysOf(type, data) };
  } catch {
    return undefined;
  }
}
