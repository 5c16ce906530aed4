/**
 * Which SR value type references an instance of a given SOP class (PS3.3 C.17.3.2.1): IMAGE for
 * image storage classes, WAVEFORM for waveform storage classes, COMPOSITE for any other composite
 * object (structured reports, presentation states, encapsulated documents, RT objects, ...).
 * TID 2010 (Key Object Selection) lists references under exactly these three value types.
 */
export type CompositeValueType = 'IMAGE' | 'WAVEFORM' | 'COMPOSITE';

const STORAGE_ROOT = '1.2.840.10008.5.1.4.1.1.';

/** Image storage SOP classes (PS3.4 B.5), as suffixes of the storage root; retired ones too. */
const IMAGE_SUFFIXES = [
  '1', // Computed Radiography
  '1.1', // Digital X-Ray, for presentation
  '1.1.1', // Digital X-Ray, for processing
  '1.2', // Digital Mammography X-Ray, for presentation
  '1.2.1', // Digital Mammography X-Ray, for processing
  '1.3', // Digital Intra-Oral X-Ray, for presentation
  '1.3.1', // Digital Intra-Oral X-Ray, for processing
  '2', // CT
  '2.1', // Enhanced CT
  '2.2', // Legacy Converted Enhanced CT
  '3', // Ultrasound Multi-frame (retired)
  '3.1', // Ultrasound Multi-frame
  '4', // MR
  '4.1', // Enhanced MR
  '4.3', // Enhanced MR Color
  '4.4', // Legacy Converted Enhanced MR
  '5', // Nuclear Medicine (retired)
  '6', // Ultrasound (retired)
  '6.1', // Ultrasound
  '6.2', // Enhanced US Volume
  '6.3', // Photoacoustic
  '7', // Secondary Capture
  '7.1', // Multi-frame Single Bit Secondary Capture
  '7.2', // Multi-frame Grayscale Byte Secondary Capture
  '7.3', // Multi-frame Grayscale Word Secondary Capture
  '7.4', // Multi-frame True Color Secondary Capture
  '12.1', // X-Ray Angiographic
  '12.1.1', // Enhanced XA
  '12.2', // X-Ray Radiofluoroscopic
  '12.2.1', // Enhanced XRF
  '12.3', // X-Ray Angiographic Bi-Plane (retired)
  '13.1.1', // X-Ray 3D Angiographic
  '13.1.2', // X-Ray 3D Craniofacial
  '13.1.3', // Breast Tomosynthesis
  '13.1.4', // Breast Projection X-Ray, for presentation
  '13.1.5', // Breast Projection X-Ray, for processing
  '14.1', // Intravascular OCT, for presentation
  '14.2', // Intravascular OCT, for processing
  '20', // Nuclear Medicine
  '30', // Parametric Map
  '66.4', // Segmentation
  '66.7', // Label Map Segmentation
  '77.1', // VL Image (retired)
  '77.1.1', // VL Endoscopic
  '77.1.1.1', // Video Endoscopic
  '77.1.2', // VL Microscopic
  '77.1.2.1', // Video Microscopic
  '77.1.3', // VL Slide-Coordinates Microscopic
  '77.1.4', // VL Photographic
  '77.1.4.1', // Video Photographic
  '77.1.5.1', // Ophthalmic Photography 8 Bit
  '77.1.5.2', // Ophthalmic Photography 16 Bit
  '77.1.5.4', // Ophthalmic Tomography
  '77.1.5.5', // Wide Field Ophthalmic Photography Stereographic Projection
  '77.1.5.6', // Wide Field Ophthalmic Photography 3D Coordinates
  '77.1.5.7', // Ophthalmic OCT En Face
  '77.1.5.8', // Ophthalmic OCT B-scan Volume Analysis
  '77.1.6', // VL Whole Slide Microscopy
  '77.1.7', // Dermoscopic Photography
  '77.1.8', // Confocal Microscopy
  '77.1.8.1', // Confocal Microscopy Tiled Pyramidal
  '77.2', // VL Multi-frame (retired)
  '81.1', // Ophthalmic Thickness Map
  '82.1', // Corneal Topography Map
  '128', // PET
  '128.1', // Legacy Converted Enhanced PET
  '130', // Enhanced PET
  '481.1', // RT Image
];

const IMAGE_CLASSES: ReadonlySet<string> = new Set([
  ...IMAGE_SUFFIXES.map((suffix) => STORAGE_ROOT + suffix),
  '1.2.840.10008.5.1.1.29', // Hardcopy Grayscale Image (retired)
  '1.2.840.10008.5.1.1.30', // Hardcopy Color Image (retired)
]);

/** Every waveform storage class sits under `…1.1.9.` (the retired Standalone Curve is `…1.1.9`). */
const WAVEFORM_ROOT = `${STORAGE_ROOT}9.`;

/**
 * The SR value type that references an instance of `sopClassUid`. A class this module does not
 * know as an image or waveform class (a vendor's private class, one defined after this list) is
 * referenced as COMPOSITE: readers resolve every value type through the same SOP reference.
 */
export function compositeValueType(sopClassUid: string): CompositeValueType {
  if (IMAGE_CLASSES.has(sopClassUid)) return 'IMAGE';
  if (sopClassUid.startsWith(WAVEFORM_ROOT)) return 'WAVEFORM';
  return 'COMPOSITE';
}
