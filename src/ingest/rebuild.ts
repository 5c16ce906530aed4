import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { analyseDataset } from '../dicom/analyse.js';
import type { StoredInstance } from '../dicom/instance-metadata.js';
import { parseFileMeta } from '../dicom/file-meta.js';
import { INSTANCES_PREFIX, instanceKey } from '../storage/keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import { SERIES_IN_OTHER_STUDY, type IndexError } from '../index/errors.js';
import type { IngestIndex } from './ports.js';

/**
 * Read a stored object back into what the index keeps about it. Throws when the object is not
 * a complete, valid instance or does not sit under the key its UIDs give.
 */
export async function readStoredInstance(
  store: ObjectStore,
  key: string,
  maxHeaderBytes: number,
  log: Logger,
): Promise<StoredInstance> {
  const file = await store.readBuffer(key);
  const meta = parseFileMeta(file);
  const dataset = file.subarray(meta.datasetOffset);
  const { uids, metadata, warnings } = analyseDataset(
    dataset,
    meta.transferSyntaxUid,
    maxHeaderBytes,
  );
  const expectedKey = instanceKey(uids.studyUid, uids.seriesUid, uids.sopInstanceUid);
  if (expectedKey !== key)
    throw new Error(`object key does not match its UIDs (expected ${expectedKey})`);
  if (warnings.length > 0)
    log.warn({ key, warnings }, 'instance has invalid values; indexed as stored');
  return {
    metadata,
    transferSyntaxUid: meta.transferSyntaxUid,
    sizeBytes: file.length,
    datasetSha256: createHash('sha256').update(dataset).digest('hex'),
    storageKey: key,
    receivedAt: new Date().toISOString(),
    callingAe: meta.sourceAeTitle ?? '',
  };
}

export interface RebuildReport {
  indexed: number;
  /**
   * Objects that could not be read as instances, or whose series is indexed under another
   * study (named in the log).
   */
  skipped: number;
}

const BATCH = 200;

/**
 * Index `batch` in one transaction; should a series of it be indexed under another study
 * already (two studies reusing a series UID: indexing both would merge them), one by one,
 * skipping the instances of such series. Returns how many were skipped.
 */
async function commitBatch(
  index: Pick<IngestIndex, 'commitInstances' | 'seriesStudy'>,
  batch: StoredInstance[],
  log: Logger,
): Promise<number> {
  try {
    await index.commitInstances(batch);
    return 0;
  } catch (error) {
    if ((error as IndexError).code !== SERIES_IN_OTHER_STUDY) throw error;
  }
  let skipped = 0;
  for (const item of batch) {
    try {
      await index.commitInstances([item]);
    } catch (error) {
      if ((error as IndexError).code !== SERIES_IN_OTHER_STUDY) throw error;
      skipped++;
      log.error(
        {
          key: item.storageKey,
          studyUid: item.metadata.study.uid,
          heldStudyUid: index.seriesStudy(item.metadata.series.uid),
        },
        'object skipped: its series is indexed under another study',
      );
    }
  }
  return skipped;
}

/**
 * Rebuild the index from what storage holds: every instance object is read, checked and
 * indexed again. Storage alone is the truth; this is disaster recovery and its proof.
 */
export async function rebuildIndex(
  store: ObjectStore,
  index: IngestIndex & { clear(): void },
  log: Logger,
  maxHeaderBytes: number,
  /** Called after each object read, with the counts so far (progress output). */
  onObject?: (report: RebuildReport) => void,
): Promise<RebuildReport> {
  index.clear();
  let batch: StoredInstance[] = [];
  const report: RebuildReport = { indexed: 0, skipped: 0 };
  for await (const object of store.list(INSTANCES_PREFIX)) {
    try {
      batch.push(await readStoredInstance(store, object.key, maxHeaderBytes, log));
    } catch (error) {
      report.skipped++;
      log.error(
        { key: object.key, err: (error as Error).message },
        'object skipped: not a readable instance',
      );
      onObject?.(report);
      continue;
    }
    onObject?.({ indexed: report.indexed + batch.length, skipped: report.skipped });
    if (batch.length >= BATCH) {
      const skipped = await commitBatch(index, batch, log);
      report.indexed += batch.length - skipped;
      report.skipped += skipped;
      batch = [];
    }
  }
  const skipped = await commitBatch(index, batch, log);
  report.indexed += batch.length - skipped;
  report.skipped += skipped;
  return report;
}
