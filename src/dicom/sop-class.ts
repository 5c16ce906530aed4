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
