import type { StoredInstance } from '../dicom/instance-metadata.js';

/** What ingest needs from the index. */
export interface IngestIndex {
  findInstance(
    sopInstanceUid: string,
  ): { datasetSha256: string; storageKey: string; studyUid: string } | undefined;
  /** The StudyInstanceUID a series is indexed under; undefined when it is not indexed. */
  seriesStudy(seriesUid: string): string | undefined;
  /** The patient a study is indexed under; undefined when the study is not indexed. */
  getStudy(
    studyUid: string,
  ): { patientId: string | undefined; patientIssuer: string | undefined } | undefined;
  /**
   * One transaction for the whole batch; throws when it cannot commit. Instances whose UID is
   * in `replace` take the place of the row already indexed for it.
   */
  commitInstances(
    items: readonly StoredInstance[],
    replace?: ReadonlySet<string>,
  ): Promise<unknown> | unknown;
  /** Removes an instance's row; false when it was not indexed. */
  removeInstance(sopInstanceUid: string): Promise<boolean> | boolean;
}

/** What to do with an instance whose SOP Instance UID is stored already with other content. */
export type DuplicatePolicy = 'keep-first' | 'replace';
