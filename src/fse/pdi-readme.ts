/**
 * README.TXT of a PDI package (IHE RAD TF-3 4.47): who made it and whom to contact, the software
 * and the date, the patients and studies it holds, what each folder holds, whether a viewer is
 * included and how to open the images; in Italian, then in English.
 *
 * Encoded as UTF-8 with a byte-order mark and CRLF line ends: the BOM makes Windows Notepad and
 * other editors read it as UTF-8, and UTF-8 holds any patient name (a DICOM name may be in any
 * script, which Latin-1 or ASCII could only transliterate). Every value from the data or the
 * configuration goes through `printable`, so none can add lines or control characters.
 */
import { printable, type PdiManifest } from './pdi-manifest.js';
import {
  contactRows,
  contentRows,
  creationRows,
  LANGUAGES,
  patientRows,
  studyRows,
  WORDING,
  type Row,
  type Wording,
} from './pdi-wording.js';

const WIDTH = 76;
const RULE = '='.repeat(WIDTH);

/** `text` in lines of at most WIDTH characters (a longer word keeps its own line). */
function wrap(text: string, indent: string, firstIndent = indent): string[] {
  const lines: string[] = [];
  let line = firstIndent;
  let empty = true;
  for (const word of printable(text).split(' ')) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = indent;
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines;
}

/** Labelled values, aligned, each value wrapped under itself. */
function rows(list: Row[], indent = '  ', firstIndent = indent): string[] {
  const width = Math.max(...list.map(([label]) => label.length)) + 2;
  return list.flatMap(([label, value], i) => {
    const head = `${i === 0 ? firstIndent : indent}${`${label}:`.padEnd(width)}`;
    return wrap(value, ' '.repeat(head.length), head);
  });
}

function section(title: string, body: string[]): string[] {
  return [title.toUpperCase(), ...body, ''];
}

function language(manifest: PdiManifest, w: Wording): string[] {
  const contact = rows(contactRows(manifest.contact, w));
  const patients = manifest.patients.flatMap((patient) => {
    const studies = patient.studies.flatMap((study, i) => [
      ...rows(studyRows(study, w), ' '.repeat(6), `  ${i + 1}.`.padEnd(6)),
      '',
    ]);
    return [
      ...section(w.patient, rows(patientRows(patient, w))),
      ...section(w.studies, studies.slice(0, -1)),
    ];
  });
  const parts = contentRows(manifest, w).map(([part, what]) =>
    wrap(what, ' '.repeat(15), `  ${part.padEnd(13)}`),
  );
  return [
    RULE,
    w.language,
    RULE,
    '',
    ...wrap(w.intro, ''),
    '',
    ...section(w.madeBy, [
      ...contact,
      ...wrap(w.contactHint, '  '),
      '',
      ...rows(creationRows(manifest, w)),
    ]),
    ...patients,
    ...section(w.contents, parts.flat()),
    ...section(w.viewer, wrap(manifest.viewer ? w.viewerIncluded : w.viewerNone, '  ')),
    ...section(
      w.howToOpen,
      w.steps.flatMap((step, i) => wrap(step, '     ', `  ${i + 1}. `)),
    ),
    ...section(w.privacy, wrap(w.privacyText, '  ')),
  ];
}

/** The text of README.TXT: both titles, then each language in full. CRLF line ends. */
export function readmeText(manifest: PdiManifest): string {
  const lines = [
    ...LANGUAGES.map((l) => WORDING[l].title.toUpperCase()),
    '',
    ...LANGUAGES.flatMap((l) => language(manifest, WORDING[l])),
  ];
  return lines.map((line) => line.trimEnd()).join('\r\n');
}

/** README.TXT as stored: UTF-8 with a byte-order mark. */
export function readmeBytes(manifest: PdiManifest): Buffer {
  return Buffer.from(`\ufeff${readmeText(manifest)}`, 'utf8');
}
