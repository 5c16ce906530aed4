export const VERIFICATION_SOP_CLASS = '1.2.840.10008.1.1';

/** Root of the standard's storage SOP classes (PS3.4 Annex B). */
const STORAGE_ROOT = '1.2.840.10008.5.1.4.1.1.';

/** Standard storage SOP classes outside the main root. */
const OTHER_STANDARD_STORAGE = new Set([
  '1.2.840.10008.5.1.4.34.7', // RT Beams Delivery Instruction
  '1.2.840.10008.5.1.4.34.10', // RT Brachy Application Setup Delivery Instruction
  '1.2.840.10008.5.1.4.38.1', // Hanging Protocol
  '1.2.840.10008.5.1.4.39.1', // Color Palette
  '1.2.840.10008.5.1.4.43.1', // Generic Implant Template
  '1.2.840.10008.5.1.4.44.1', // Implant Assembly Template
  '1.2.840.10008.5.1.4.45.1', // Implant Template Group
]);

const STANDARD_ROOT = '1.2.840.10008.';

/**
 * True when instances of this SOP class may be stored. Standard storage classes always;
 * classes outside the standard's root (vendors' private storage classes, which real PACS push)
 * when `acceptPrivate` is set. Standard non-storage classes (query/retrieve, worklist, ...) never.
 */
export function isStorageSopClass(uid: string, acceptPrivate: boolean): boolean {
  if (uid.startsWith(STORAGE_ROOT) || OTHER_STANDARD_STORAGE.has(uid)) return true;
  return acceptPrivate && !uid.startsWith(STANDARD_ROOT);
}

/** Query/retrieve information models the bridge speaks (PS3.4 Annex C). */
export type QrModel = 'PATIENT_ROOT' | 'STUDY_ROOT';

/** SOP classes of each information model, by DIMSE service. */
export const QR_SOP_CLASSES: Readonly<
  Record<QrModel, { find: string; move: string; get: string }>
> = {
  PATIENT_ROOT: {
    find: '1.2.840.10008.5.1.4.1.2.1.1',
    move: '1.2.840.10008.5.1.4.1.2.1.2',
    get: '1.2.840.10008.5.1.4.1.2.1.3',
  },
  STUDY_ROOT: {
    find: '1.2.840.10008.5.1.4.1.2.2.1',
    move: '1.2.840.10008.5.1.4.1.2.2.2',
    get: '1.2.840.10008.5.1.4.1.2.2.3',
  },
};

/** The model and service of a query/retrieve SOP class, or undefined for any other class. */
export function qrServiceOf(
  sopClassUid: string,
): { model: QrModel; service: 'find' | 'move' | 'get' } | undefined {
  for (const model of ['PATIENT_ROOT', 'STUDY_ROOT'] as const) {
    for (const service of ['find', 'move', 'get'] as const)
      if (QR_SOP_CLASSES[model][service] === sopClassUid) return { model, service };
  }
  return undefined;
}
