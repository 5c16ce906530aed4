/**
 * What a PDI package says about itself in README.TXT and INDEX.HTM: who made it and whom to
 * contact (`onDemand.pdi`), when, with what software, and which patients, studies and folders it
 * holds. Built from the laid-out hierarchy, so the counts and folders are those of the ZIP.
 */
import { cleanValue, type DicomdirPatient } from '../dicom/dicomdir.js';
import { IMPLEMENTATION_VERSION_NAME } from '../dimse/implementation.js';
import type { PdiConversion } from './pdi-conversion.js';

/** Who made the package and whom to contact; an empty value is one not configured. */
export interface PdiContact {
  institutionName: string;
  department: string;
  phone: string;
  email: string;
  address: string;
}

/** The `onDemand.pdi` settings. */
export interface PdiSettings extends PdiContact, PdiConversion {
  /** Directory whose files are shipped under `VIEWER/`; empty ships no viewer. */
  viewerDir: string;
  /** IANA time zone the creation date is written in. */
  timeZone: string;
}

export const DEFAULT_PDI_SETTINGS: Readonly<PdiSettings> = {
  institutionName: '',
  department: '',
  phone: '',
  email: '',
  address: '',
  viewerDir: '',
  timeZone: 'Europe/Rome',
  transferSyntax: 'as-stored',
  decompressLossy: false,
};

export interface ManifestStudy {
  /** YYYYMMDD, as in the DICOMDIR; undefined when the study has none. */
  date: string | undefined;
  /** HHMM[SS...], as in the DICOMDIR. */
  time: string | undefined;
  description: string | undefined;
  accessionNumber: string | undefined;
  /** Modalities of its series, each once, in series order. */
  modalities: string[];
  series: number;
  /** DICOM files of the study in the package. */
  instances: number;
  /** The series folders, e.g. `DICOM/S0000001`. */
  folders: string[];
}

export interface ManifestPatient {
  /** The name made readable (see `readablePersonName`). */
  name: string | undefined;
  id: string | undefined;
  studies: ManifestStudy[];
}

export interface PdiManifest {
  contact: PdiContact;
  created: Date;
  timeZone: string;
  /** The software that made the package, as it names itself in DICOM. */
  software: string;
  patients: ManifestPatient[];
  /** A viewer is shipped under `VIEWER/`. */
  viewer: boolean;
}

/** C0 and C1 controls, DEL, line and paragraph separators and bidirectional overrides. */
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
export const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/**
 * Text fit to print in a plain-text or HTML file: control characters, line and paragraph
 * separators and bidirectional overrides (which could make a value read as something else)
 * become spaces, unpaired surrogates U+FFFD; runs of white space become one space.
 */
export function printable(value: string | undefined): string {
  if (value === undefined) return '';
  return value
    .replace(new RegExp(UNPRINTABLE, 'g'), ' ')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * A DICOM person name (PN: `family^given^middle^prefix^suffix`, up to three `=`-separated
 * groups) as people write it: `Family, Prefix Given Middle Suffix`, from its first group that
 * has a name (the alphabetic one, unless only the ideographic or phonetic one is given).
 */
export function readablePersonName(value: string | undefined): string | undefined {
  const group = printable(value)
    .split('=')
    .find((candidate) => candidate.replace(/\^/g, '').trim() !== '');
  if (group === undefined) return undefined;
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = group
    .split('^')
    .map((part) => part.trim());
  const rest = [prefix, given, middle, suffix].filter((part) => part !== '').join(' ');
  return family !== '' && rest !== '' ? `${family}, ${rest}` : family || rest;
}

function optional(value: string | undefined): string | undefined {
  const text = printable(value);
  return text === '' ? undefined : text;
}

/**
 * The manifest of `patients` as laid out in the package (each instance with its File ID,
 * `DICOM/Snnnnnnn/Innnnnnn`). Dates, times and modalities are those the DICOMDIR holds.
 */
export function manifestOf(
  patients: DicomdirPatient[],
  options: { contact: PdiContact; created: Date; timeZone: string; viewer: boolean },
): PdiManifest {
  return {
    contact: options.contact,
    created: options.created,
    timeZone: options.timeZone,
    software: IMPLEMENTATION_VERSION_NAME,
    viewer: options.viewer,
    patients: patients.map((patient) => ({
      name: readablePersonName(patient.patientName),
      id: optional(patient.patientId),
      studies: patient.studies.map((study) => {
        const modalities = study.series.map((series) => cleanValue('CS', series.modality) ?? 'OT');
        const folders = study.series.flatMap((series) => {
          const fileId = series.instances[0]?.fileId;
          return fileId ? [fileId.slice(0, -1).join('/')] : [];
        });
        return {
          date: cleanValue('DA', study.studyDate),
          time: cleanValue('TM', study.studyTime),
          description: optional(study.studyDescription),
          accessionNumber: optional(study.accessionNumber),
          modalities: [...new Set(modalities)],
          series: study.series.length,
          instances: study.series.reduce((sum, series) => sum + series.instances.length, 0),
          folders,
        };
      }),
    })),
  };
}
