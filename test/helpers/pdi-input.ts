import { createReadStream, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { recordKeysOf } from '../../src/dicom/dicomdir-keys.js';
import type { PdiInput, PdiPatient } from '../../src/fse/pdi-package.js';
import type { SampleFacts } from './samples.js';

/** The samples as an index would list them: patient → study → series → instance. */
export function pdiInputOf(samples: SampleFacts[]): PdiInput {
  const patients = new Map<string, PdiPatient>();
  for (const sample of samples) {
    let patient = patients.get(sample.patientId);
    if (!patient)
      patients.set(sample.patientId, (patient = { patientId: sample.patientId, studies: [] }));
    let study = patient.studies.find((s) => s.studyInstanceUid === sample.studyUid);
    if (!study) {
      study = {
        studyInstanceUid: sample.studyUid,
        accessionNumber: sample.accessionNumber,
        series: [],
      };
      patient.studies.push(study);
    }
    let series = study.series.find((s) => s.seriesInstanceUid === sample.seriesUid);
    if (!series) {
      series = { seriesInstanceUid: sample.seriesUid, modality: sample.modality, instances: [] };
      study.series.push(series);
    }
    series.instances.push({
      storageKey: sample.path,
      sopClassUid: sample.sopClassUid,
      sopInstanceUid: sample.sopInstanceUid,
      transferSyntaxUid: sample.transferSyntaxUid,
      record: recordKeysOf(readFileSync(sample.path), sample.sopClassUid),
    });
  }
  return { patients: [...patients.values()], mtime: new Date('2024-01-02T03:04:05Z') };
}

/** `storageKey` is the sample's path here: the stored file itself. */
export const openSampleFile = (key: string): Promise<Readable> =>
  Promise.resolve(createReadStream(key));
