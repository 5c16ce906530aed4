import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vrProblem, type CheckedVr } from '../../../src/dicom/dataset-writer.js';
import { buildKosManifest, type KosInput, type KosStudy } from '../../../src/dicom/kos.js';
import { newUid } from '../../../src/dicom/uid-generator.js';
import { sampleFacts, validSamples, type SampleFacts } from '../../helpers/samples.js';
import { runTool } from '../../helpers/tools.js';

/*
 * Manifests of the real sample studies, checked by independent tools: David Clunie's IOD
 * validator dciodvfy (dicom3tools), plain and with its IHE XDS-I manifest profile; DCMTK's
 * dcmdump (parses without a warning), dsrdump (reads the SR tree) and dcm2json, whose JSON shows
 * that the evidence and the content list exactly the instances held.
 */

const RETRIEVE_AE = 'FSEBRIDGE';
const RETRIEVE_LOCATION_UID = newUid();

interface HeldStudy {
  facts: SampleFacts[];
  demographics: Map<string, string>;
}

let dir: string;
/** Every distinct instance of the samples, grouped by study (the bridge keeps the first copy). */
let held: Map<string, HeldStudy>;

/** Demographics of a sample read by dcmdump, text converted to UTF-8 from its character set. */
async function demographicsOf(path: string): Promise<Map<string, string>> {
  const tags = ['0010,0010', '0010,0021', '0010,0030', '0010,0040', '0008,0020'];
  tags.push('0008,0030', '0020,0010', '0008,0090', '0008,1030');
  const result = await runTool('dcmdump', ['-q', '+U8', ...tags.flatMap((t) => ['+P', t]), path]);
  expect(result.code, result.stderr).toBe(0);
  const values = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const match = /^\(([0-9a-f]{4},[0-9a-f]{4})\) \w\w \[(.*?)\]/.exec(line.trim());
    if (match && !values.has(match[1]!)) values.set(match[1]!, match[2]!);
  }
  return values;
}

/**
 * A value as the bridge's caller passes it: values their VR cannot hold (the ACR-NEMA date
 * `1997.04.24` of one sample) are left out rather than repaired.
 */
function valid(value: string | undefined, vr: CheckedVr): string | undefined {
  return value && vrProblem(vr, value) === undefined ? value : undefined;
}

function studyInput(study: HeldStudy): KosStudy {
  const first = study.facts[0]!;
  const series = new Map<string, SampleFacts[]>();
  for (const fact of study.facts)
    series.set(fact.seriesUid, [...(series.get(fact.seriesUid) ?? []), fact]);
  const d = study.demographics;
  return {
    studyInstanceUid: first.studyUid,
    accessionNumber: first.accessionNumber,
    accessionIssuer: 'ASR-RIS',
    studyDate: valid(d.get('0008,0020'), 'DA'),
    studyTime: valid(d.get('0008,0030'), 'TM'),
    studyId: valid(d.get('0020,0010'), 'SH'),
    studyDescription: valid(d.get('0008,1030'), 'LO'),
    referringPhysician: valid(d.get('0008,0090'), 'PN'),
    series: [...series].map(([seriesInstanceUid, facts]) => ({
      seriesInstanceUid,
      modality: facts[0]!.modality,
      instances: facts.map((f) => ({
        sopClassUid: f.sopClassUid,
        sopInstanceUid: f.sopInstanceUid,
      })),
    })),
  };
}

function manifestInput(studies: HeldStudy[]): KosInput {
  const d = studies[0]!.demographics;
  const sex = d.get('0010,0040');
  return {
    patient: {
      id: studies[0]!.facts[0]!.patientId,
      issuer: valid(d.get('0010,0021'), 'LO'),
      name: valid(d.get('0010,0010'), 'PN'),
      birthDate: valid(d.get('0010,0030'), 'DA'),
      sex: sex === 'M' || sex === 'F' || sex === 'O' ? sex : undefined,
    },
    studies: studies.map(studyInput),
    retrieveAeTitle: RETRIEVE_AE,
    retrieveLocationUid: RETRIEVE_LOCATION_UID,
    sopInstanceUid: newUid(),
    seriesInstanceUid: newUid(),
    seriesNumber: 9001,
    instanceNumber: 1,
    contentDateTime: new Date(),
    manufacturer: 'ASR',
    institutionName: 'Azienda Sanitaria Regionale',
  };
}

/** The manifests under test: one per study held, and one per patient with several studies. */
function manifests(): Array<{ name: string; input: KosInput }> {
  const all = [...held.values()];
  const single = all.map((study) => ({
    name: `study ${study.facts[0]!.studyUid}`,
    input: manifestInput([study]),
  }));
  const byPatient = new Map<string, HeldStudy[]>();
  for (const study of all) {
    const id = study.facts[0]!.patientId;
    if (id !== '') byPatient.set(id, [...(byPatient.get(id) ?? []), study]);
  }
  const multi = [...byPatient]
    .filter(([, studies]) => studies.length > 1)
    .map(([id, studies]) => ({ name: `patient ${id}`, input: manifestInput(studies) }));
  return [...single, ...multi];
}

interface Validation {
  errors: string[];
  warnings: string[];
  iod: string;
}

async function dciodvfy(path: string, profile?: string): Promise<Validation> {
  const args = profile ? ['-profile', profile, path] : [path];
  const result = await runTool('dciodvfy', args);
  const lines = `${result.stdout}\n${result.stderr}`.split('\n').filter((line) => line !== '');
  return {
    errors: lines.filter((line) => line.startsWith('Error')),
    warnings: lines.filter((line) => line.startsWith('Warning')),
    // dciodvfy writes everything on stderr; the lines that are not messages name the IOD.
    iod: lines.filter((line) => !/^(Error|Warning)/.test(line)).join('\n'),
  };
}

function write(name: string, file: Buffer): string {
  const path = join(dir, `${name.replace(/[^\w.-]/g, '_')}.dcm`);
  writeFileSync(path, file);
  return path;
}

type JsonDataset = Record<string, { vr: string; Value?: unknown[] }>;

function items(dataset: JsonDataset, tag: string): JsonDataset[] {
  return (dataset[tag]?.Value ?? []) as JsonDataset[];
}

function text(dataset: JsonDataset, tag: string): string | undefined {
  return dataset[tag]?.Value?.[0] as string | undefined;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kos-validation-'));
  const facts = await Promise.all(validSamples().map((path) => sampleFacts(path)));
  held = new Map();
  const seen = new Set<string>();
  for (const fact of facts) {
    if (seen.has(fact.sopInstanceUid)) continue;
    seen.add(fact.sopInstanceUid);
    const study = held.get(fact.studyUid);
    if (study) study.facts.push(fact);
    else held.set(fact.studyUid, { facts: [fact], demographics: await demographicsOf(fact.path) });
  }
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('KOS manifests of the sample studies', () => {
  it('covers studies of several SOP classes, patients with several studies and non-ASCII names', () => {
    const cases = manifests();
    const classes = new Set([...held.values()].flatMap((s) => s.facts.map((f) => f.sopClassUid)));
    expect(classes).toContain('1.2.840.10008.5.1.4.1.1.88.33'); // Comprehensive SR: COMPOSITE
    expect(classes).toContain('1.2.840.10008.5.1.4.1.1.9.1.1'); // 12-lead ECG: WAVEFORM
    expect(cases.filter((c) => c.input.studies.length > 1).length).toBeGreaterThanOrEqual(2);
    expect(cases.some((c) => /[^\x20-\x7e]/.test(c.input.patient.name ?? ''))).toBe(true);
  });

  it('pass dciodvfy, plain and with the IHE XDS-I manifest profile, without errors or warnings', async () => {
    for (const { name, input } of manifests()) {
      const path = write(name, buildKosManifest(input).file);
      const plain = await dciodvfy(path);
      expect(plain.iod, name).toBe('KeyObjectSelectionDocument');
      expect(plain.errors, name).toEqual([]);
      const xdsi = await dciodvfy(path, 'IHEXDSIManifest');
      expect(xdsi.iod, name).toContain('KeyObjectSelectionDocumentIHEXDSIManifest');
      expect(xdsi.errors, name).toEqual([]);
      // Warnings come only from values the sample studies lack (type 2 attributes left empty).
      expect(plain.warnings.sort(), name).toEqual(expectedWarnings(input));
      expect(xdsi.warnings.sort(), name).toEqual(expectedWarnings(input));
    }
  });

  it('are read by DCMTK dcmdump without a warning and by dsrdump as a manifest', async () => {
    for (const { name, input } of manifests()) {
      const path = write(name, buildKosManifest(input).file);
      const dump = await runTool('dcmdump', ['--log-level', 'warn', path]);
      expect(dump.code, name).toBe(0);
      expect(dump.stderr, name).toBe('');
      expect(dump.stdout, name).not.toMatch(/^[WE]: /m);
      const sr = await runTool('dsrdump', ['--log-level', 'error', path]);
      expect(sr.code, `${name}: ${sr.stderr}`).toBe(0);
      expect(sr.stdout, name).toContain('<CONTAINER:(,,"Manifest")=SEPARATE>');
    }
  });

  it('list in the evidence and in the content exactly the instances held, grouped by study and series', async () => {
    for (const { name, input } of manifests()) {
      const manifest = buildKosManifest(input);
      const json = await runTool('dcm2json', [write(name, manifest.file)]);
      expect(json.code, json.stderr).toBe(0);
      const dataset = JSON.parse(json.stdout) as JsonDataset;
      const expected = input.studies.flatMap((study) =>
        study.series.flatMap((series) =>
          series.instances.map((i) =>
            [
              study.studyInstanceUid,
              series.seriesInstanceUid,
              i.sopClassUid,
              i.sopInstanceUid,
            ].join(' '),
          ),
        ),
      );
      const heldHere = input.studies.flatMap((study) =>
        held
          .get(study.studyInstanceUid)!
          .facts.map((f) => [f.studyUid, f.seriesUid, f.sopClassUid, f.sopInstanceUid].join(' ')),
      );
      expect(expected.sort()).toEqual(heldHere.sort());
      const evidence = items(dataset, '0040A375').flatMap((study) =>
        items(study, '00081115').flatMap((series) => {
          expect(text(series, '00080054')).toBe(RETRIEVE_AE);
          expect(text(series, '0040E011')).toBe(RETRIEVE_LOCATION_UID);
          return items(series, '00081199').map((sop) =>
            [
              text(study, '0020000D'),
              text(series, '0020000E'),
              text(sop, '00081150'),
              text(sop, '00081155'),
            ].join(' '),
          );
        }),
      );
      expect(evidence.sort(), name).toEqual(heldHere.sort());
      const content = items(dataset, '0040A730').flatMap((item) =>
        items(item, '00081199').map((sop) => `${text(sop, '00081150')} ${text(sop, '00081155')}`),
      );
      expect(content.sort(), name).toEqual(
        heldHere.map((line) => line.split(' ').slice(2).join(' ')).sort(),
      );
      const accessions = items(dataset, '0040A370').map(
        (request) => text(request, '00080050') ?? '',
      );
      expect(accessions, name).toEqual(input.studies.map((study) => study.accessionNumber));
      expect(text(dataset, '0020000D'), name).toBe(input.studies[0]!.studyInstanceUid);
    }
  });

  it('the checks fail on a manifest the validator must refuse', async () => {
    const manifest = buildKosManifest(manifestInput([[...held.values()][0]!]));
    const modality = Buffer.from([0x08, 0x00, 0x60, 0x00, 0x43, 0x53, 0x02, 0x00, 0x4b, 0x4f]);
    const at = manifest.file.indexOf(modality);
    expect(at).toBeGreaterThan(0);
    const broken = Buffer.from(manifest.file);
    broken.write('XX', at + 8, 'latin1');
    const result = await dciodvfy(write('broken-modality', broken));
    expect(result.errors.join('\n')).toMatch(/Modality/);
    // A content item referencing an instance the evidence does not list.
    // The content sequence comes last: the last occurrence of a UID is its content item.
    const study = manifest.studyInstanceUid;
    const lastUid = held.get(study)!.facts.at(-1)!.sopInstanceUid;
    const end = manifest.file.lastIndexOf(Buffer.from(lastUid)) + lastUid.length - 1;
    const dangling = Buffer.from(manifest.file);
    dangling.write(lastUid.endsWith('9') ? '8' : '9', end, 'latin1');
    const danglingResult = await dciodvfy(write('dangling-reference', dangling));
    expect(danglingResult.errors.join('\n')).toMatch(
      /not listed in CurrentRequestedProcedureEvidenceSequence/,
    );
  });
});

/**
 * dciodvfy's warnings that come from the sample data, not from the manifest: type 2 attributes a
 * DICOMDIR would need that the sample leaves empty, and names copied as the sample spells them
 * (one component, no `^`: the retired ACR-NEMA form).
 */
function expectedWarnings(input: KosInput): string[] {
  const missing = 'Warning - Missing attribute or value that would be needed to build DICOMDIR - ';
  const study = input.studies[0]!;
  const warnings = [
    ...(input.patient.id === '' ? [`${missing}Patient ID`] : []),
    ...(study.studyDate === undefined ? [`${missing}Study Date`] : []),
    ...(study.studyTime === undefined ? [`${missing}Study Time`] : []),
    ...(study.studyId === undefined ? [`${missing}Study ID`] : []),
  ];
  const names: Array<[string, string, string | undefined]> = [
    ['(0x0010,0x0010)', "Patient's Name", input.patient.name],
    ['(0x0008,0x0090)', "Referring Physician's Name", study.referringPhysician],
  ];
  for (const [tag, description, value] of names) {
    if (value && !value.includes('^'))
      warnings.push(
        `Warning - Value dubious for this VR - ${tag} PN ${description}  PN [1] = <${value}> - Retired Person Name form`,
      );
  }
  return warnings.sort();
}
