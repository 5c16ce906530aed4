import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type soap from 'soap';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import {
  CALLER,
  push,
  registerMrReport,
  soapClient,
  callPort,
  type RequestFields,
} from '../../helpers/on-demand.js';
import { startOrthanc } from '../../helpers/orthanc.js';
import { SAMPLES_DIR, filesUnder } from '../../helpers/samples.js';
import { runTool } from '../../helpers/tools.js';

/*
 * The FSE's view of on-demand retrieval: a SOAP client library (node-soap) built from the WSDL
 * the bridge serves asks for the images of a linked report in each format, over SOAP 1.2 and
 * 1.1, inline and MTOM; what comes back is checked by independent tools (dciodvfy, dcmdump,
 * unzip, Orthanc, sharp).
 */

const MR_STUDY = join(SAMPLES_DIR, 'studies', '98892003');
const DOCUMENT = 'RAD-MR-1';
let bridge: TestBridge;
let scratch: string;
const clients = new Map<'1.1' | '1.2', soap.Client>();

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'ondemand-'));
  bridge = await startBridge({ onDemand: { authKind: 'basic', ...CALLER } });
  await push(bridge, filesUnder(MR_STUDY));
  await registerMrReport(bridge, DOCUMENT);
  clients.set('1.2', await soapClient(bridge, '1.2'));
  clients.set('1.1', await soapClient(bridge, '1.1'));
}, 120_000);

afterAll(async () => {
  await disposeBridge(bridge);
  rmSync(scratch, { recursive: true, force: true });
});

/** Call the operation on the port of the WSDL's service for `version`. */
function call(
  version: '1.1' | '1.2',
  fields: RequestFields,
  options: Record<string, unknown> = {},
) {
  return callPort(clients.get(version)!, version, fields, options);
}

/** The report's studies (the sample folder holds others, with other accession numbers). */
function reportStudies(): string[] {
  const report = bridge.app.reporting.reports.get(`010203^${DOCUMENT}`)!;
  return report.accessions.flatMap((a) => a.studies.map((s) => s.studyInstanceUid));
}

/** The indexed instances of the report's studies: SOP Instance UID → stored bytes. */
async function storedInstances(): Promise<Map<string, Buffer>> {
  const index = bridge.app.index;
  const stored = new Map<string, Buffer>();
  for (const study of reportStudies())
    for (const series of index.listSeries(study))
      for (const instance of index.listInstances(series.seriesUid))
        stored.set(instance.sopInstanceUid, await bridge.app.store.readBuffer(instance.storageKey));
  return stored;
}

function unzip(zip: Buffer, name: string): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.zip'), zip);
  return dir;
}

describe('PDI_ZIP over SOAP 1.2, inline base64', () => {
  let dir: string;
  let files: string[];

  beforeAll(async () => {
    const { answer } = await call('1.2', {
      codDocumentoDipartimentale: DOCUMENT,
      formato: 'PDI_ZIP',
    });
    expect(answer.esito, JSON.stringify(answer.errori)).toBe('SUCCESSO');
    expect(answer.stato).toBe('DISPONIBILE');
    expect(answer.tipoMime).toBe('application/zip');
    expect(clients.get('1.2')!.lastRequest).toContain('http://www.w3.org/2003/05/soap-envelope');
    dir = unzip(Buffer.from(answer.documento as string, 'base64'), 'pdi');
    const unzipped = await runTool('unzip', ['-q', join(dir, 'package.zip'), '-d', join(dir, 'x')]);
    expect(unzipped.code, unzipped.stderr).toBe(0);
    files = filesUnder(join(dir, 'x'));
  }, 60_000);

  it('holds a DICOMDIR that dciodvfy accepts as a Basic Directory, without errors', async () => {
    const result = await runTool('dciodvfy', [join(dir, 'x', 'DICOMDIR')]);
    const output = `${result.stdout}\n${result.stderr}`;
    expect(output).toMatch(/BasicDirectory/);
    expect(output.split('\n').filter((line) => /^Error/.test(line))).toEqual([]);
  });

  it('lists every instance in the DICOMDIR with the file that holds it, byte-identical to the stored one', async () => {
    const dump = await runTool('dcmdump', ['-q', join(dir, 'x', 'DICOMDIR')]);
    expect(dump.code, dump.stderr).toBe(0);
    const records = dump.stdout.split(/^ {2}\(fffe,e000\)/m).slice(1);
    const referenced = new Map<string, string>();
    for (const record of records) {
      const fileId = /\(0004,1500\) CS \[([^\]]+)\]/.exec(record)?.[1];
      const uid = /\(0004,1511\) UI \[([^\]]+)\]/.exec(record)?.[1];
      if (fileId && uid) referenced.set(uid, fileId);
    }
    const stored = await storedInstances();
    expect(stored.size).toBeGreaterThan(5);
    expect(new Set(referenced.keys())).toEqual(new Set(stored.keys()));
    for (const [uid, fileId] of referenced) {
      const packaged = readFileSync(join(dir, 'x', ...fileId.split('\\')));
      expect(packaged.equals(stored.get(uid)!), uid).toBe(true);
    }
    expect(files.filter((f) => /\/DICOM\//.test(f))).toHaveLength(stored.size);
    expect(files.some((f) => f.endsWith('README.TXT'))).toBe(true);
  });

  it('is imported whole by Orthanc', async () => {
    const orthanc = await startOrthanc();
    try {
      const answers = await orthanc.uploadFiles(files.filter((f) => /\/DICOM\//.test(f)));
      expect(answers.map((a) => a.Status)).toEqual(answers.map(() => 'Success'));
      expect(answers).toHaveLength((await storedInstances()).size);
    } finally {
      await orthanc.stop();
    }
  }, 60_000);
});

describe('other formats and bindings', () => {
  it('KOS over SOAP 1.1 as an MTOM attachment: the manifest, valid for dciodvfy', async () => {
    const { answer, attachments } = await call(
      '1.1',
      { codDocumentoDipartimentale: DOCUMENT, formato: 'KOS' },
      { forceMTOM: true },
    );
    expect(answer.esito).toBe('SUCCESSO');
    expect(answer.tipoMime).toBe('application/dicom');
    const report = bridge.app.reporting.reports.get(`010203^${DOCUMENT}`)!;
    expect(answer.identificativoDocumento).toBe(report.manifest!.sopInstanceUid);
    const part = attachments!.parts.find((p) =>
      /application\/dicom/.test(p.headers['content-type'] ?? ''),
    );
    expect(part).toBeDefined();
    const manifest = await bridge.app.store.readBuffer(report.manifest!.storageKey);
    expect(Buffer.compare(part!.body, manifest)).toBe(0);
    const path = join(scratch, 'kos.dcm');
    writeFileSync(path, part!.body);
    const result = await runTool('dciodvfy', [path]);
    expect(`${result.stdout}${result.stderr}`.split('\n').filter((l) => /^Error/.test(l))).toEqual(
      [],
    );
  }, 60_000);

  it('ANTEPRIMA_JPEG: one decodable JPEG per series, of sane size', async () => {
    const { answer } = await call('1.2', {
      codDocumentoDipartimentale: DOCUMENT,
      formato: 'ANTEPRIMA_JPEG',
    });
    expect(answer.esito, JSON.stringify(answer.errori)).toBe('SUCCESSO');
    const dir = unzip(Buffer.from(answer.documento as string, 'base64'), 'previews');
    const unzipped = await runTool('unzip', ['-q', join(dir, 'package.zip'), '-d', join(dir, 'x')]);
    expect(unzipped.code, unzipped.stderr).toBe(0);
    const jpegs = filesUnder(join(dir, 'x')).filter((f) => f.endsWith('.jpg'));
    const series = reportStudies().flatMap((study) => bridge.app.index.listSeries(study));
    expect(series.length).toBeGreaterThan(1);
    expect(jpegs).toHaveLength(series.length);
    for (const jpeg of jpegs) {
      const meta = await sharp(readFileSync(jpeg)).metadata();
      expect(meta.format).toBe('jpeg');
      // The samples' MR images are small (16×16 and up); none is enlarged past 512.
      expect(meta.width).toBeGreaterThanOrEqual(16);
      expect(meta.height).toBeGreaterThanOrEqual(16);
      expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(512);
      const stats = await sharp(readFileSync(jpeg)).stats();
      // Windowed, not a blank page: the pixels vary.
      expect(stats.channels[0]!.stdev).toBeGreaterThan(1);
    }
  }, 60_000);

  it('serves a package built before from the cache, same document', async () => {
    const first = await call('1.2', {
      codDocumentoDipartimentale: DOCUMENT,
      formato: 'PDI_ZIP',
    });
    const second = await call('1.2', {
      codDocumentoDipartimentale: DOCUMENT,
      formato: 'PDI_ZIP',
    });
    expect(second.answer.identificativoDocumento).toBe(first.answer.identificativoDocumento);
    expect(second.answer.documento).toBe(first.answer.documento);
    expect(
      bridge.logs.filter((l) => l.msg === 'package built' && l.formato === 'PDI_ZIP'),
    ).toHaveLength(1);
  }, 60_000);

  it('answers FALLIMENTO with the catalogue code for an unknown document, HTTP 200, no fault', async () => {
    const { answer } = await call('1.2', {
      codDocumentoDipartimentale: 'NO-SUCH-DOC',
      formato: 'PDI_ZIP',
    });
    expect(answer.esito).toBe('FALLIMENTO');
    expect(answer.errori).toEqual([{ codice: 'CL_ER_001', descrizione: 'Documento non presente' }]);
    expect(answer.documento).toBeUndefined();
  });

  it('treats a report of another patient as unknown', async () => {
    const { answer } = await call('1.2', {
      codDocumentoDipartimentale: DOCUMENT,
      codiceFiscaleAssistito: 'BNCGVN70C10L219X',
      formato: 'KOS',
    });
    expect(answer.errori?.[0]?.codice).toBe('CL_ER_001');
  });
});
