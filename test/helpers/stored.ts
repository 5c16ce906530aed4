import { parseFileMeta } from '../../src/dicom/file-meta.js';
import type { ObjectStore } from '../../src/storage/object-store.js';

/** The dataset bytes (after the file meta) and transfer syntax of a stored object. */
export async function storedDataset(
  store: ObjectStore,
  key: string,
): Promise<{ dataset: Buffer; transferSyntaxUid: string }> {
  const file = await store.readBuffer(key);
  const meta = parseFileMeta(file);
  return { dataset: file.subarray(meta.datasetOffset), transferSyntaxUid: meta.transferSyntaxUid };
}
