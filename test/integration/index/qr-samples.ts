import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { analyseDataset } from '../../../src/dicom/analyse.js';
import { parseFileMeta } from '../../../src/dicom/file-meta.js';
import type { StoredInstance } from '../../../src/dicom/instance-metadata.js';
import { QrQueryError, StudyIndex } from '../../../src/index/study-index.js';
import type { MatchKeys, QrLevel, QrMatch, QrModel } from '../../../src/index/study-index.js';
import { instanceKey } from '../../../src/storage/keys.js';
import { sampleFacts, validSamples } from '../../helpers/samples.js';
import type { SampleFacts } from '../../helpers/samples.js';
import { makeTempDir } from './fixtures.js';

/** Patients of the sample studies (see dicom-samples/README.md). */
export const MR_PATIENT = '98890234';
export const CR_CT_PATIENT = '77654033';
export const UTF8_PATIENT = 'BRG-UTF8-0001';

/** A sample file as the ingest path hands it to the index. */
function storedInstance(path: string): StoredInstance {
  const file = readFileSync(path);
  const meta = parseFileMeta(file);
  const dataset = file.subarray(meta.datasetOffset);
  const { metadata } = analyseDataset(dataset, meta.transferSyntaxUid, 1024 * 1024);
  return {
    metadata,
    transferSyntaxUid: meta.transferSyntaxUid,
    sizeBytes: file.length,
    datasetSha256: createHash('sha256').update(dataset).digest('hex'),
    storageKey: instanceKey(metadata.study.uid, metadata.series.uid, metadata.instance.uid),
    receivedAt: '2024-03-01T10:20:00.000Z',
    callingAe: 'PACS',
  };
}

/** An index holding every valid sample, and what to check its answers against. */
export interface SampleIndex {
  index: StudyIndex;
  /** Per file, from dcmdump: an independent reader to check the index's answers against. */
  facts: SampleFacts[];
  /** The first file of each SOP Instance UID: what the index keeps. */
  held: StoredInstance[];
  close(): void;
  find(keys: MatchKeys, level?: QrLevel, model?: QrModel): QrMatch[];
  /** Distinct study UIDs of the facts that `keep` selects, sorted. */
  factStudies(keep: (f: SampleFacts) => boolean): string[];
  /** The study UID of the first held instance that `keep` selects. */
  studyOf(keep: (item: StoredInstance) => boolean): string;
}

/** Commits every valid sample (in one batch, as a group commit would) to a fresh index. */
export async function openSampleIndex(): Promise<SampleIndex> {
  const samples = validSamples();
  const facts = await Promise.all(samples.map(sampleFacts));
  const all = samples.map(storedInstance);
  const held = all.filter(
    (item, i) => all.findIndex((o) => o.metadata.instance.uid === item.metadata.instance.uid) === i,
  );
  const { dir, cleanup } = makeTempDir();
  const index = StudyIndex.open(join(dir, 'index.sqlite'));
  expect(index.commitInstances(all)).toEqual({
    inserted: held.length,
    alreadyIndexed: all.length - held.length,
  });
  return {
    index,
    facts,
    held,
    close: () => {
      index.close();
      cleanup();
    },
    find: (keys, level = 'STUDY', model = 'STUDY_ROOT') => index.query(model, level, keys),
    factStudies: (keep) => [...new Set(facts.filter(keep).map((f) => f.studyUid))].sort(),
    studyOf: (keep) => held.find(keep)!.metadata.study.uid,
  };
}

/** The QrQueryError `fn` throws. */
export function queryError(fn: () => unknown): QrQueryError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(QrQueryError);
    return error as QrQueryError;
  }
  throw new Error('expected a QrQueryError');
}
