/**
 * The IHE XDS-I.b imaging manifest: a DICOM Key Object Selection (KOS) document (PS3.3 A.35.4)
 * titled (113030, DCM, "Manifest") that lists every instance of the studies it covers, with where
 * to retrieve them. Pure: the caller supplies the UIDs, the clock and the instances held.
 */
import { datasetOf, vrProblem, type CheckedVr } from './dataset-writer.js';
import { encodeFileMeta } from './file-meta.js';
import { encodeIdentifier, type Identifier } from './identifier.js';
import { compositeValueType } from './sr-value-type.js';
import { IMPLEMENTATION_VERSION_NAME } from '../dimse/implementation.js';

export const KEY_OBJECT_SELECTION_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.88.59';
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** PS3.16's own UID, identifying DCMR as the mapping resource of the template. */
const DCMR_UID = '1.2.840.10008.8.1.1';

export interface KosPatient {
  /** Patient ID (0010,0020); may be empty when the studies carry none. */
  id: string;
  /** Issuer of Patient ID (0010,0021). */
  issuer?: string;
  /** Patient's Name (0010,0010), PN with `^` between components. */
  name?: string;
  /** YYYYMMDD. */
  birthDate?: string;
  sex?: 'M' | 'F' | 'O';
}

export interface KosInstanceRef {
  sopClassUid: string;
  sopInstanceUid: string;
}

export interface KosSeries {
  seriesInstanceUid: string;
  /** Informative only: the manifest lists series without their modality. */
  modality?: string;
  instances: KosInstanceRef[];
}

export interface KosStudy {
  studyInstanceUid: string;
  /** The accession number of the request (may be empty when the study has none). */
  accessionNumber: string;
  /** Issuer of the accession number, written as its Local Namespace Entity ID. */
  accessionIssuer?: string;
  /** YYYYMMDD. */
  studyDate?: string;
  /** HHMMSS with optional fraction (or HH, HHMM). */
  studyTime?: string;
  studyId?: string;
  studyDescription?: string;
  referringPhysician?: string;
  requestedProcedureId?: string;
  requestedProcedureDescription?: string;
  series: KosSeries[];
}

export interface KosInput {
  patient: KosPatient;
  /** The studies the manifest covers; the manifest itself belongs to the first one. */
  studies: KosStudy[];
  /** AE title the referenced instances are retrieved from (C-MOVE / C-GET). */
  retrieveAeTitle: string;
  /** Retrieve Location UID (0040,E011): identifies the bridge as the source of the instances. */
  retrieveLocationUid: string;
  /** The manifest's own SOP Instance UID: a fresh one each time it is (re-)issued. */
  sopInstanceUid: string;
  /** The manifest's series (modality KO), distinct from every referenced series. */
  seriesInstanceUid: string;
  seriesNumber: number;
  instanceNumber: number;
  /** When the content was assembled; written in UTC with TimezoneOffsetFromUTC +0000. */
  contentDateTime: Date;
  manufacturer?: string;
  manufacturerModelName?: string;
  /** Defaults to the bridge's implementation version name. */
  softwareVersions?: string;
  institutionName?: string;
  stationName?: string;
}

export interface KosManifest {
  /** PS3.10 file: preamble, file meta and dataset in Explicit VR Little Endian. */
  file: Buffer;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  /** The study the manifest belongs to: that of the first study of the input. */
  studyInstanceUid: string;
}

/** Input a manifest cannot be built from; `field` is its path in the input. */
export class KosInputError extends Error {
  override readonly name = 'KosInputError';
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field} ${reason}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Input checks: a value its VR cannot hold is refused, never truncated

/** Patient data is never copied into messages: errors end up in logs. */
function describe(field: string, value: unknown): string {
  return field.startsWith('patient.') ? '(value withheld: patient data)' : JSON.stringify(value);
}

function check(field: string, value: unknown, vr: CheckedVr): string {
  if (typeof value !== 'string') throw new KosInputError(field, 'must be a string');
  const problem = vrProblem(vr, value);
  if (problem !== undefined)
    throw new KosInputError(field, `${problem} (${vr}): ${describe(field, value)}`);
  return value;
}

function optional(field: string, value: unknown, vr: CheckedVr): string | undefined {
  return value === undefined ? undefined : check(field, value, vr);
}

function checkNumber(field: string, value: unknown): string {
  if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > 2 ** 31 - 1)
    throw new KosInputError(field, `must be an integer from 0 to 2147483647: ${String(value)}`);
  return String(value);
}

function nonEmpty<T>(field: string, value: T[] | undefined, what: string): T[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new KosInputError(field, `must list at least one ${what}`);
  return value;
}

/** Each UID once in the whole manifest: a repeated reference means the caller's data is wrong. */
function claimUid(seen: Map<string, string>, field: string, uid: string): void {
  const first = seen.get(uid);
  if (first !== undefined) throw new KosInputError(field, `repeats the UID of ${first}: ${uid}`);
  seen.set(uid, field);
}

// ---------------------------------------------------------------------------------------------
// The document

/** Document title (113030, DCM, "Manifest") from CID 7010, as XDS-I.b requires. */
function manifestTitle(): Identifier {
  return datasetOf({ CodeValue: '113030', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Manifest' });
}

function issuerSequence(field: string, issuer: string | undefined): Identifier[] | undefined {
  const local = optional(field, issuer, 'LO');
  return local ? [datasetOf({ LocalNamespaceEntityID: local })] : undefined;
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

/**
 * The KOS manifest of `input.studies` as a PS3.10 file. The evidence sequence and the content
 * tree list each instance once, grouped by study and series in input order; each series carries
 * the retrieve AE title and Retrieve Location UID. With several studies the manifest belongs to
 * the first (XDS-I.b puts the manifest in the study it references) and each study has its own
 * Referenced Request item with its accession number. Text outside ASCII is written in UTF-8
 * (SpecificCharacterSet ISO_IR 192). Throws `KosInputError` naming the field on invalid input:
 * values their VR cannot hold are refused, not repaired, so a caller leaves out optional values it
 * holds in legacy forms (an ACR-NEMA date such as `1997.04.24`).
 */
export function buildKosManifest(input: KosInput): KosManifest {
  const seen = new Map<string, string>();
  const sopInstanceUid = check('sopInstanceUid', input.sopInstanceUid, 'UI');
  const seriesInstanceUid = check('seriesInstanceUid', input.seriesInstanceUid, 'UI');
  claimUid(seen, 'sopInstanceUid', sopInstanceUid);
  claimUid(seen, 'seriesInstanceUid', seriesInstanceUid);
  const retrieveAeTitle = check('retrieveAeTitle', input.retrieveAeTitle, 'AE');
  if (retrieveAeTitle.trim() === '')
    throw new KosInputError('retrieveAeTitle', 'must not be empty');
  const retrieveLocationUid = check('retrieveLocationUid', input.retrieveLocationUid, 'UI');
  const when = input.contentDateTime;
  if (!(when instanceof Date) || !(when.getUTCFullYear() >= 1 && when.getUTCFullYear() <= 9999))
    throw new KosInputError('contentDateTime', 'must be a valid Date in the years 1 to 9999');
  const patient = input.patient;
  if (typeof patient !== 'object' || patient === null)
    throw new KosInputError('patient', 'must be an object');
  if (patient.sex !== undefined && !['M', 'F', 'O'].includes(patient.sex))
    throw new KosInputError('patient.sex', 'must be M, F or O');

  const studies = nonEmpty('studies', input.studies, 'study');
  const evidence: Identifier[] = [];
  const requests: Identifier[] = [];
  const content: Identifier[] = [];
  studies.forEach((study, s) => {
    const at = `studies[${s}]`;
    const studyUid = check(`${at}.studyInstanceUid`, study.studyInstanceUid, 'UI');
    claimUid(seen, `${at}.studyInstanceUid`, studyUid);
    const seriesItems = nonEmpty(`${at}.series`, study.series, 'series').map((series, r) => {
      const seriesAt = `${at}.series[${r}]`;
      const seriesUid = check(`${seriesAt}.seriesInstanceUid`, series.seriesInstanceUid, 'UI');
      claimUid(seen, `${seriesAt}.seriesInstanceUid`, seriesUid);
      const instances = nonEmpty(`${seriesAt}.instances`, series.instances, 'instance');
      const sopItems = instances.map((instance, i) => {
        const instanceAt = `${seriesAt}.instances[${i}]`;
        const classUid = check(`${instanceAt}.sopClassUid`, instance.sopClassUid, 'UI');
        const uid = check(`${instanceAt}.sopInstanceUid`, instance.sopInstanceUid, 'UI');
        claimUid(seen, `${instanceAt}.sopInstanceUid`, uid);
        const reference = { ReferencedSOPClassUID: classUid, ReferencedSOPInstanceUID: uid };
        content.push(
          datasetOf({
            RelationshipType: 'CONTAINS',
            ValueType: compositeValueType(classUid),
            ReferencedSOPSequence: [datasetOf(reference)],
          }),
        );
        return datasetOf(reference);
      });
      return datasetOf({
        RetrieveAETitle: retrieveAeTitle,
        ReferencedSOPSequence: sopItems,
        SeriesInstanceUID: seriesUid,
        RetrieveLocationUID: retrieveLocationUid,
      });
    });
    evidence.push(datasetOf({ StudyInstanceUID: studyUid, ReferencedSeriesSequence: seriesItems }));
    requests.push(
      datasetOf({
        AccessionNumber: check(`${at}.accessionNumber`, study.accessionNumber, 'SH'),
        IssuerOfAccessionNumberSequence: issuerSequence(
          `${at}.accessionIssuer`,
          study.accessionIssuer,
        ),
        ReferencedStudySequence: [],
        StudyInstanceUID: studyUid,
        RequestedProcedureDescription:
          optional(
            `${at}.requestedProcedureDescription`,
            study.requestedProcedureDescription,
            'LO',
          ) ?? '',
        RequestedProcedureCodeSequence: [],
        RequestedProcedureID:
          optional(`${at}.requestedProcedureId`, study.requestedProcedureId, 'SH') ?? '',
        PlacerOrderNumberImagingServiceRequest: '',
        FillerOrderNumberImagingServiceRequest: '',
      }),
    );
  });

  const own = studies[0]!;
  const contentDate = `${pad(when.getUTCFullYear(), 4)}${pad(when.getUTCMonth() + 1)}${pad(when.getUTCDate())}`;
  const contentTime = `${pad(when.getUTCHours())}${pad(when.getUTCMinutes())}${pad(when.getUTCSeconds())}.${pad(when.getUTCMilliseconds(), 3)}`;

  const document = datasetOf({
    // SOP Common
    SOPClassUID: KEY_OBJECT_SELECTION_SOP_CLASS,
    SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: contentDate,
    InstanceCreationTime: contentTime,
    TimezoneOffsetFromUTC: '+0000',
    // Patient
    PatientName: optional('patient.name', patient.name, 'PN') ?? '',
    PatientID: check('patient.id', patient.id, 'LO'),
    IssuerOfPatientID: optional('patient.issuer', patient.issuer, 'LO') || undefined,
    PatientBirthDate: optional('patient.birthDate', patient.birthDate, 'DA') ?? '',
    PatientSex: patient.sex ?? '',
    // General Study, of the study the manifest belongs to
    StudyInstanceUID: own.studyInstanceUid,
    StudyDate: optional('studies[0].studyDate', own.studyDate, 'DA') ?? '',
    StudyTime: optional('studies[0].studyTime', own.studyTime, 'TM') ?? '',
    ReferringPhysicianName:
      optional('studies[0].referringPhysician', own.referringPhysician, 'PN') ?? '',
    StudyID: optional('studies[0].studyId', own.studyId, 'SH') ?? '',
    AccessionNumber: own.accessionNumber,
    IssuerOfAccessionNumberSequence: issuerSequence(
      'studies[0].accessionIssuer',
      own.accessionIssuer,
    ),
    StudyDescription:
      optional('studies[0].studyDescription', own.studyDescription, 'LO') || undefined,
    // Key Object Document Series
    Modality: 'KO',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: checkNumber('seriesNumber', input.seriesNumber),
    ReferencedPerformedProcedureStepSequence: [],
    // General Equipment
    Manufacturer: optional('manufacturer', input.manufacturer, 'LO') ?? '',
    InstitutionName: optional('institutionName', input.institutionName, 'LO') || undefined,
    StationName: optional('stationName', input.stationName, 'SH') || undefined,
    ManufacturerModelName:
      optional('manufacturerModelName', input.manufacturerModelName, 'LO') || undefined,
    SoftwareVersions:
      optional('softwareVersions', input.softwareVersions, 'LO') ?? IMPLEMENTATION_VERSION_NAME,
    // Key Object Document
    InstanceNumber: checkNumber('instanceNumber', input.instanceNumber),
    ContentDate: contentDate,
    ContentTime: contentTime,
    ReferencedRequestSequence: requests,
    CurrentRequestedProcedureEvidenceSequence: evidence,
    // SR Document Content: the root CONTAINER of TID 2010
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [manifestTitle()],
    ContinuityOfContent: 'SEPARATE',
    ContentTemplateSequence: [
      datasetOf({
        MappingResource: 'DCMR',
        MappingResourceUID: DCMR_UID,
        TemplateIdentifier: '2010',
      }),
    ],
    ContentSequence: content,
  });

  const file = Buffer.concat([
    encodeFileMeta({
      sopClassUid: KEY_OBJECT_SELECTION_SOP_CLASS,
      sopInstanceUid,
      transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN,
    }),
    encodeIdentifier(document, { explicitVr: true }),
  ]);
  return { file, sopInstanceUid, seriesInstanceUid, studyInstanceUid: own.studyInstanceUid };
}
