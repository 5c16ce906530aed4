import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { CALLER, callPort, push, registerMrReport, soapClient } from '../../helpers/on-demand.js';
import { SAMPLES_DIR, filesUnder } from '../../helpers/samples.js';
import { runTool } from '../../helpers/tools.js';

/*
 * The PDI_ZIP a citizen downloads through the FSE: a study pushed with DCMTK whose patient name
 * holds `<&>"'` and accented letters (UTF-8, ISO_IR 192), asked for over SOAP, unpacked with
 * Info-ZIP's unzip. README.TXT and INDEX.HTM name the patient, the study and the institution
 * configured in onDemand.pdi; xmllint parses INDEX.HTM, which runs and fetches nothing.
 */

const DOCUMENT = 'RAD-PDI-1';
const PATIENT_NAME = `D'Agostino^Zoë <la "piccola"> & Co`;
const PDI = {
  institutionName: 'ASL Città di Torino',
  department: 'Radiologia - Ospedale Maria Vittoria',
  phone: '+39 011 439 3111',
  email: 'radiologia.mv@aslcittaditorino.example.it',
  address: 'Via Luigi Cibrario 72, 10144 Torino',
};
let bridge: TestBridge;
let scratch: string;
let names: string[];
let readme: string;
let html: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'pdi-contents-'));
  const study = join(scratch, 'study');
  cpSync(join(SAMPLES_DIR, 'studies', '98892003'), study, { recursive: true });
  const files = filesUnder(study);
  const modified = await runTool('dcmodify', [
    '-nb',
    '-i',
    '(0008,0005)=ISO_IR 192',
    '-m',
    `(0010,0010)=${PATIENT_NAME}`,
    ...files,
  ]);
  expect(modified.code, modified.stderr).toBe(0);
  bridge = await startBridge({ onDemand: { authKind: 'basic', ...CALLER, pdi: PDI } });
  await push(bridge, files);
  await registerMrReport(bridge, DOCUMENT);
  const { answer } = await callPort(await soapClient(bridge), '1.2', {
    codDocumentoDipartimentale: DOCUMENT,
    formato: 'PDI_ZIP',
  });
  expect(answer.esito, JSON.stringify(answer.errori)).toBe('SUCCESSO');
  const zip = join(scratch, 'package.zip');
  writeFileSync(zip, Buffer.from(answer.documento as string, 'base64'));
  names = (await runTool('unzip', ['-Z1', zip])).stdout.trim().split('\n');
  const unzipped = await runTool('unzip', ['-q', zip, '-d', join(scratch, 'x')]);
  expect(unzipped.code, unzipped.stderr).toBe(0);
  readme = readFileSync(join(scratch, 'x', 'README.TXT'), 'utf8');
  html = readFileSync(join(scratch, 'x', 'INDEX.HTM'), 'utf8');
}, 120_000);

afterAll(async () => {
  await disposeBridge(bridge);
  rmSync(scratch, { recursive: true, force: true });
});

/** The report's study as the bridge indexed it. */
function reportStudy() {
  const report = bridge.app.reporting.reports.get(`010203^${DOCUMENT}`)!;
  const uids = report.accessions.flatMap((a) => a.studies.map((s) => s.studyInstanceUid));
  expect(uids).toHaveLength(1);
  return bridge.app.index.getStudy(uids[0]!)!;
}

describe('PDI_ZIP of a report, as the FSE serves it', () => {
  it('holds README.TXT and INDEX.HTM at the root, beside DICOMDIR and the DICOM tree', () => {
    expect(names).toContain('README.TXT');
    expect(names).toContain('INDEX.HTM');
    expect(names).toContain('DICOMDIR');
    const others = names.filter((n) => !['DICOMDIR', 'README.TXT', 'INDEX.HTM'].includes(n));
    expect(others.length).toBeGreaterThan(5);
    for (const name of others) expect(name).toMatch(/^DICOM\/S\d{7}\/I\d{7}$/);
  });

  it('README.TXT names the patient, the study and the configured institution, in both languages', () => {
    expect(readme.charCodeAt(0)).toBe(0xfeff);
    expect(readme).toMatch(/Nome: +D'Agostino, Zoë <la "piccola"> & Co\r\n/);
    expect(readme).toMatch(/Name: +D'Agostino, Zoë <la "piccola"> & Co\r\n/);
    expect(readme).toMatch(/Codice paziente: +98890234\r\n/);
    const study = reportStudy();
    expect(study.studyDate).toBe('20030505');
    expect(readme).toMatch(/Data: +05\/05\/2003/);
    expect(readme).toMatch(/Date: +2003-05-05/);
    expect(readme).toMatch(new RegExp(`Descrizione: +${study.description!}\\r\\n`));
    expect(readme).toMatch(/Modalità: +MR\r\n/);
    const files = names.filter((n) => n.startsWith('DICOM/')).length;
    expect(readme).toMatch(new RegExp(`File DICOM: +${files}\\r\\n`));
    expect(readme).toMatch(new RegExp(`DICOM files: +${files}\\r\\n`));
    for (const value of Object.values(PDI)) expect(readme.split(value)).toHaveLength(3);
    expect(readme).toContain('This package includes no viewer');
  });

  it('INDEX.HTM parses as HTML without complaint, with the patient name escaped', async () => {
    const parsed = await runTool('xmllint', ['--html', '--noout', join(scratch, 'x', 'INDEX.HTM')]);
    expect(parsed.code).toBe(0);
    expect(parsed.stdout + parsed.stderr).toBe('');
    expect(html).toContain('D&#39;Agostino, Zoë &lt;la &quot;piccola&quot;&gt; &amp; Co');
    expect(html).not.toContain('<la ');
    expect(html).toContain(`<td>${reportStudy().description!}</td>`);
    expect(html).toMatch(/<td>05\/05\/2003(, ore \d\d:\d\d)?<\/td>/);
    expect(html).toContain('ASL Città di Torino');
    expect(html).toContain('radiologia.mv@aslcittaditorino.example.it');
  });

  it('INDEX.HTM has no script and no external URL', () => {
    expect(html).not.toMatch(/<script|<link|<img|<iframe|<object|<embed|url\(|@import/i);
    expect(html.replace('xmlns="http://www.w3.org/1999/xhtml"', '')).not.toMatch(
      /https?:|ftp:|\/\//i,
    );
    for (const [, link] of html.matchAll(/(?:href|src)="([^"]*)"/g)) expect(names).toContain(link);
  });
});
