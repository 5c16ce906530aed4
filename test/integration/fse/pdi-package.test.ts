import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PdiPackageError, writePdiZip, type PdiInput } from '../../../src/fse/pdi-package.js';
import { openSampleFile as openFile, pdiInputOf as inputOf } from '../../helpers/pdi-input.js';
import { SAMPLES_DIR, sampleFacts, validSamples, type SampleFacts } from '../../helpers/samples.js';
import { runTool } from '../../helpers/tools.js';

/*
 * PDI packages of the real samples, unpacked with Info-ZIP's unzip and checked by independent
 * tools: dciodvfy (dicom3tools) validates the DICOMDIR, DCMTK's dcmdump reads its records, and
 * every referenced file must be in the ZIP byte for byte as stored.
 */

let dir: string;
let facts: SampleFacts[];
/** Where dcmdump starts a directory record: items of the record sequence, not nested ones. */
const DIRECTORY_RECORD = /^ {2}\(fffe,e000\)/m;
const INSTANCE_TYPES = [
  'IMAGE',
  'SR DOCUMENT',
  'KEY OBJECT DOC',
  'WAVEFORM',
  'ENCAP DOC',
  'PRESENTATION',
];
const INSTANCE_RECORD =
  /\(0004,1430\) CS \[(IMAGE|SR DOCUMENT|KEY OBJECT DOC|WAVEFORM|ENCAP DOC|PRESENTATION) *\]/;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pdi-package-'));
  // A grayscale softcopy presentation state of one sample, made by DCMTK, for a PRESENTATION record.
  const gsps = join(dir, 'gsps.dcm');
  const made = await runTool('dcmpsmk', [join(SAMPLES_DIR, 'single', 'CT_small.dcm'), gsps]);
  expect(made.code, made.stderr).toBe(0);
  facts = await Promise.all([...validSamples(), gsps].map(sampleFacts));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PDI ZIP of the sample studies', () => {
  let unpacked: string;
  let listing: string;
  let dump: string;

  beforeAll(async () => {
    const zipPath = join(dir, 'package.zip');
    const summary = await writePdiZip(inputOf(facts), createWriteStream(zipPath), openFile);
    const distinct = new Set(facts.map((f) => f.sopInstanceUid)).size;
    expect(summary.instances).toBe(distinct);
    expect(summary.duplicatesSkipped).toBe(facts.length - distinct);
    expect(distinct).toBeLessThan(facts.length); // the samples do repeat UIDs
    unpacked = join(dir, 'unpacked');
    const test = await runTool('unzip', ['-t', zipPath]);
    expect(test.code, test.stdout + test.stderr).toBe(0);
    listing = (await runTool('unzip', ['-Z1', zipPath])).stdout;
    const unzip = await runTool('unzip', ['-q', zipPath, '-d', unpacked]);
    expect(unzip.code, unzip.stderr).toBe(0);
    const dumped = await runTool('dcmdump', ['-q', '+L', '-Un', join(unpacked, 'DICOMDIR')]);
    expect(dumped.code, dumped.stderr).toBe(0);
    expect(dumped.stderr).toBe('');
    dump = dumped.stdout;
  });

  it('holds DICOMDIR, one ISO 9660 named file per distinct instance, INDEX.HTM and README.TXT', () => {
    const names = listing.trim().split('\n');
    expect(names[0]).toBe('DICOMDIR');
    expect(names.slice(-2)).toEqual(['INDEX.HTM', 'README.TXT']);
    const files = names.slice(1, -2);
    expect(files.length).toBe(new Set(facts.map((f) => f.sopInstanceUid)).size);
    for (const file of files) expect(file).toMatch(/^DICOM\/S\d{7}\/I\d{7}$/);
    const readme = readFileSync(join(unpacked, 'README.TXT'), 'utf8');
    expect(readme).toContain('DICOMDIR');
  });

  it('passes dciodvfy without errors or warnings', async () => {
    const result = await runTool('dciodvfy', [join(unpacked, 'DICOMDIR')]);
    const lines = `${result.stdout}\n${result.stderr}`.split('\n').filter((l) => l.trim());
    const errors = lines.filter((line) => /^Error/.test(line));
    // The SR sample codes its concept name in a private scheme, TEST; the record copies it.
    const warnings = lines.filter(
      (line) =>
        /^Warning/.test(line) && !/defined term <TEST> .*Coding Scheme Designator/.test(line),
    );
    expect(lines[0]).toBe('BasicDirectory'); // the IOD dciodvfy recognised
    expect(warnings).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('references each stored file once, byte for byte', () => {
    const records = dump.split(DIRECTORY_RECORD).slice(1);
    const images = records.filter((r) => INSTANCE_RECORD.test(r));
    const firstCopy = new Map<string, SampleFacts>();
    for (const f of facts) if (!firstCopy.has(f.sopInstanceUid)) firstCopy.set(f.sopInstanceUid, f);
    expect(images.length).toBe(firstCopy.size);
    const seen = new Set<string>();
    for (const record of images) {
      const fileId = /\(0004,1500\) CS \[(.*?)\]/.exec(record)![1]!;
      const uid = /\(0004,1511\) UI \[(.*?)\]/.exec(record)![1]!;
      expect(seen.has(uid)).toBe(false);
      seen.add(uid);
      const stored = firstCopy.get(uid)!;
      const packaged = readFileSync(join(unpacked, ...fileId.split('\\')));
      expect(packaged.equals(readFileSync(stored.path)), fileId).toBe(true);
      const syntax = /\(0004,1512\) UI \[(.*?)\]/.exec(record)![1]!;
      expect(syntax).toBe(stored.transferSyntaxUid);
    }
  });

  it('gives SR documents, waveforms and presentation states their own record types, with the keys read from the files', () => {
    const records = dump.split(DIRECTORY_RECORD).slice(1);
    const recordOf = (path: string) => {
      const uid = facts.find((f) => f.path.endsWith(path))!.sopInstanceUid;
      return records.find((r) => r.includes(`(0004,1511) UI [${uid}]`))!;
    };
    const sr = recordOf('test-SR.dcm');
    expect(sr).toMatch(/\(0004,1430\) CS \[SR DOCUMENT\]/);
    expect(sr).toMatch(/\(0040,a491\) CS \[COMPLETE\]/);
    expect(sr).toMatch(/\(0040,a493\) CS \[VERIFIED\]/);
    expect(sr).toMatch(/\(0008,0023\) DA \[20010213\]/);
    expect(sr).toMatch(/\(0040,a043\) SQ/);
    expect(sr).toMatch(/\(0008,0100\) SH \[/);
    const ecg = recordOf('waveform_ecg.dcm');
    expect(ecg).toMatch(/\(0004,1430\) CS \[WAVEFORM\]/);
    expect(ecg).toMatch(/\(0008,0023\) DA \[20130125\]/);
    expect(recordOf('CT_small.dcm')).toMatch(/\(0004,1430\) CS \[IMAGE\]/);
    const presentation = recordOf('gsps.dcm');
    expect(presentation).toMatch(/\(0004,1430\) CS \[PRESENTATION\]/);
    expect(presentation).toMatch(/\(0070,0080\) CS \[UNNAMED\]/);
    expect(presentation).toMatch(/\(0008,1115\) SQ/);
    const ct = facts.find((f) => f.path.endsWith('CT_small.dcm'))!;
    expect(presentation).toContain(`(0008,1155) UI [${ct.sopInstanceUid}]`);
  });

  it('links records by offsets that DCMTK finds at record starts, patient → study → series → image', () => {
    // dcmdump prints where each record's item starts (`offset=$N`), counted by DCMTK itself.
    interface Row {
      type: string;
      next: number;
      lower: number;
    }
    const byOffset = new Map<number, Row>();
    for (const record of dump.split(DIRECTORY_RECORD).slice(1)) {
      const at = Number(/offset=\$(\d+)/.exec(record)![1]);
      const next = Number(/\(0004,1400\) up (\d+)/.exec(record)![1]);
      const lower = Number(/\(0004,1420\) up (\d+)/.exec(record)![1]);
      byOffset.set(at, { type: /\(0004,1430\) CS \[(.*?) *\]/.exec(record)![1]!, next, lower });
    }
    const first = Number(/\(0004,1200\) up (\d+)/.exec(dump)![1]);
    const levels = ['PATIENT', 'STUDY', 'SERIES', 'IMAGE'];
    const reached = new Set<number>();
    const walk = (offset: number, level: number): void => {
      for (let at = offset; at !== 0; at = byOffset.get(at)!.next) {
        const row = byOffset.get(at);
        expect(row, `offset ${at}`).toBeDefined();
        if (level < 3) expect(row!.type).toBe(levels[level]);
        else expect(INSTANCE_TYPES).toContain(row!.type);
        expect(reached.has(at)).toBe(false);
        reached.add(at);
        if (level < 3) expect(row!.lower).not.toBe(0);
        else expect(row!.lower).toBe(0);
        if (row!.lower !== 0) walk(row!.lower, level + 1);
      }
    };
    walk(first, 0);
    expect(reached.size).toBe(byOffset.size);
    const last = Number(/\(0004,1202\) up (\d+)/.exec(dump)![1]);
    expect(byOffset.get(last)!.next).toBe(0);
    expect(byOffset.get(last)!.type).toBe('PATIENT');
  });
});

describe('streaming', () => {
  it('opens a few instances ahead, no more, and keeps memory far below the package size', async () => {
    const instanceBytes = 4 * 1024 * 1024;
    const count = 64; // 256 MiB of instances
    let open = 0;
    let maxOpen = 0;
    const openSynthetic = (key: string): Promise<Readable> => {
      open++;
      maxOpen = Math.max(maxOpen, open);
      const chunk = Buffer.alloc(64 * 1024, key.length);
      let left = instanceBytes;
      const stream = new Readable({
        read() {
          if (left === 0) return this.push(null);
          left -= chunk.length;
          this.push(chunk);
        },
      });
      stream.once('end', () => open--);
      return Promise.resolve(stream);
    };
    const series = {
      seriesInstanceUid: '1.2.3.4.1',
      modality: 'CT',
      instances: Array.from({ length: count }, (_, i) => ({
        storageKey: `k/${i}`,
        sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
        sopInstanceUid: `1.2.3.4.1.${i + 1}`,
        transferSyntaxUid: '1.2.840.10008.1.2.1',
        instanceNumber: i + 1,
      })),
    };
    const input: PdiInput = {
      patients: [{ patientId: 'P1', studies: [{ studyInstanceUid: '1.2.3.4', series: [series] }] }],
      compressInstances: false,
    };
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sink = new Writable({
      highWaterMark: 64 * 1024,
      write(_chunk, _encoding, callback) {
        peak = Math.max(peak, process.memoryUsage().rss);
        setImmediate(callback); // a slow reader: back-pressure must hold the source back
      },
    });
    const summary = await writePdiZip(input, sink, openSynthetic);
    expect(summary.instances).toBe(count);
    expect(summary.zipBytes).toBeGreaterThan(count * instanceBytes);
    // The one being copied and the four opened ahead.
    expect(maxOpen).toBe(5);
    expect(peak - before).toBeLessThan((count * instanceBytes) / 4);
  });

  it('rejects naming the instance that cannot be opened, and destroys the output', async () => {
    const distinct = [...new Map(facts.map((f) => [f.sopInstanceUid, f])).values()];
    const input = inputOf(distinct.slice(0, 3));
    const sink = new Writable({ write: (_c, _e, callback) => callback() });
    const missing = distinct[1]!.path;
    const open = (key: string): Promise<Readable> =>
      key === missing ? Promise.reject(new Error('gone')) : openFile(key);
    const error: unknown = await writePdiZip(input, sink, open).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PdiPackageError);
    expect((error as PdiPackageError).storageKey).toBe(missing);
    expect(sink.destroyed).toBe(true);
  });
});
