/**
 * INDEX.HTM of a PDI package (IHE RAD TF-3 4.47, web content): the entry point a browser opens,
 * saying what README.TXT says, in Italian and in English, with a link to README.TXT (and to the
 * viewer's folder when one is shipped).
 *
 * Self-contained: no script, no external resource (its style sheet is inline, its only links are
 * relative ones to files of the package), so it shows the same offline from any medium. Written
 * as polyglot XHTML (HTML that is also well-formed XML) with only HTML 4 elements, for old
 * browsers and for XML tools. Every value from the data or the configuration is HTML-escaped
 * after `printable`, so a patient name such as `O'Brien^<Ann> & "Jo"` stays text.
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
  type Language,
  type Row,
  type Wording,
} from './pdi-wording.js';

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** `value` as HTML text or attribute value (double-quoted): printable, then escaped. */
export function escapeHtml(value: string): string {
  return printable(value).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

const STYLE = [
  'body{font-family:Arial,Helvetica,sans-serif;margin:2em;max-width:60em;color:#111}',
  'h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #999;margin-top:2em}',
  'h3{font-size:1.05em}',
  'table{border-collapse:collapse;margin:.5em 0}',
  'th,td{border:1px solid #999;padding:.25em .5em;text-align:left;vertical-align:top}',
  'th{background:#eee}',
  '.lang{border-top:3px double #666;margin-top:2em}',
].join('');

function table(rows: Row[]): string {
  const body = rows
    .map(([label, value]) => `<tr><th>${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`)
    .join('');
  return `<table><tbody>${body}</tbody></table>`;
}

/** One row per study, one column per field. */
function studiesTable(rows: Row[][]): string {
  const head = (rows[0] ?? []).map(([label]) => `<th>${escapeHtml(label)}</th>`).join('');
  const body = rows
    .map((row) => `<tr>${row.map(([, value]) => `<td>${escapeHtml(value)}</td>`).join('')}</tr>`)
    .join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function link(href: string): string {
  return `<a href="${escapeHtml(href)}">${escapeHtml(href)}</a>`;
}

function paragraph(text: string): string {
  return `<p>${escapeHtml(text)}</p>`;
}

function section(manifest: PdiManifest, language: Language, w: Wording): string {
  const patients = manifest.patients.map(
    (patient) =>
      `<h3>${escapeHtml(w.patient)}</h3>${table(patientRows(patient, w))}` +
      `<h3>${escapeHtml(w.studies)}</h3>${studiesTable(patient.studies.map((s) => studyRows(s, w)))}`,
  );
  const parts = contentRows(manifest, w)
    .map(([part, what]) => {
      const name = part === 'README.TXT' || part === 'VIEWER/' ? link(part) : escapeHtml(part);
      return `<tr><th>${name}</th><td>${escapeHtml(what)}</td></tr>`;
    })
    .join('');
  const steps = w.steps.map((step) => `<li>${escapeHtml(step)}</li>`).join('');
  return [
    `<div class="lang" lang="${language}" xml:lang="${language}">`,
    `<h1>${escapeHtml(w.title)}</h1>`,
    paragraph(w.intro),
    `<h2>${escapeHtml(w.madeBy)}</h2>`,
    table(contactRows(manifest.contact, w)),
    paragraph(w.contactHint),
    table(creationRows(manifest, w)),
    ...patients,
    `<h2>${escapeHtml(w.contents)}</h2>`,
    `<table><tbody>${parts}</tbody></table>`,
    `<h2>${escapeHtml(w.viewer)}</h2>`,
    paragraph(manifest.viewer ? w.viewerIncluded : w.viewerNone),
    `<h2>${escapeHtml(w.howToOpen)}</h2>`,
    `<ol>${steps}</ol>`,
    `<h2>${escapeHtml(w.privacy)}</h2>`,
    paragraph(w.privacyText),
    '</div>',
  ].join('\n');
}

/** The text of INDEX.HTM (UTF-8, as its meta element says). */
export function indexHtml(manifest: PdiManifest): string {
  const title = LANGUAGES.map((l) => WORDING[l].title).join(' / ');
  return [
    '<!DOCTYPE html>',
    '<html xmlns="http://www.w3.org/1999/xhtml" lang="it" xml:lang="it">',
    '<head>',
    '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />',
    `<title>${escapeHtml(title)}</title>`,
    `<style type="text/css">${STYLE}</style>`,
    '</head>',
    '<body>',
    ...LANGUAGES.map((l) => section(manifest, l, WORDING[l])),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
