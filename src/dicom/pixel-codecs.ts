/**
 * Frame decoders shared by decompression and previews: the WASM codecs dcmjs-imaging ships
 * (libjpeg-turbo and a 12/16-bit libjpeg for JPEG, CharLS for JPEG-LS, OpenJPEG for JPEG 2000),
 * and the bridge's own RLE decoder (rle.ts). Each decodes one frame into native samples,
 * little endian, interleaved by pixel.
 */
import imaging from 'dcmjs-imaging';
import { decodeRleFrame } from '../preview/rle.js';
import { TransferSyntax } from './transfer-syntax.js';

/** What a decoder needs to know of the image (Image Pixel module). */
export interface FrameLayout {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: number;
  photometricInterpretation: string;
}

export interface DecodedFrame {
  /** rows × columns × samples, `bitsAllocated / 8` bytes each, little endian, by pixel. */
  pixels: Uint8Array;
  /** The photometric interpretation of `pixels` (RGB when YCbCr was converted). */
  photometricInterpretation: string;
}

export interface DecodeOptions {
  /**
   * Colour in RGB where the codec converts it, as DCMTK and GDCM decode: YCbCr JPEG (YBR_FULL,
   * YBR_FULL_422 and the like), and JPEG 2000 with a colour transform (YBR_ICT, YBR_RCT).
   */
  toRgb: boolean;
}

type Codec = 'decodeJpeg' | 'decodeJpegLs' | 'decodeJpeg2000';

/** The frame decoders of dcmjs-imaging's NativePixelDecoder, which its typings leave out. */
type WasmDecoders = Record<
  Codec,
  (pixel: unknown, frame: Uint8Array, params: { convertColorspaceToRgb: boolean }) => Uint8Array
>;

const CODEC: Readonly<Record<string, Codec | 'rle'>> = {
  [TransferSyntax.JpegBaseline]: 'decodeJpeg',
  [TransferSyntax.JpegExtended]: 'decodeJpeg',
  [TransferSyntax.JpegLossless]: 'decodeJpeg',
  [TransferSyntax.JpegLosslessSv1]: 'decodeJpeg',
  [TransferSyntax.JpegLsLossless]: 'decodeJpegLs',
  [TransferSyntax.JpegLsNearLossless]: 'decodeJpegLs',
  [TransferSyntax.Jpeg2000Lossless]: 'decodeJpeg2000',
  [TransferSyntax.Jpeg2000]: 'decodeJpeg2000',
  [TransferSyntax.Rle]: 'rle',
};

/** Transfer syntaxes whose frames `decodeFrame` decodes. */
export const DECODED_SYNTAXES: ReadonlySet<string> = new Set(Object.keys(CODEC));

/** A frame could not be decoded. */
export class FrameDecodeError extends Error {
  override readonly name = 'FrameDecodeError';
}

let codecs: Promise<void> | undefined;

/** Loads the WASM codecs once, on first use (no work at import time). */
export function loadCodecs(): Promise<void> {
  codecs ??= (async () => {
    // dcmjs-imaging logs through loglevel at every level by default; errors reach the caller.
    imaging.log.setLevel('silent');
    await imaging.NativePixelDecoder.initializeAsync({ logNativeDecodersMessages: false });
  })();
  codecs.catch(() => {
    codecs = undefined;
  });
  return codecs;
}

/**
 * Drops the WASM codecs after a trap: a trap leaves the module's memory as it was mid-decode,
 * and after a few dozen of them every later decode failed until a restart. The next decode
 * loads them afresh.
 */
export function resetCodecs(): void {
  codecs = undefined;
  imaging.NativePixelDecoder.release();
}

/**
 * A JPEG-LS codestream without interleaving (ILV 0) holds one scan per component, and CharLS
 * hands its samples over plane by plane: the first scan header (SOS) names one component.
 */
function jpegLsByPlane(frame: Uint8Array): boolean {
  let offset = 2;
  while (offset + 4 < frame.length) {
    if (frame[offset] !== 0xff) return false;
    const marker = frame[offset + 1]!;
    if (marker === 0xff) {
      offset++;
      continue;
    }
    const length = (frame[offset + 2]! << 8) | frame[offset + 3]!;
    if (marker === 0xda) return frame[offset + 4] === 1;
    offset += 2 + length;
  }
  return false;
}

/** Three planes (R... G... B...) interleaved by pixel (R G B R G B ...). */
function interleave(planes: Uint8Array, sampleBytes: number): Uint8Array {
  const out = new Uint8Array(planes.length);
  const plane = planes.length / 3;
  const pixelCount = plane / sampleBytes;
  for (let p = 0; p < pixelCount; p++)
    for (let s = 0; s < 3; s++)
      for (let b = 0; b < sampleBytes; b++)
        out[(p * 3 + s) * sampleBytes + b] = planes[s * plane + p * sampleBytes + b]!;
  return out;
}

/** Whether the codec turns colour in `photometric` into RGB when asked to. */
function convertsToRgb(codec: Codec | 'rle', photometric: string): boolean {
  if (codec === 'decodeJpeg') return photometric.startsWith('YBR_');
  if (codec === 'decodeJpeg2000') return photometric === 'YBR_ICT' || photometric === 'YBR_RCT';
  return false;
}

/** The image as dcmjs-imaging's decoders read it. */
function pixelOf(layout: FrameLayout): unknown {
  return {
    getWidth: () => layout.columns,
    getHeight: () => layout.rows,
    getBitsAllocated: () => layout.bitsAllocated,
    getBitsStored: () => layout.bitsStored,
    getSamplesPerPixel: () => layout.samplesPerPixel,
    getPixelRepresentation: () => layout.pixelRepresentation,
    // dcmjs-imaging passes a truthy value on as interleaved: decoders write by pixel.
    getPlanarConfiguration: () => 1,
    getPhotometricInterpretation: () => layout.photometricInterpretation,
  };
}

/**
 * Decode one frame of `transferSyntax` (the bytes of its fragments joined). Call `loadCodecs`
 * first. Throws FrameDecodeError naming the problem; a decoded frame shorter than the layout
 * declares is an error too.
 */
export function decodeFrame(
  transferSyntax: string,
  frame: Uint8Array,
  layout: FrameLayout,
  options: DecodeOptions,
): DecodedFrame {
  const codec = CODEC[transferSyntax];
  if (!codec) throw new FrameDecodeError(`transfer syntax ${transferSyntax} is not decoded`);
  const expected =
    layout.rows * layout.columns * layout.samplesPerPixel * (layout.bitsAllocated / 8);
  let pixels: Uint8Array;
  const toRgb =
    options.toRgb &&
    layout.samplesPerPixel === 3 &&
    convertsToRgb(codec, layout.photometricInterpretation);
  try {
    if (codec === 'rle') pixels = decodeRleFrame(frame, layout);
    else {
      const decoders = imaging.NativePixelDecoder as unknown as WasmDecoders;
      pixels = decoders[codec](pixelOf(layout), frame, { convertColorspaceToRgb: toRgb });
    }
  } catch (error) {
    // A WebAssembly.RuntimeError (a trap); the type is not in this project's TypeScript libraries.
    if (error instanceof Error && error.name === 'RuntimeError') resetCodecs();
    const reason = error instanceof Error ? error.message : String(error);
    throw new FrameDecodeError(`the frame could not be decoded (${reason})`, { cause: error });
  }
  if (pixels.length < expected)
    throw new FrameDecodeError(
      `the decoded frame holds ${pixels.length} bytes, ${expected} declared by the image attributes`,
    );
  pixels = pixels.subarray(0, expected);
  if (codec === 'decodeJpegLs' && layout.samplesPerPixel === 3 && jpegLsByPlane(frame))
    pixels = interleave(pixels, layout.bitsAllocated / 8);
  return { pixels, photometricInterpretation: toRgb ? 'RGB' : layout.photometricInterpretation };
}
