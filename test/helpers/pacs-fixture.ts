import { startOrthanc, type OrthancPacs } from './orthanc.js';
import { startReferenceScp } from './reference-scp.js';
import { sampleFacts, validSamples, type SampleFacts } from './samples.js';

/** Orthanc holding the samples, with what it kept: the first file of each SOP Instance UID. */
export interface SamplePacs {
  pacs: OrthancPacs;
  samples: SampleFacts[];
  /** The file Orthanc kept for each SOP Instance UID (the first one uploaded). */
  original: Map<string, SampleFacts>;
  /**
   * The dataset bytes Orthanc puts on the wire for each SOP Instance UID when it sends with
   * C-STORE, captured by DCMTK storescp +B. Orthanc (DCMTK inside) re-encodes some files, e.g.
   * sequences of undefined length, so this, not the file, is what a retrieve can deliver.
   */
  wire: Map<string, Buffer>;
  /** Studies that have an accession number, with the patient and their instances. */
  studies: Array<{
    studyUid: string;
    accessionNumber: string;
    patientId: string;
    instances: SampleFacts[];
  }>;
}

/** Start Orthanc with the given modalities and upload every valid sample to it. */
export async function startSamplePacs(
  modalities: Parameters<typeof startOrthanc>[0] = {},
): Promise<SamplePacs> {
  const pacs = await startOrthanc(modalities);
  try {
    const files = validSamples();
    const samples = await Promise.all(files.map((file) => sampleFacts(file)));
    const answers = await pacs.uploadFiles(files);
    const original = new Map<string, SampleFacts>();
    samples.forEach((sample, i) => {
      if (answers[i]!.Status === 'Success') original.set(sample.sopInstanceUid, sample);
    });
    const byStudy = new Map<string, SampleFacts[]>();
    for (const sample of original.values())
      byStudy.set(sample.studyUid, [...(byStudy.get(sample.studyUid) ?? []), sample]);
    const studies = [...byStudy]
      .filter(([, instances]) => instances[0]!.accessionNumber !== '')
      .map(([studyUid, instances]) => ({
        studyUid,
        accessionNumber: instances[0]!.accessionNumber,
        patientId: instances[0]!.patientId,
        instances,
      }));
    const wire = await capture(pacs, [...original.keys()]);
    return { pacs, samples, original, wire, studies };
  } catch (error) {
    await pacs.stop();
    throw error;
  }
}

async function capture(pacs: OrthancPacs, uids: string[]): Promise<Map<string, Buffer>> {
  const reference = await startReferenceScp('REFSCP');
  try {
    await pacs.setModality('reference', {
      aeTitle: 'REFSCP',
      host: '127.0.0.1',
      port: reference.port,
    });
    const ids = await pacs.rest<string[]>('GET', '/instances');
    await pacs.rest('POST', '/modalities/reference/store', { Resources: ids, Synchronous: true });
    const wire = new Map<string, Buffer>();
    for (const uid of uids) {
      const dataset = reference.dataset(uid);
      if (!dataset) throw new Error(`Orthanc did not send ${uid} to the reference SCP`);
      wire.set(uid, dataset);
    }
    return wire;
  } finally {
    await pacs.removeModality('reference');
    await reference.stop();
  }
}
