import { describe, expect, it } from 'vitest';
import type { DicomdirPatient } from '../../../src/dicom/dicomdir.js';
import { escapeHtml, indexHtml } from '../../../src/fse/pdi-index-html.js';
import {
  DEFAULT_PDI_SETTINGS,
  manifestOf,
  printable,
  readablePersonName,
  type PdiContact,
  type PdiManifest,
} from '../../../src/fse/pdi-manifest.js';
import { readmeBytes, readmeText } from '../../../src/fse/pdi-readme.js';

/*
 * README.TXT and INDEX.HTM of PDI packages, built from a manifest: both languages, the
 * configured maker and contact (or that they are not configured), the patient and the studies
 * as laid out, the viewer only when one is shipped, and every value made safe for its file.
 */

const HOSTILE_NAME = `O'Brien^<Ann> & "Jo"`;
const CONTACT: PdiContact = {
  institutionName: 'ASL Città di Torino',
  department: 'Radiologia <Centro>',
  phone: '+39 011 555 0101',
  email: 'radiologia@asl.example.it',
  address: 'Via Roma 1, 10121 Torino',
};
const NO_CONTACT: PdiContact = { ...DEFAULT_PDI_SETTINGS };

function instance(series: number, n: number) {
  return {
    fileId: ['DICOM', `S${String(series).padStart(7, '0')}`, `I${String(n).padStart(7, '0')}`],
    sopClassUid: '1.2.840.10008.5.1.4.1.1.4',
    sopInstanceUid: `1.2.3.${series}.${n}`,
    transferSyntaxUid: '1.2.840.10008.1.2.1',
  };
}

/** Two studies as the package lays them out: series folders S0000001-S0000003, S0000004. */
const PATIENTS: DicomdirPatient[] = [
  {
    patientId: '98890234',
    patientName: HOSTILE_NAME,
    studies: [
      {
        studyInstanceUid: '1.2.3.1',
        studyDate: '20030505',
        studyTime: '101500',
        studyDescription: 'RM encefalo & <vasi>',
        accessionNumber: 'A2003-2',
        series: [
          {
            seriesInstanceUid: '1.2.3.1.1',
            modality: 'MR',
            instances: [instance(1, 1), instance(1, 2)],
          },
          { seriesInstanceUid: '1.2.3.1.2', modality: 'SR', instances: [instance(2, 1)] },
          { seriesInstanceUid: '1.2.3.1.3', modality: 'MR', instances: [instance(3, 1)] },
        ],
      },
      {
        studyInstanceUid: '1.2.3.2',
        studyDate: '2004.06.07',
        series: [{ seriesInstanceUid: '1.2.3.2.1', modality: 'CT', instances: [instance(4, 1)] }],
      },
    ],
  },
];

function manifest(contact: PdiContact = CONTACT, viewer = false): PdiManifest {
  return manifestOf(PATIENTS, {
    contact,
    created: new Date('2025-03-04T09:20:00Z'),
    timeZone: 'Europe/Rome',
    viewer,
  });
}

describe('the manifest', () => {
  it('counts series and files per study, with their folders and modalities as laid out', () => {
    const [first, second] = manifest().patients[0]!.studies;
    expect(first).toEqual({
      date: '20030505',
      time: '101500',
      description: 'RM encefalo & <vasi>',
      accessionNumber: 'A2003-2',
      modalities: ['MR', 'SR'],
      series: 3,
      instances: 4,
      folders: ['DICOM/S0000001', 'DICOM/S0000002', 'DICOM/S0000003'],
    });
    // An ACR-NEMA date is repaired as in the DICOMDIR.
    expect(second).toMatchObject({ date: '20040607', series: 1, instances: 1 });
  });

  it('makes DICOM person names readable', () => {
    expect(readablePersonName('Doe^Peter')).toBe('Doe, Peter');
    expect(readablePersonName('Rossi^Maria^Luisa^Dott.ssa^')).toBe('Rossi, Dott.ssa Maria Luisa');
    expect(readablePersonName('Rossi')).toBe('Rossi');
    expect(readablePersonName('^Maria')).toBe('Maria');
    expect(readablePersonName('Yamada^Tarou=山田^太郎=やまだ^たろう')).toBe('Yamada, Tarou');
    expect(readablePersonName('=山田^太郎')).toBe('山田, 太郎');
    expect(readablePersonName('^^^')).toBeUndefined();
    expect(readablePersonName(undefined)).toBeUndefined();
  });

  it('keeps control characters, line breaks and direction overrides out of printed values', () => {
    expect(printable('Rossi\r\nFAKE: line\u0000\u001b[31m\u202eabc\u2028x')).toBe(
      'Rossi FAKE: line [31m abc x',
    );
    expect(printable('a\ud800b')).toBe('a\ufffdb');
    expect(printable('  Müller   Jörg ')).toBe('Müller Jörg');
  });
});

describe('README.TXT', () => {
  const text = readmeText(manifest());

  it('is in Italian and in English', () => {
    expect(text).toContain('ITALIANO');
    expect(text).toContain('ENGLISH');
    expect(text).toContain('Questo pacchetto contiene immagini mediche');
    expect(text).toContain('This package holds medical images');
    expect(text.indexOf('ITALIANO')).toBeLessThan(text.indexOf('ENGLISH'));
  });

  it('names the maker and every contact detail configured, in both languages', () => {
    for (const value of Object.values(CONTACT)) expect(text.split(value)).toHaveLength(3);
    expect(text).toMatch(/Struttura: +ASL Città di Torino/);
    expect(text).toMatch(/Institution: +ASL Città di Torino/);
    expect(text).toMatch(/Telefono: +\+39 011 555 0101/);
    expect(text).toMatch(/E-mail: +radiologia@asl\.example\.it/);
    expect(text).toMatch(/Created with: +PACSFSEBRIDGE01/);
  });

  it('says plainly when the institution and its contacts are not configured', () => {
    const bare = readmeText(manifest(NO_CONTACT));
    expect(bare).toMatch(/Struttura: +\[struttura non configurata\]/);
    expect(bare).toMatch(/\[contatti non configurati\]/);
    expect(bare).toMatch(/Institution: +\[institution not configured\]/);
    expect(bare).toMatch(/\[contact details not configured\]/);
    expect(bare).not.toMatch(/Telefono|Phone:/);
  });

  it('lists the patient, each study and the creation date', () => {
    expect(text).toMatch(/Nome: +O'Brien, <Ann> & "Jo"/);
    expect(text).toMatch(/Name: +O'Brien, <Ann> & "Jo"/);
    expect(text).toMatch(/Codice paziente: +98890234/);
    expect(text).toMatch(/1\. +Data: +05\/05\/2003, ore 10:15/);
    expect(text).toMatch(/1\. +Date: +2003-05-05 10:15/);
    expect(text).toMatch(/Descrizione: +RM encefalo & <vasi>/);
    expect(text).toMatch(/Modalità: +MR, SR/);
    expect(text).toMatch(/Serie: +3\r\n/);
    expect(text).toMatch(/File DICOM: +4\r\n/);
    expect(text).toMatch(/DICOM files: +1\r\n/);
    expect(text).toMatch(/Cartelle: +DICOM\/S0000001 - DICOM\/S0000003/);
    expect(text).toMatch(/2\. +Date: +2004-06-07/);
    expect(text).toMatch(/Descrizione: +\(non disponibile\)/);
    // 09:20 UTC is 10:20 in Rome in March.
    expect(text).toContain('04/03/2025, ore 10:20 (fuso orario Europe/Rome)');
    expect(text).toContain('2025-03-04 10:20 (time zone Europe/Rome)');
  });

  it('says what each folder holds, and that no viewer is included unless one is shipped', () => {
    for (const part of ['DICOMDIR ', 'DICOM/ ', 'INDEX.HTM ', 'README.TXT '])
      expect(text.split(`\r\n  ${part}`)).toHaveLength(3);
    expect(text).not.toContain('VIEWER/');
    expect(text).toContain('non contiene alcun programma di visualizzazione');
    expect(text).toContain('This package includes no viewer');
    const withViewer = readmeText(manifest(CONTACT, true));
    expect(withViewer.split('\r\n  VIEWER/ ')).toHaveLength(3);
    expect(withViewer).toContain('La cartella VIEWER contiene un programma');
    expect(withViewer).toContain('The VIEWER folder holds a viewer');
    expect(withViewer).not.toContain('includes no viewer');
  });

  it('keeps a value with line breaks on its line', () => {
    const forged = readmeText(
      manifestOf([{ ...PATIENTS[0]!, patientName: 'Rossi^Mario\r\nPaziente: Bianchi' }], {
        contact: { ...CONTACT, address: 'Via Roma 1\nTelefono: 000' },
        created: new Date(),
        timeZone: 'UTC',
        viewer: false,
      }),
    );
    expect(forged).toMatch(/Nome: +Rossi, Mario Paziente: Bianchi\r\n/);
    expect(forged).toMatch(/Indirizzo: +Via Roma 1 Telefono: 000\r\n/);
  });

  it('is UTF-8 with a byte-order mark, CRLF lines of at most 76 characters for prose', () => {
    const bytes = readmeBytes(manifest());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const decoded = bytes.subarray(3).toString('utf8');
    expect(decoded).toBe(text);
    expect(decoded).toContain('Città');
    expect(decoded.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    for (const line of decoded.split('\r\n').filter((l) => !/:/.test(l)))
      expect(line.length).toBeLessThanOrEqual(76);
  });
});

describe('INDEX.HTM', () => {
  const html = indexHtml(manifest());

  it('escapes every value taken from the data or the configuration', () => {
    expect(escapeHtml(`<&>"'`)).toBe('&lt;&amp;&gt;&quot;&#39;');
    expect(html).toContain('O&#39;Brien, &lt;Ann&gt; &amp; &quot;Jo&quot;');
    expect(html).toContain('RM encefalo &amp; &lt;vasi&gt;');
    expect(html).toContain('Radiologia &lt;Centro&gt;');
    expect(html).not.toContain('<Ann>');
    expect(html).not.toContain('<vasi>');
    expect(html).not.toContain('<Centro>');
    expect(html).not.toContain('"Jo"');
  });

  it('is in Italian and in English, each marked with its language', () => {
    expect(html).toMatch(/^<!DOCTYPE html>\n<html [^>]*lang="it"/);
    expect(html).toContain('<div class="lang" lang="it" xml:lang="it">');
    expect(html).toContain('<div class="lang" lang="en" xml:lang="en">');
    expect(html).toContain('Questo pacchetto contiene immagini mediche');
    expect(html).toContain('This package holds medical images');
    expect(html).toContain('<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />');
  });

  it('holds the maker, the contacts, the patient, the studies and the creation date', () => {
    for (const value of ['ASL Città di Torino', '+39 011 555 0101', 'radiologia@asl.example.it'])
      expect(html.split(value)).toHaveLength(3);
    expect(html).toContain('<td>98890234</td>');
    expect(html).toContain('<td>05/05/2003, ore 10:15</td>');
    expect(html).toContain('<td>2003-05-05 10:15</td>');
    expect(html).toContain('<td>MR, SR</td><td>3</td><td>4</td>');
    expect(html).toContain('<td>CT</td><td>1</td><td>1</td><td>DICOM/S0000004</td>');
    expect(html).toContain('04/03/2025, ore 10:20 (fuso orario Europe/Rome)');
    const bare = indexHtml(manifest(NO_CONTACT));
    expect(bare).toContain('[struttura non configurata]');
    expect(bare).toContain('[institution not configured]');
  });

  it('has no script and no external resource: its only links are README.TXT and the viewer', () => {
    for (const page of [html, indexHtml(manifest(CONTACT, true))]) {
      expect(page).not.toMatch(/<script|<link|<img|<iframe|<object|<embed|url\(|@import/i);
      expect(page.replace('xmlns="http://www.w3.org/1999/xhtml"', '')).not.toMatch(
        /https?:|ftp:|\/\//i,
      );
    }
    const links = (page: string) => [...page.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);
    expect(new Set(links(html))).toEqual(new Set(['README.TXT']));
    expect(new Set(links(indexHtml(manifest(CONTACT, true))))).toEqual(
      new Set(['README.TXT', 'VIEWER/']),
    );
    expect(html).toContain('non contiene alcun programma di visualizzazione');
  });
});
