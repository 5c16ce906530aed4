import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFileMeta } from '../../src/dicom/file-meta.js';
import { runTool } from './tools.js';

export const SAMPLES_DIR = fileURLToPath(new URL('../../dicom-samples/', import.meta.url));

/** Every file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Every valid sample instance: single/, studies/ and generated/ (not bad/). */
export function validSamples(): string[] {
  return ['single', 'studies', 'generated']
    .flatMap((dir) => filesUnder(join(SAMPLES_DIR, dir)))
    .sort();
}

/** Files under bad/ (and bad/generated/). */
export function badSamples(): string[] {
  return filesUnder(join(SAMPLES_DIR, 'bad')).sort();
}

export function sampleName(path: string): string {
  return relative(SAMPLES_DIR, path);
}

export interface SampleFacts {
  path: string;
  transferSyntaxUid: string;
  sopClassUid: string;
  sopInstanceUid: string;
  studyUid: string;
  seriesUid: string;
  patientId: string;
  accessionNumber: string;
  modality: string;
  /** The dataset bytes as stored in the file (after its file meta). */
  dataset: Buffer;
}

/** Read a sample's facts with DCMTK's dcmdump: an independent reader to check the bridge against. */
export async function sampleFacts(path: string): Promise<SampleFacts> {
  const tags = [
    '0002,0010',
    '0008,0016',
    '0008,0018',
    '0020,000d',
    '0020,000e',
    '0010,0020',
    '0008,0050',
    '0008,0060',
  ];
  const result = await runTool('dcmdump', [
    '-q',
    '+L',
    ...tags.flatMap((tag) => ['+P', tag]),
    path,
  ]);
  if (result.code !== 0) throw new Error(`dcmdump failed on ${path}: ${result.stderr}`);
  const values = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const match =
      /^\(([0-9a-f]{4},[0-9a-f]{4})\) \w\w (?:\[(.*?)\]|=(\S+)|\(no value available\))/.exec(
        line.trim(),
      );
    if (match && !values.has(match[1]!)) values.set(match[1]!, (match[2] ?? match[3] ?? '').trim());
  }
  const file = readFileSync(path);
  const meta = parseFileMeta(file);
  return {
    path,
    transferSyntaxUid: meta.transferSyntaxUid,
    sopClassUid: meta.sopClassUid,
    sopInstanceUid: values.get('0008,0018') ?? '',
    studyUid: values.get('0020,000d') ?? '',
    seriesUid: values.get('0020,000e') ?? '',
    patientId: values.get('0010,0020') ?? '',
    accessionNumber: values.get('0008,0050') ?? '',
    modality: values.get('0008,0060') ?? '',
    dataset: file.subarray(meta.datasetOffset),
  };
}

/**
 * Some samples are one instance in several transfer syntaxes (same SOP Instance UID), and the
 * bridge keeps the first of those. Split them into rounds without a repeated UID: round k
 * holds the k-th file of every SOP Instance UID; each round goes to a fresh bridge.
 */
export function roundsWithoutDuplicateUids(samples: SampleFacts[]): SampleFacts[][] {
  const seen = new Map<string, number>();
  const result: SampleFacts[][] = [];
  for (const sample of samples) {
    const round = seen.get(sample.sopInstanceUid) ?? 0;
    seen.set(sample.sopInstanceUid, round + 1);
    (result[round] ??= []).push(sample);
  }
  return result;
}

/** Samples grouped by transfer syntax, in first-seen order (senders propose one family per run). */
export function groupByTransferSyntax(samples: SampleFacts[]): Map<string, SampleFacts[]> {
  const groups = new Map<string, SampleFacts[]>();
  for (const sample of samples) {
    groups.set(sample.transferSyntaxUid, [...(groups.get(sample.transferSyntaxUid) ?? []), sample]);
  }
  return groups;
}
