import { inflateRawSync } from 'node:zlib';
import { DatasetWalker } from './dataset-walker.js';
import {
  KEY_TAGS,
  extractMetadata,
  keyUids,
  walkedSyntax,
  type KeyUids,
  type MetadataResult,
} from './metadata.js';
import { encodingOf } from './transfer-syntax.js';

export interface Analysis extends MetadataResult {
  uids: KeyUids;
}

const MAX_KEPT_ELEMENT_BYTES = 1024 * 1024;

/** A walker for a dataset in `transferSyntaxUid` (deflated datasets are walked inflated). */
export function createWalker(transferSyntaxUid: string, maxHeaderBytes: number): DatasetWalker {
  const encoding = encodingOf(transferSyntaxUid);
  return new DatasetWalker({
    explicitVr: encoding.explicitVr,
    littleEndian: encoding.littleEndian,
    captureTags: KEY_TAGS,
    maxHeaderBytes,
    maxKeptElementBytes: MAX_KEPT_ELEMENT_BYTES,
  });
}

/**
 * Check and read a whole dataset held in memory (index rebuild, tests): throws `DatasetError`
 * when malformed or truncated, `InvalidUidError` when a key UID is invalid.
 */
export function analyseDataset(
  dataset: Buffer,
  transferSyntaxUid: string,
  maxHeaderBytes: number,
): Analysis {
  const walker = createWalker(transferSyntaxUid, maxHeaderBytes);
  walker.push(encodingOf(transferSyntaxUid).deflated ? inflateRawSync(dataset) : dataset);
  const walked = walker.finish();
  const uids = keyUids(walked.values);
  return {
    uids,
    ...extractMetadata(walked.header, walkedSyntax(transferSyntaxUid), uids, walked.values),
  };
}
