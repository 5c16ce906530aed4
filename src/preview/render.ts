/**
 * JPEG previews of stored instances: the PS3.10 file is parsed with dcmjs, the chosen frame of
 * compressed pixel data decoded by the decoders decompression uses (pixel-codecs.ts), then put
 * through the Modality LUT, VOI window and photometric conversion by dcmjs-imaging, then
 * resized and encoded by sharp.
 */
import dcmjs from 'dcmjs';
import imaging from 'dcmjs-imaging';
import sharp from 'sharp';
import { silenceDcmjs } from '../dicom/dcmjs-quiet.js';
import { DECODED_SYNTAXES, decodeFrame, loadCodecs, resetCodecs } from '../dicom/pixel-codecs.js';
import { checkGeometry, checkNativeLength, firstString, integerElement } from './pixel-checks.js';
import { PreviewError } from './preview-error.js';

export { MAX_FRAME_PIXELS } from './pixel-checks.js';
export { PreviewError, type PreviewFailure } from './preview-error.js';

export interface PreviewOptions {
  /** Longest side of the preview in pixels; smaller images are not enlarged. Default 512. */
  maxSize?: number;
  /** JPEG quality 1–100. Default 85. */
  quality?: number;
  /** Frame index (0-based) of a multi-frame image; default the middle frame. */
  frame?: number;
}

export interface Preview {
  jpeg: Buffer;
  width: number;
  height: number;
  /** The frame rendered (0-based) and how many the image has. */
  frame: number;
  frames: number;
  /** The VOI window applied (grey-scale images only). */
  window?: { center: number; width: number };
}

export const DEFAULT_MAX_SIZE = 512;
export const DEFAULT_QUALITY = 85;

/** Transfer syntaxes dcmjs-imaging 0.2.5 decodes (its README); others are refused up front. */
const DECODABLE_SYNTAXES: ReadonlySet<string> = new Set([
  '1.2.840.10008.1.2',
  '1.2.840.10008.1.2.1',
  '1.2.840.10008.1.2.1.99',
  '1.2.840.10008.1.2.2',
  '1.2.840.10008.1.2.5',
  '1.2.840.10008.1.2.4.50',
  '1.2.840.10008.1.2.4.51',
  '1.2.840.10008.1.2.4.57',
  '1.2.840.10008.1.2.4.70',
  '1.2.840.10008.1.2.4.80',
  '1.2.840.10008.1.2.4.81',
  '1.2.840.10008.1.2.4.90',
  '1.2.840.10008.1.2.4.91',
  '1.2.840.10008.1.2.4.110',
  '1.2.840.10008.1.2.4.112',
  '1.2.840.10008.1.2.4.201',
  '1.2.840.10008.1.2.4.202',
  '1.2.840.10008.1.2.4.203',
]);

const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

const NATIVE_SYNTAXES: ReadonlySet<string> = new Set([
  '1.2.840.10008.1.2',
  EXPLICIT_VR_LITTLE_ENDIAN,
  '1.2.840.10008.1.2.1.99',
  '1.2.840.10008.1.2.2',
]);

const GREY = new Set(['MONOCHROME1', 'MONOCHROME2']);
const COLOUR = new Set([
  'RGB',
  'YBR_FULL',
  'YBR_FULL_422',
  'YBR_PARTIAL_422',
  'YBR_ICT',
  'YBR_RCT',
  'PALETTE COLOR',
]);

function positiveInteger(name: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(
      `${name} must be an integer from 1 to ${max}, received ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function parse(file: Buffer): { elements: Record<string, unknown>; transferSyntax: string } {
  try {
    const parsed = dcmjs.data.DicomMessage.readFile(
      file.buffer.slice(file.byteOffset, file.byteOffset + file.length) as ArrayBuffer,
      {
        ignoreErrors: true,
        untilTag: null,
        includeUntilTagValue: false,
        noCopy: false,
        forceStoreRaw: false,
      },
    );
    const meta = dcmjs.data.DicomMetaDictionary.naturalizeDataset(parsed.meta);
    const transferSyntax = firstString(meta.TransferSyntaxUID);
    if (transferSyntax === undefined) throw new Error('the file meta has no TransferSyntaxUID');
    return {
      elements: dcmjs.data.DicomMetaDictionary.naturalizeDataset(parsed.dict),
      transferSyntax,
    };
  } catch (error) {
    throw new PreviewError('not-dicom', `not a readable PS3.10 file (${message(error)})`, {
      cause: error,
    });
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function checkRenderable(elements: Record<string, unknown>, transferSyntax: string): string {
  const pixelData = elements.PixelData;
  if (
    pixelData === undefined ||
    (Array.isArray(pixelData) && pixelData.length === 0) ||
    elements.Rows === undefined ||
    elements.Columns === undefined
  ) {
    const what = firstString(elements.SOPClassUID) ?? 'unknown SOP class';
    throw new PreviewError('no-pixel-data', `the object (${what}) has no image pixel data`);
  }
  const photometric = firstString(elements.PhotometricInterpretation);
  if (photometric === undefined || !(GREY.has(photometric) || COLOUR.has(photometric))) {
    throw new PreviewError(
      'unsupported-photometric',
      `PhotometricInterpretation ${JSON.stringify(photometric ?? '')} is not supported`,
    );
  }
  if (!DECODABLE_SYNTAXES.has(transferSyntax)) {
    throw new PreviewError(
      'unsupported-transfer-syntax',
      `transfer syntax ${transferSyntax} cannot be decoded`,
    );
  }
  return photometric;
}

/**
 * The VOI window: the first WindowCenter/WindowWidth pair when valid, otherwise none, so the
 * renderer takes the minimum and maximum of the frame's pixel values after the Modality LUT.
 */
function declaredWindow(
  elements: Record<string, unknown>,
): { center: number; width: number } | undefined {
  const center = Number.parseFloat(firstString(elements.WindowCenter) ?? '');
  const width = Number.parseFloat(firstString(elements.WindowWidth) ?? '');
  if (!Number.isFinite(center) || !Number.isFinite(width) || width < 1) return undefined;
  return { center, width };
}

/**
 * The chosen frame of compressed pixel data decoded (YCbCr converted to RGB), as a one-frame
 * native dataset that dcmjs-imaging renders like any uncompressed image.
 */
function decodeChosenFrame(
  elements: Record<string, unknown>,
  transferSyntax: string,
  frame: number,
  frames: number,
): { elements: Record<string, unknown>; transferSyntax: string; frame: number } {
  const fragments = (Array.isArray(elements.PixelData) ? elements.PixelData : []) as ArrayBuffer[];
  // dcmjs hands encapsulated pixel data over one buffer per frame; a single frame split into
  // several fragments is joined.
  const parts = frames === 1 ? fragments : fragments.slice(frame, frame + 1);
  if (parts.length === 0 || (frames > 1 && fragments.length !== frames)) {
    throw new Error(`${fragments.length} fragments for ${frames} frames`);
  }
  const bytes = Buffer.concat(parts.map((part) => new Uint8Array(part)));
  const bitsAllocated = integerElement(elements, 'BitsAllocated');
  const decoded = decodeFrame(
    transferSyntax,
    bytes,
    {
      rows: integerElement(elements, 'Rows'),
      columns: integerElement(elements, 'Columns'),
      samplesPerPixel: integerElement(elements, 'SamplesPerPixel', 1),
      bitsAllocated,
      bitsStored: integerElement(elements, 'BitsStored', bitsAllocated),
      pixelRepresentation: Number(firstString(elements.PixelRepresentation) ?? 0),
      photometricInterpretation: firstString(elements.PhotometricInterpretation) ?? '',
    },
    { toRgb: true },
  );
  const pixels = decoded.pixels.slice();
  return {
    elements: {
      ...elements,
      PixelData: [pixels.buffer],
      NumberOfFrames: 1,
      PlanarConfiguration: 0,
      PhotometricInterpretation: decoded.photometricInterpretation,
    },
    transferSyntax: EXPLICIT_VR_LITTLE_ENDIAN,
    frame: 0,
  };
}

/**
 * Renders one frame of a stored PS3.10 file as a JPEG preview, keeping its aspect ratio within
 * `maxSize`.
 *
 * Grey-scale images get the Modality LUT (RescaleSlope/RescaleIntercept), then the first
 * declared VOI window or, without one, the full range of the frame's values; MONOCHROME1 is
 * inverted. Colour images (RGB, YBR, palette colour, either planar configuration) are
 * converted to RGB. Overlays are not burnt in.
 *
 * @throws PreviewError naming the reason (no pixel data, unsupported photometric
 *   interpretation or transfer syntax, decode or encode failure).
 * @throws RangeError for an invalid option.
 */
export async function renderPreview(file: Buffer, options: PreviewOptions = {}): Promise<Preview> {
  const maxSize = positiveInteger('maxSize', options.maxSize ?? DEFAULT_MAX_SIZE, 16_384);
  const quality = positiveInteger('quality', options.quality ?? DEFAULT_QUALITY, 100);
  silenceDcmjs();
  await loadCodecs();

  const { elements, transferSyntax } = parse(file);
  const photometric = checkRenderable(elements, transferSyntax);
  checkGeometry(elements, GREY.has(photometric));
  // The declared extremes are often stale after lossy compression or resampling; the
  // renderer would prefer them to the real pixel values.
  delete elements.SmallestImagePixelValue;
  delete elements.LargestImagePixelValue;

  const frames = Math.max(1, Number.parseInt(firstString(elements.NumberOfFrames) ?? '1', 10) || 1);
  const frame =
    options.frame === undefined
      ? Math.floor(frames / 2)
      : positiveInteger('frame + 1', options.frame + 1, frames) - 1;
  if (NATIVE_SYNTAXES.has(transferSyntax)) checkNativeLength(elements, frames);
  const window = GREY.has(photometric) ? declaredWindow(elements) : undefined;
  let rendered: { width: number; height: number; pixels: ArrayBuffer };
  let applied: { center: number; width: number } | undefined;
  try {
    const source = DECODED_SYNTAXES.has(transferSyntax)
      ? decodeChosenFrame(elements, transferSyntax, frame, frames)
      : { elements, transferSyntax, frame };
    const image = new imaging.DicomImage(source.elements, source.transferSyntax);
    const result = image.render({
      frame: source.frame,
      renderOverlays: false,
      ...(window ? { windowLevel: new imaging.WindowLevel(window.width, window.center) } : {}),
    });
    rendered = result;
    if (result.windowLevel) {
      applied = { center: result.windowLevel.getLevel(), width: result.windowLevel.getWindow() };
    }
  } catch (error) {
    if (error instanceof PreviewError) throw error;
    // A WebAssembly.RuntimeError (a trap); the type is not in this project's TypeScript libraries.
    if (error instanceof Error && error.name === 'RuntimeError') resetCodecs();
    throw new PreviewError('decode-failed', `pixel data could not be decoded (${message(error)})`, {
      cause: error,
    });
  }

  const { width, height } = rendered;
  if (rendered.pixels.byteLength < width * height * 4) {
    throw new PreviewError('decode-failed', `the decoded frame is shorter than ${width}×${height}`);
  }
  try {
    const rgba = new Uint8Array(rendered.pixels, 0, width * height * 4);
    let pipeline;
    if (GREY.has(photometric)) {
      // The renderer repeats the grey level in R, G and B; a one-channel JPEG is a third the size.
      const grey = new Uint8Array(width * height);
      for (let i = 0, j = 0; i < grey.length; i++, j += 4) grey[i] = rgba[j] as number;
      pipeline = sharp(grey, { raw: { width, height, channels: 1 } }).toColourspace('b-w');
    } else {
      pipeline = sharp(rgba, { raw: { width, height, channels: 4 } }).removeAlpha();
    }
    const { data, info } = await pipeline
      .resize(maxSize, maxSize, { fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality })
      .toBuffer({ resolveWithObject: true });
    return {
      jpeg: data,
      width: info.width,
      height: info.height,
      frame,
      frames,
      ...(applied ? { window: applied } : {}),
    };
  } catch (error) {
    throw new PreviewError('encode-failed', `JPEG encoding failed (${message(error)})`, {
      cause: error,
    });
  }
}
