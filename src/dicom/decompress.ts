/**
 * Decompression of a stored instance into native pixel data, as DCMTK's dcmdjpeg, dcmdjpls and
 * dcmdrle do it (GDCM's gdcmconv --raw for JPEG 2000): every frame decoded, Pixel Data written
 * as OW of even length, the fragments and offset tables gone, and the Image Pixel attributes
 * that the decoding changes brought up to date. Every other element is written as stored.
 */
import { readElementTree, type RawElement } from './element-tree.js';
import { FramesError, framesOf } from './encapsulated.js';
import { trimEnd } from './padding.js';
import {
  DECODED_SYNTAXES,
  FrameDecodeError,
  decodeFrame,
  loadCodecs,
  type FrameLayout,
} from './pixel-codecs.js';
import { writeElementTree, type ElementOverride } from './reencode.js';
import { TransferSyntax } from './transfer-syntax.js';

/** The instance cannot be decompressed; the message says why. */
export class DecompressError extends Error {
  override readonly name = 'DecompressError';
}

export interface DecompressOptions {
  /** Explicit VR Little Endian (default) or Implicit VR Little Endian. */
  explicitOut?: boolean;
  /** Called after each frame; a rejection stops the decompression. */
  onFrame?: (decoded: number, frames: number) => void | Promise<void>;
}

const TAG = {
  SopClassUid: 0x00080016,
  SamplesPerPixel: 0x00280002,
  PhotometricInterpretation: 0x00280004,
  PlanarConfiguration: 0x00280006,
  NumberOfFrames: 0x00280008,
  Rows: 0x00280010,
  Columns: 0x00280011,
  BitsAllocated: 0x00280100,
  BitsStored: 0x00280101,
  PixelRepresentation: 0x00280103,
  LossyImageCompression: 0x00282110,
  LossyImageCompressionMethod: 0x00282114,
  ExtendedOffsetTable: 0x7fe00001,
  ExtendedOffsetTableLengths: 0x7fe00002,
  EncapsulatedPixelDataValueTotalLength: 0x7fe00003,
  PixelData: 0x7fe00010,
} as const;

/** Lossy syntaxes and the Lossy Image Compression Method (0028,2114) each records. */
const LOSSY_METHOD: Readonly<Record<string, string>> = {
  [TransferSyntax.JpegBaseline]: 'ISO_10918_1',
  [TransferSyntax.JpegExtended]: 'ISO_10918_1',
  [TransferSyntax.JpegLsNearLossless]: 'ISO_14495_1',
  [TransferSyntax.Jpeg2000]: 'ISO_15444_1',
};

const JPEG = new Set<string>([
  TransferSyntax.JpegBaseline,
  TransferSyntax.JpegExtended,
  TransferSyntax.JpegLossless,
  TransferSyntax.JpegLosslessSv1,
]);
const JPEG_LS = new Set<string>([TransferSyntax.JpegLsLossless, TransferSyntax.JpegLsNearLossless]);

const HARDCOPY_COLOR_IMAGE = '1.2.840.10008.5.1.1.30';
const ULTRASOUND_IMAGES = new Set(['1.2.840.10008.5.1.4.1.1.6.1', '1.2.840.10008.5.1.4.1.1.3.1']);
/** Largest Pixel Data written: what one Buffer holds, with room for the rest of the dataset. */
const MAX_PIXEL_BYTES = 2 ** 31;

/** Syntaxes `decompressDataset` decodes. */
export function isDecompressible(transferSyntaxUid: string): boolean {
  return DECODED_SYNTAXES.has(transferSyntaxUid);
}

/** The stored image was compressed with loss (its syntax says so). */
export function isLossySyntax(transferSyntaxUid: string): boolean {
  return transferSyntaxUid in LOSSY_METHOD;
}

interface Image {
  layout: FrameLayout;
  frames: number;
  planarConfiguration: number | undefined;
  sopClassUid: string;
}

function find(elements: RawElement[], tag: number): RawElement | undefined {
  return elements.find((element) => element.tag === tag);
}

function text(elements: RawElement[], tag: number): string | undefined {
  const value = find(elements, tag)?.value;
  return value === undefined ? undefined : trimEnd(value.toString('latin1')).trim();
}

function uint16(elements: RawElement[], tag: number, name: string): number {
  const value = find(elements, tag)?.value;
  if (!value || value.length < 2) throw new DecompressError(`${name} is missing`);
  return value.readUInt16LE(0);
}

/** Encapsulated pixel data inside a sequence item: it would stay encapsulated. */
function holdsNestedFragments(element: RawElement): boolean {
  return (element.items ?? []).some((item) =>
    item.elements.some((inner) => inner.fragments !== undefined || holdsNestedFragments(inner)),
  );
}

function imageOf(elements: RawElement[]): Image {
  const layout: FrameLayout = {
    rows: uint16(elements, TAG.Rows, 'Rows'),
    columns: uint16(elements, TAG.Columns, 'Columns'),
    samplesPerPixel: uint16(elements, TAG.SamplesPerPixel, 'SamplesPerPixel'),
    bitsAllocated: uint16(elements, TAG.BitsAllocated, 'BitsAllocated'),
    bitsStored: uint16(elements, TAG.BitsStored, 'BitsStored'),
    pixelRepresentation: uint16(elements, TAG.PixelRepresentation, 'PixelRepresentation'),
    photometricInterpretation: text(elements, TAG.PhotometricInterpretation) ?? '',
  };
  const { rows, columns, samplesPerPixel, bitsAllocated } = layout;
  if (rows === 0 || columns === 0) throw new DecompressError(`the image is ${columns}×${rows}`);
  if (samplesPerPixel !== 1 && samplesPerPixel !== 3)
    throw new DecompressError(`SamplesPerPixel ${samplesPerPixel} is not decompressed`);
  if (bitsAllocated !== 8 && bitsAllocated !== 16)
    throw new DecompressError(`BitsAllocated ${bitsAllocated} is not decompressed`);
  const framesText = text(elements, TAG.NumberOfFrames);
  const frames = framesText === undefined || framesText === '' ? 1 : Number(framesText);
  if (!Number.isInteger(frames) || frames < 1)
    throw new DecompressError(`NumberOfFrames ${JSON.stringify(framesText)} is not a count`);
  if (rows * columns * samplesPerPixel * (bitsAllocated / 8) * frames > MAX_PIXEL_BYTES)
    throw new DecompressError('the decompressed pixel data would exceed 2 GiB');
  const planar = find(elements, TAG.PlanarConfiguration)?.value;
  return {
    layout,
    frames,
    planarConfiguration: planar && planar.length >= 2 ? planar.readUInt16LE(0) : undefined,
    sopClassUid: text(elements, TAG.SopClassUid) ?? '',
  };
}

/**
 * Colour-by-plane only where DCMTK's automatic choice makes it: Hardcopy Color Images, and
 * ultrasound images in YBR_FULL (the 1996 ultrasound IODs).
 */
function automaticPlanarConfiguration(image: Image): number {
  if (image.sopClassUid === HARDCOPY_COLOR_IMAGE) return 1;
  if (
    image.layout.photometricInterpretation === 'YBR_FULL' &&
    ULTRASOUND_IMAGES.has(image.sopClassUid)
  )
    return 1;
  return 0;
}

/** The planar configuration of the decompressed image, as DCMTK's decoders choose it. */
function outputPlanarConfiguration(image: Image, transferSyntax: string): number {
  const stored = image.planarConfiguration;
  // dcmdjpeg decides from the SOP class and colour model; dcmdjpls and dcmdrle keep the stored
  // value (dcmdjpls falls back to the automatic choice; dcmdrle refuses, the bridge writes 0).
  if (JPEG.has(transferSyntax)) return automaticPlanarConfiguration(image);
  if (stored === 0 || stored === 1) return stored;
  if (JPEG_LS.has(transferSyntax)) return automaticPlanarConfiguration(image);
  return 0;
}

/** Copy an interleaved frame (R G B R G B ...) as three planes. */
function toPlanes(pixels: Uint8Array, target: Buffer, offset: number, sampleBytes: number): void {
  const pixelCount = pixels.length / (3 * sampleBytes);
  const plane = pixelCount * sampleBytes;
  for (let p = 0; p < pixelCount; p++)
    for (let s = 0; s < 3; s++)
      for (let b = 0; b < sampleBytes; b++)
        target[offset + s * plane + p * sampleBytes + b] = pixels[(p * 3 + s) * sampleBytes + b]!;
}

function textValue(value: string): Buffer {
  return Buffer.from(value.length % 2 === 1 ? `${value} ` : value, 'latin1');
}

function usValue(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16LE(value, 0);
  return buffer;
}

/**
 * Decompress a dataset stored in `transferSyntax` (Explicit VR Little Endian with encapsulated
 * pixel data) into Explicit (or Implicit) VR Little Endian with native pixel data. Lossy images
 * keep Lossy Image Compression (0028,2110) 01 (set when absent) and record the method in
 * (0028,2114) when none is recorded. Throws DecompressError naming the reason.
 */
export async function decompressDataset(
  dataset: Buffer,
  transferSyntax: string,
  options: DecompressOptions = {},
): Promise<Buffer> {
  if (!isDecompressible(transferSyntax))
    throw new DecompressError(`transfer syntax ${transferSyntax} is not decompressed`);
  const elements = readElementTree(dataset, { explicitVr: true, littleEndian: true });
  const fragments = find(elements, TAG.PixelData)?.fragments;
  if (!fragments) throw new DecompressError('the dataset has no encapsulated pixel data');
  if (elements.some(holdsNestedFragments))
    throw new DecompressError('a sequence item holds encapsulated pixel data (an icon, say)');
  const image = imageOf(elements);
  const { layout, frames } = image;
  let frameBytes: Buffer[];
  try {
    frameBytes = framesOf(fragments, frames);
  } catch (error) {
    if (error instanceof FramesError) throw new DecompressError(error.message);
    throw error;
  }
  const planar =
    layout.samplesPerPixel === 3 ? outputPlanarConfiguration(image, transferSyntax) : 0;
  const sampleBytes = layout.bitsAllocated / 8;
  const frameLength = layout.rows * layout.columns * layout.samplesPerPixel * sampleBytes;
  const total = frameLength * frames;
  const pixels = Buffer.alloc(total + (total % 2));
  let photometric = layout.photometricInterpretation;
  await loadCodecs();
  for (const [i, bytes] of frameBytes.entries()) {
    let decoded;
    try {
      // YCbCr JPEG to RGB as dcmdjpeg converts it; JPEG 2000 colour transforms undone.
      decoded = decodeFrame(transferSyntax, bytes, layout, { toRgb: true });
    } catch (error) {
      if (error instanceof FrameDecodeError)
        throw new DecompressError(`frame ${i + 1} of ${frames}: ${error.message}`);
      throw error;
    }
    photometric = decoded.photometricInterpretation;
    if (planar === 1) toPlanes(decoded.pixels, pixels, i * frameLength, sampleBytes);
    else pixels.set(decoded.pixels, i * frameLength);
    await options.onFrame?.(i + 1, frames);
  }

  const overrides = new Map<number, ElementOverride | null>([
    [TAG.PixelData, { vr: 'OW', value: pixels }],
    [TAG.ExtendedOffsetTable, null],
    [TAG.ExtendedOffsetTableLengths, null],
    [TAG.EncapsulatedPixelDataValueTotalLength, null],
  ]);
  if (photometric !== layout.photometricInterpretation)
    overrides.set(TAG.PhotometricInterpretation, { vr: 'CS', value: textValue(photometric) });
  if (layout.samplesPerPixel === 3)
    overrides.set(TAG.PlanarConfiguration, { vr: 'US', value: usValue(planar) });
  const method = LOSSY_METHOD[transferSyntax];
  if (method) {
    if (text(elements, TAG.LossyImageCompression) !== '01')
      overrides.set(TAG.LossyImageCompression, { vr: 'CS', value: textValue('01') });
    if (!text(elements, TAG.LossyImageCompressionMethod))
      overrides.set(TAG.LossyImageCompressionMethod, { vr: 'CS', value: textValue(method) });
  }
  return writeElementTree(elements, {
    source: { explicitVr: true, littleEndian: true },
    explicitOut: options.explicitOut ?? true,
    overrides,
  });
}
