import { parseFileMeta } from '../../src/dicom/file-meta.js';
import type { InstanceRecord } from '../../src/index/records.js';
import type { StudyIndex } from '../../src/index/study-index.js';
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

/** A study a bridge's index holds, with its instances. */
export interface HeldStudy {
  studyUid: string;
  /** '' when the study has none. */
  accessionNumber: string;
  /** '' when the study has none. */
  patientId: string;
  /** Series by series, as the index lists them. */
  instances: InstanceRecord[];
}

/** Every study `index` holds (newest first, as `listStudies`), with its instances. */
export function heldStudies(index: StudyIndex): HeldStudy[] {
  return index.listStudies().map((s) => ({
    studyUid: s.studyUid,
    accessionNumber: s.accessionNumber ?? '',
    patientId: s.patientId ?? '',
    instances: index
      .listSeries(s.studyUid)
      .flatMap((series) => index.listInstances(series.seriesUid)),
  }));
}
