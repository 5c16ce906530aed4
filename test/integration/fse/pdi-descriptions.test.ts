import {
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PdiContact, PdiSettings } from '../../../src/fse/pdi-manifest.js';
import { PdiPackageError, writePdiZip, type PdiInput } from '../../../src/fse/pdi-package.js';
import { openSampleFile, pdiInputOf } from '../../helpers/pdi-input.js';
import { SAMPLES_DIR, filesUnder, sampleFacts } from '../../helpers/samples.js';
import { runTool } from '../../helpers/tools.js';

/*
 * README.TXT and INDEX.HTM of real PDI packages, unpacked with Info-ZIP's unzip: the patients,
 * studies, maker and contacts in Italian and English, INDEX.HTM parsed by libxml2 (xmllint) as
 * HTML and as XML, with nothing that reaches outside the package; and the viewer directory
 * shipped under VIEWER/ only when one is configured.
 */

const HOSTILE_NAME = `O'Brien^<Ann> & "Jo"^^Dr.`;
const SETTINGS: Partial<PdiContact> = {
  institutionName: 'ASL Città di Torino & <Collegno>',
  department: 'Radiologia',
  phone: '+39 011 555 0101',
  email: 'radiologia@asl.example.it',
  address: 'Via Roma 1, 10121 Torino',
};

let dir: string;
let input: PdiInput;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pdi-descriptions-'));
  const files = [
    ...filesUnder(join(SAMPLES_DIR, 'studies', '98892003')),
    join(SAMPLES_DIR, 'single', 'CT_small.dcm'),
  ];
  input = pdiInputOf(await Promise.all(files.map(sampleFacts)));
  // The index's values, as the daemon reads them from the stored instances.
  input.patients.forEach((patient, p) => {
    patient.patientName = p === 0 ? HOSTILE_NAME : 'Müller^Jörg';
    patient.studies.forEach((study, s) => {
      study.studyDate = `2003050${s + 1}`;
      study.studyDescription = `Studio ${p + 1}.${s + 1} & <contrasto>`;
    });
  });
  expect(input.patients.map((p) => p.patientId)).toEqual(['98890234', expect.any(String)]);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Write `input` with `settings` to a ZIP, unpack it; its entry names and unpacked folder. */
async function unpack(name: string, settings?: Partial<PdiSettings>) {
  const zip = join(dir, `${name}.zip`);
  await writePdiZip(
    { ...input, ...(settings ? { settings } : {}) },
    createWriteStream(zip),
    openSampleFile,
  );
  const tested = await runTool('unzip', ['-t', zip]);
  expect(tested.code, tested.stdout + tested.stderr).toBe(0);
  const names = (await runTool('unzip', ['-Z1', zip])).stdout.trim().split('\n');
  const folder = join(dir, name);
  const unzipped = await runTool('unzip', ['-q', zip, '-d', folder]);
  expect(unzipped.code, unzipped.stderr).toBe(0);
  return { names, folder };
}

describe('a package with the institution configured', () => {
  let names: string[];
  let folder: string;
  let readme: string;
  let html: string;

  beforeAll(async () => {
    ({ names, folder } = await unpack('configured', SETTINGS));
    const bytes = readFileSync(join(folder, 'README.TXT'));
    expect([...bytes.subarray(0, 3)], 'UTF-8 byte-order mark').toEqual([0xef, 0xbb, 0xbf]);
    readme = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(3));
    html = readFileSync(join(folder, 'INDEX.HTM'), 'utf8');
  });

  it('has README.TXT and INDEX.HTM at the root, ISO 9660 names for the DICOM tree', () => {
    expect(names).toContain('README.TXT');
    expect(names).toContain('INDEX.HTM');
    for (const entry of names.filter((n) => !['DICOMDIR', 'README.TXT', 'INDEX.HTM'].includes(n)))
      expect(entry).toMatch(/^DICOM\/S\d{7}\/I\d{7}$/);
  });

  it('README.TXT names the maker and the contacts, in Italian and English', () => {
    expect(readme).toContain('ITALIANO');
    expect(readme).toContain('ENGLISH');
    for (const value of Object.values(SETTINGS)) expect(readme.split(value)).toHaveLength(3);
    expect(readme).toContain('Creato il:  02/01/2024, ore 04:04 (fuso orario Europe/Rome)');
    expect(readme).toContain('Created on:   2024-01-02 04:04 (time zone Europe/Rome)');
    expect(readme).toContain('This package includes no viewer');
    expect(readme).toContain('non contiene alcun programma di visualizzazione');
  });

  it('README.TXT lists each patient and each study, with the files its folders hold', () => {
    expect(readme).toMatch(/Nome: +O'Brien, Dr\. <Ann> & "Jo"\r\n/);
    expect(readme).toMatch(/Name: +Müller, Jörg\r\n/);
    for (const patient of input.patients) {
      expect(readme).toMatch(new RegExp(`Codice paziente: +${patient.patientId}\\r\\n`));
      for (const study of patient.studies) {
        expect(readme).toContain(study.studyDescription);
        expect(readme).toContain(`${study.studyDate!.slice(6)}/05/2003`);
        expect(readme).toContain(`2003-05-${study.studyDate!.slice(6)}`);
      }
    }
    // Each study's count of DICOM files is what its folders hold in the ZIP.
    const studies = [
      ...readme
        .split('ENGLISH')[0]!
        .matchAll(/File DICOM: +(\d+)\r\n +Cartelle: +(\S+)(?: - (\S+))?/g),
    ];
    expect(studies).toHaveLength(input.patients.flatMap((p) => p.studies).length);
    let total = 0;
    for (const [, count, first, last] of studies) {
      const inRange = names.filter((n) => {
        const series = n.split('/').slice(0, 2).join('/');
        return n.startsWith('DICOM/') && series >= first! && series <= (last ?? first!);
      });
      expect(inRange).toHaveLength(Number(count));
      total += Number(count);
    }
    expect(total).toBe(names.filter((n) => n.startsWith('DICOM/')).length);
  });

  it('INDEX.HTM parses as HTML and as XML, without a single complaint', async () => {
    const asHtml = await runTool('xmllint', ['--html', '--noout', join(folder, 'INDEX.HTM')]);
    expect(asHtml.code).toBe(0);
    expect(asHtml.stdout + asHtml.stderr).toBe('');
    const asXml = await runTool('xmllint', ['--noout', join(folder, 'INDEX.HTM')]);
    expect(asXml.code, asXml.stderr).toBe(0);
    expect(asXml.stdout + asXml.stderr).toBe('');
  });

  it('INDEX.HTM holds the patients, the studies and the institution, escaped', () => {
    expect(html).toContain('O&#39;Brien, Dr. &lt;Ann&gt; &amp; &quot;Jo&quot;');
    expect(html).toContain('Müller, Jörg');
    expect(html).toContain('ASL Città di Torino &amp; &lt;Collegno&gt;');
    expect(html).toContain('Studio 1.1 &amp; &lt;contrasto&gt;');
    expect(html).toContain('<td>01/05/2003</td>');
    for (const patient of input.patients) expect(html).toContain(`<td>${patient.patientId}</td>`);
    expect(html).not.toContain('<Ann>');
    expect(html).not.toContain('<contrasto>');
  });

  it('INDEX.HTM runs nothing and reaches nothing outside the package', () => {
    expect(html).not.toMatch(/<script|<link|<img|<iframe|<object|<embed|url\(|@import/i);
    expect(html.replace('xmlns="http://www.w3.org/1999/xhtml"', '')).not.toMatch(
      /https?:|ftp:|\/\//i,
    );
    const links = [...html.matchAll(/(?:href|src)="([^"]*)"/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(names).toContain(link);
  });
});

describe('a package without configuration', () => {
  it('says the institution and its contacts are not configured, and ships no viewer', async () => {
    const { names, folder } = await unpack('bare');
    const readme = readFileSync(join(folder, 'README.TXT'), 'utf8');
    expect(readme).toMatch(/Struttura: +\[struttura non configurata\]/);
    expect(readme).toMatch(/Institution: +\[institution not configured\]/);
    expect(readme).toContain('[contact details not configured]');
    expect(readFileSync(join(folder, 'INDEX.HTM'), 'utf8')).toContain(
      '[institution not configured]',
    );
    expect(names.filter((n) => n.startsWith('VIEWER/'))).toEqual([]);
  });
});

describe('the viewer directory', () => {
  it('is shipped under VIEWER/, byte for byte, and README.TXT and INDEX.HTM say so', async () => {
    const viewerDir = join(dir, 'viewer-source');
    mkdirSync(join(viewerDir, 'bin'), { recursive: true });
    const jar = randomBytes(300_000);
    writeFileSync(join(viewerDir, 'START.BAT'), 'java -jar bin\\viewer.jar DICOMDIR\r\n');
    writeFileSync(join(viewerDir, 'bin', 'viewer.jar'), jar);
    const { names, folder } = await unpack('viewer', { ...SETTINGS, viewerDir });
    expect(names.filter((n) => n.startsWith('VIEWER/'))).toEqual([
      'VIEWER/START.BAT',
      'VIEWER/bin/viewer.jar',
    ]);
    expect(readFileSync(join(folder, 'VIEWER', 'bin', 'viewer.jar')).equals(jar)).toBe(true);
    const readme = readFileSync(join(folder, 'README.TXT'), 'utf8');
    expect(readme).toContain('The VIEWER folder holds a viewer');
    expect(readme).toContain('La cartella VIEWER contiene un programma');
    expect(readme).not.toContain('includes no viewer');
    expect(readFileSync(join(folder, 'INDEX.HTM'), 'utf8')).toContain('<a href="VIEWER/">');
  });

  it('that cannot be listed fails the package before anything is written', async () => {
    let written = 0;
    const sink = new Writable({
      write: (chunk: Buffer, _e, callback) => {
        written += chunk.length;
        callback();
      },
    });
    const viewerDir = join(dir, 'viewer-removed-since-start');
    const error: unknown = await writePdiZip(
      { ...input, settings: { viewerDir } },
      sink,
      openSampleFile,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PdiPackageError);
    expect((error as Error).message).toContain(viewerDir);
    expect(sink.destroyed).toBe(true);
    expect(written).toBe(0);
  });
});
