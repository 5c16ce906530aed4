/**
 * Datasets the bridge writes itself (manifests, later DICOMDIRs): built from attribute keywords
 * and checked against their VRs before encoding with `encodeIdentifier`, which orders the
 * elements, pads values and adds SpecificCharacterSet ISO_IR 192 for non-ASCII text.
 */
import type { Identifier } from './identifier.js';
import { isValidUid } from './uid.js';

/** The attributes written, with their VRs (PS3.6). */
export const ATTRIBUTES = {
  SpecificCharacterSet: [0x00080005, 'CS'],
  InstanceCreationDate: [0x00080012, 'DA'],
  InstanceCreationTime: [0x00080013, 'TM'],
  SOPClassUID: [0x00080016, 'UI'],
  SOPInstanceUID: [0x00080018, 'UI'],
  StudyDate: [0x00080020, 'DA'],
  ContentDate: [0x00080023, 'DA'],
  StudyTime: [0x00080030, 'TM'],
  ContentTime: [0x00080033, 'TM'],
  AccessionNumber: [0x00080050, 'SH'],
  IssuerOfAccessionNumberSequence: [0x00080051, 'SQ'],
  RetrieveAETitle: [0x00080054, 'AE'],
  Modality: [0x00080060, 'CS'],
  Manufacturer: [0x00080070, 'LO'],
  InstitutionName: [0x00080080, 'LO'],
  ReferringPhysicianName: [0x00080090, 'PN'],
  CodeValue: [0x00080100, 'SH'],
  CodingSchemeDesignator: [0x00080102, 'SH'],
  CodeMeaning: [0x00080104, 'LO'],
  MappingResource: [0x00080105, 'CS'],
  MappingResourceUID: [0x00080118, 'UI'],
  TimezoneOffsetFromUTC: [0x00080201, 'SH'],
  StationName: [0x00081010, 'SH'],
  StudyDescription: [0x00081030, 'LO'],
  ManufacturerModelName: [0x00081090, 'LO'],
  ReferencedStudySequence: [0x00081110, 'SQ'],
  ReferencedPerformedProcedureStepSequence: [0x00081111, 'SQ'],
  ReferencedSeriesSequence: [0x00081115, 'SQ'],
  ReferencedSOPClassUID: [0x00081150, 'UI'],
  ReferencedSOPInstanceUID: [0x00081155, 'UI'],
  ReferencedSOPSequence: [0x00081199, 'SQ'],
  PatientName: [0x00100010, 'PN'],
  PatientID: [0x00100020, 'LO'],
  IssuerOfPatientID: [0x00100021, 'LO'],
  PatientBirthDate: [0x00100030, 'DA'],
  PatientSex: [0x00100040, 'CS'],
  SoftwareVersions: [0x00181020, 'LO'],
  StudyInstanceUID: [0x0020000d, 'UI'],
  SeriesInstanceUID: [0x0020000e, 'UI'],
  StudyID: [0x00200010, 'SH'],
  SeriesNumber: [0x00200011, 'IS'],
  InstanceNumber: [0x00200013, 'IS'],
  RequestedProcedureDescription: [0x00321060, 'LO'],
  RequestedProcedureCodeSequence: [0x00321064, 'SQ'],
  LocalNamespaceEntityID: [0x00400031, 'UT'],
  RequestedProcedureID: [0x00401001, 'SH'],
  PlacerOrderNumberImagingServiceRequest: [0x00402016, 'LO'],
  FillerOrderNumberImagingServiceRequest: [0x00402017, 'LO'],
  RelationshipType: [0x0040a010, 'CS'],
  ValueType: [0x0040a040, 'CS'],
  ConceptNameCodeSequence: [0x0040a043, 'SQ'],
  ContinuityOfContent: [0x0040a050, 'CS'],
  ReferencedRequestSequence: [0x0040a370, 'SQ'],
  CurrentRequestedProcedureEvidenceSequence: [0x0040a375, 'SQ'],
  ContentTemplateSequence: [0x0040a504, 'SQ'],
  ContentSequence: [0x0040a730, 'SQ'],
  TemplateIdentifier: [0x0040db00, 'CS'],
  RetrieveLocationUID: [0x0040e011, 'UI'],
} as const satisfies Record<string, readonly [number, string]>;

export type AttributeKeyword = keyof typeof ATTRIBUTES;

/**
 * A dataset or sequence item from keywords. `undefined` leaves an attribute out (Type 3); `''`
 * writes it empty (Type 2) and `[]` writes an empty sequence.
 */
export function datasetOf(
  values: Partial<Record<AttributeKeyword, string | Identifier[] | undefined>>,
): Identifier {
  const result: Identifier = new Map();
  for (const [keyword, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const [tag, vr] = ATTRIBUTES[keyword as AttributeKeyword];
    result.set(tag, { tag, vr, value });
  }
  return result;
}

/** VRs `vrProblem` checks. */
export type CheckedVr = 'AE' | 'CS' | 'SH' | 'LO' | 'PN' | 'UI' | 'DA' | 'TM';

const MAX_CHARS = { AE: 16, CS: 16, SH: 16, LO: 64 } as const;

/** C0 controls, DEL, and the backslash that would split a single value in two. */
function hasControlOrBackslash(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f || code === 0x5c) return true;
  }
  return false;
}

function dateProblem(value: string): string | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(value);
  if (!match) return 'is not a date YYYYMMDD';
  const [year, month, day] = match.slice(1).map(Number) as [number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day)
    return 'is not a calendar date';
  return undefined;
}

/**
 * Why `value` cannot be a single value of `vr` (PS3.5 6.2), or `undefined` when it can. Values
 * are refused, never truncated or repaired. Lengths count characters, as PS3.5 does.
 */
export function vrProblem(vr: CheckedVr, value: string): string | undefined {
  switch (vr) {
    case 'UI':
      return isValidUid(value) ? undefined : 'is not a valid UID';
    case 'DA':
      return dateProblem(value);
    case 'TM':
      return /^([01]\d|2[0-3])([0-5]\d([0-5]\d(\.\d{1,6})?)?)?$/.test(value)
        ? undefined
        : 'is not a time HH[MM[SS[.FFFFFF]]]';
    default:
  }
  if (hasControlOrBackslash(value)) return 'holds a control character or backslash';
  if (vr === 'PN') {
    const groups = value.split('=');
    if (groups.length > 3) return 'has more than 3 component groups';
    if (groups.some((group) => group.length > 64))
      return 'has a component group longer than 64 characters';
    if (groups.some((group) => group.split('^').length > 5)) return 'has more than 5 components';
    return undefined;
  }
  if (value.length > MAX_CHARS[vr]) return `is longer than ${MAX_CHARS[vr]} characters`;
  if ((vr === 'AE' || vr === 'CS') && /[^\x20-\x7e]/.test(value)) return 'is not plain ASCII';
  if (vr === 'CS' && /[^A-Z0-9 _]/.test(value))
    return 'holds other than upper-case letters, digits, space or underscore';
  if (vr === 'AE' && value !== '' && value.trim() === '') return 'is only spaces';
  return undefined;
}
