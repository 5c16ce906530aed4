/**
 * The words of README.TXT and INDEX.HTM, in Italian and in English: both files say the same
 * things, in the same order, from these. Values taken from data are formatted here too (dates,
 * times, values not given), so both files show them alike.
 */
import type { ManifestPatient, ManifestStudy, PdiContact, PdiManifest } from './pdi-manifest.js';

export type Language = 'it' | 'en';

/** Italian first: the package is for the patients of an Italian health company. */
export const LANGUAGES: readonly Language[] = ['it', 'en'];

/** The folders and files of a package, in the order they are described. */
export type PackagePart = 'DICOMDIR' | 'DICOM/' | 'VIEWER/' | 'INDEX.HTM' | 'README.TXT';

export interface Wording {
  language: string;
  title: string;
  intro: string;
  madeBy: string;
  contact: Record<keyof PdiContact, string>;
  notConfigured: { institution: string; contact: string };
  contactHint: string;
  created: string;
  software: string;
  patient: string;
  patientName: string;
  patientId: string;
  studies: string;
  study: {
    date: string;
    description: string;
    accessionNumber: string;
    modalities: string;
    series: string;
    instances: string;
    folders: string;
  };
  notGiven: string;
  contents: string;
  parts: Record<PackagePart, string>;
  viewer: string;
  viewerIncluded: string;
  viewerNone: string;
  howToOpen: string;
  steps: string[];
  privacy: string;
  privacyText: string;
  /** A DICOM date (YYYYMMDD) and optional time (HHMM...) as this language writes them. */
  date(date: string, time?: string): string;
  /** The creation date, in `timeZone`. */
  createdAt(date: Date, timeZone: string): string;
}

/** Year, month, day, hour and minute of `date` in `timeZone`, zero-padded. */
function parts(date: Date, timeZone: string): Record<'y' | 'm' | 'd' | 'h' | 'min', string> {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const part = (type: Intl.DateTimeFormatPartTypes): string =>
    format.formatToParts(date).find((p) => p.type === type)?.value ?? '';
  return {
    y: part('year'),
    m: part('month'),
    d: part('day'),
    h: part('hour'),
    min: part('minute'),
  };
}

/** `HH:MM` of a DICOM time, or '' when it has no minutes. */
function clock(time: string | undefined): string {
  const match = /^(\d{2})(\d{2})/.exec(time ?? '');
  return match ? `${match[1]}:${match[2]}` : '';
}

const ITALIAN: Wording = {
  language: 'ITALIANO',
  title: 'Immagini mediche DICOM - pacchetto IHE PDI',
  intro:
    'Questo pacchetto contiene immagini mediche in formato DICOM e il loro indice DICOMDIR, come previsto dal profilo IHE PDI (Portable Data for Imaging) e dallo standard DICOM (PS3.10). Le immagini sono copie esatte di quelle conservate dalla struttura sanitaria indicata qui sotto.',
  madeBy: 'Prodotto da',
  contact: {
    institutionName: 'Struttura',
    department: 'Reparto',
    phone: 'Telefono',
    email: 'E-mail',
    address: 'Indirizzo',
  },
  notConfigured: {
    institution: '[struttura non configurata]',
    contact: '[contatti non configurati]',
  },
  contactHint: 'Per domande su queste immagini rivolgersi alla struttura indicata.',
  created: 'Creato il',
  software: 'Creato con',
  patient: 'Paziente',
  patientName: 'Nome',
  patientId: 'Codice paziente',
  studies: 'Studi',
  study: {
    date: 'Data',
    description: 'Descrizione',
    accessionNumber: 'Numero di accesso',
    modalities: 'Modalità',
    series: 'Serie',
    instances: 'File DICOM',
    folders: 'Cartelle',
  },
  notGiven: '(non disponibile)',
  contents: 'Contenuto del pacchetto',
  parts: {
    DICOMDIR: "l'indice di pazienti, studi, serie e immagini (DICOM PS3.10)",
    'DICOM/':
      'le immagini: una cartella Snnnnnnn per serie, un file Innnnnnn (senza estensione) per immagine o documento',
    'VIEWER/': 'un programma di visualizzazione fornito dalla struttura',
    'INDEX.HTM': 'questa descrizione, da aprire con un browser',
    'README.TXT': 'questa descrizione in testo semplice',
  },
  viewer: 'Programma di visualizzazione',
  viewerIncluded:
    'La cartella VIEWER contiene un programma di visualizzazione fornito dalla struttura: i suoi file spiegano come avviarlo. Si può usare anche qualsiasi altro visualizzatore DICOM.',
  viewerNone:
    'Questo pacchetto non contiene alcun programma di visualizzazione. Per vedere le immagini serve un visualizzatore DICOM (ne esistono di gratuiti) o il programma del proprio medico.',
  howToOpen: 'Come aprire le immagini',
  steps: [
    "Estrarre tutto l'archivio ZIP in una cartella vuota, mantenendo le sottocartelle.",
    'Aprire il file DICOMDIR (o la cartella estratta) con un visualizzatore DICOM: la maggior parte offre "Apri DICOMDIR" o "Importa da CD/DVD/cartella".',
    'I file delle immagini non si aprono uno per uno con i normali programmi per le fotografie.',
  ],
  privacy: 'Riservatezza',
  privacyText:
    'Questo pacchetto contiene dati personali sulla salute: conservarlo con cura e condividerlo solo con chi ha in cura la persona interessata.',
  date: (date, time) => {
    const day = `${date.slice(6, 8)}/${date.slice(4, 6)}/${date.slice(0, 4)}`;
    return clock(time) ? `${day}, ore ${clock(time)}` : day;
  },
  createdAt: (date, timeZone) => {
    const { y, m, d, h, min } = parts(date, timeZone);
    return `${d}/${m}/${y}, ore ${h}:${min} (fuso orario ${timeZone})`;
  },
};

const ENGLISH: Wording = {
  language: 'ENGLISH',
  title: 'DICOM medical images - IHE PDI package',
  intro:
    'This package holds medical images in DICOM format and their DICOMDIR index, as described by the IHE PDI (Portable Data for Imaging) profile and by the DICOM standard (PS3.10). The images are exact copies of those kept by the health institution named below.',
  madeBy: 'Made by',
  contact: {
    institutionName: 'Institution',
    department: 'Department',
    phone: 'Phone',
    email: 'E-mail',
    address: 'Address',
  },
  notConfigured: {
    institution: '[institution not configured]',
    contact: '[contact details not configured]',
  },
  contactHint: 'For questions about these images, contact the institution named here.',
  created: 'Created on',
  software: 'Created with',
  patient: 'Patient',
  patientName: 'Name',
  patientId: 'Patient ID',
  studies: 'Studies',
  study: {
    date: 'Date',
    description: 'Description',
    accessionNumber: 'Accession number',
    modalities: 'Modality',
    series: 'Series',
    instances: 'DICOM files',
    folders: 'Folders',
  },
  notGiven: '(not given)',
  contents: 'Contents of the package',
  parts: {
    DICOMDIR: 'the index of the patients, studies, series and images (DICOM PS3.10)',
    'DICOM/':
      'the images: one folder Snnnnnnn per series, one file Innnnnnn (no extension) per image or document',
    'VIEWER/': 'a viewer provided by the institution',
    'INDEX.HTM': 'this description, to open with a web browser',
    'README.TXT': 'this description as plain text',
  },
  viewer: 'Viewer',
  viewerIncluded:
    'The VIEWER folder holds a viewer provided by the institution: its files say how to start it. Any other DICOM viewer can be used as well.',
  viewerNone:
    "This package includes no viewer. To see the images, use a DICOM viewer (free ones exist) or your doctor's software.",
  howToOpen: 'How to open the images',
  steps: [
    'Extract the whole ZIP archive into an empty folder, keeping its folder structure.',
    'Open the DICOMDIR file (or the extracted folder) with a DICOM viewer: most viewers offer "Open DICOMDIR" or "Import from CD/DVD/folder".',
    'The image files are not meant to be opened one by one with ordinary picture viewers.',
  ],
  privacy: 'Privacy',
  privacyText:
    'This package contains personal health information: keep it safe and share it only with the people who care for the patient.',
  date: (date, time) => {
    const day = `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}`;
    return clock(time) ? `${day} ${clock(time)}` : day;
  },
  createdAt: (date, timeZone) => {
    const { y, m, d, h, min } = parts(date, timeZone);
    return `${y}-${m}-${d} ${h}:${min} (time zone ${timeZone})`;
  },
};

export const WORDING: Readonly<Record<Language, Wording>> = { it: ITALIAN, en: ENGLISH };

/** A labelled value, as both files print it. */
export type Row = [label: string, value: string];

/**
 * Who made the package: the institution (or that it is not configured), then each contact
 * detail configured, or that none is.
 */
export function contactRows(contact: PdiContact, w: Wording): Row[] {
  const rows: Row[] = [
    [w.contact.institutionName, contact.institutionName || w.notConfigured.institution],
  ];
  for (const key of ['department', 'phone', 'email', 'address'] as const)
    if (contact[key] !== '') rows.push([w.contact[key], contact[key]]);
  if (rows.length === 1) rows.push([w.contact.department, w.notConfigured.contact]);
  return rows;
}

export function creationRows(manifest: PdiManifest, w: Wording): Row[] {
  return [
    [w.created, w.createdAt(manifest.created, manifest.timeZone)],
    [w.software, manifest.software],
  ];
}

export function patientRows(patient: ManifestPatient, w: Wording): Row[] {
  return [
    [w.patientName, patient.name ?? w.notGiven],
    [w.patientId, patient.id ?? w.notGiven],
  ];
}

/** Every field of a study, in the same order for each. */
export function studyRows(study: ManifestStudy, w: Wording): Row[] {
  const folders =
    study.folders.length > 1
      ? `${study.folders[0]} - ${study.folders.at(-1)}`
      : (study.folders[0] ?? '');
  return [
    [w.study.date, study.date ? w.date(study.date, study.time) : w.notGiven],
    [w.study.description, study.description ?? w.notGiven],
    [w.study.accessionNumber, study.accessionNumber ?? w.notGiven],
    [w.study.modalities, study.modalities.join(', ')],
    [w.study.series, String(study.series)],
    [w.study.instances, String(study.instances)],
    [w.study.folders, folders],
  ];
}

/** The folders and files of the package, each with what it holds. */
export function contentRows(manifest: PdiManifest, w: Wording): Row[] {
  const parts: PackagePart[] = ['DICOMDIR', 'DICOM/', 'INDEX.HTM', 'README.TXT'];
  if (manifest.viewer) parts.push('VIEWER/');
  return parts.map((part) => [part, w.parts[part]]);
}
