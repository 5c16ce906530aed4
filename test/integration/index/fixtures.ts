import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InstanceMetadata, StoredInstance } from '../../../src/dicom/instance-metadata.js';

/** Root UID for test identifiers (2.25 = UUID-derived, no registration needed). */
const ROOT = '2.25.1000';

/** Values a test cares about; everything else gets a plausible default. */
export interface InstanceSpec {
  study: number;
  series: number;
  sop: number;
  patient?: Partial<InstanceMetadata['patient']>;
  studyValues?: Partial<Omit<InstanceMetadata['study'], 'uid'>>;
  seriesValues?: Partial<Omit<InstanceMetadata['series'], 'uid'>>;
  sizeBytes?: number;
}

export const studyUid = (study: number): string => `${ROOT}.${study}`;
export const seriesUid = (study: number, series: number): string => `${ROOT}.${study}.${series}`;
export const sopUid = (study: number, series: number, sop: number): string =>
  `${ROOT}.${study}.${series}.${sop}`;

/** A `StoredInstance` as the ingest path would hand it to the index. */
export function makeInstance(spec: InstanceSpec): StoredInstance {
  const study = studyUid(spec.study);
  const series = seriesUid(spec.study, spec.series);
  const sop = sopUid(spec.study, spec.series, spec.sop);
  return {
    metadata: {
      patient: {
        id: 'PAT-1',
        issuer: undefined,
        name: 'Rossi^Mario',
        birthDate: '19600101',
        sex: 'M',
        ...spec.patient,
      },
      study: {
        uid: study,
        accessionNumber: `ACC-${spec.study}`,
        accessionIssuer: undefined,
        date: '20240301',
        time: '101500',
        description: 'CT TORACE',
        referringPhysician: undefined,
        studyId: String(spec.study),
        ...spec.studyValues,
      },
      series: {
        uid: series,
        modality: 'CT',
        number: spec.series,
        description: undefined,
        bodyPart: 'CHEST',
        ...spec.seriesValues,
      },
      instance: {
        uid: sop,
        sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
        number: spec.sop,
        frames: undefined,
      },
    },
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    sizeBytes: spec.sizeBytes ?? 1024,
    datasetSha256: createHash('sha256').update(sop).digest('hex'),
    storageKey: `studies/${study}/${series}/${sop}.dcm`,
    receivedAt: '2024-03-01T10:20:00.000Z',
    callingAe: 'PACS',
  };
}

/** A fresh folder under the OS temp dir, and the function that removes it. */
export function makeTempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-index-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
