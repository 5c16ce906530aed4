import sharp from 'sharp';
import { encodeFileMeta } from '../../src/dicom/file-meta.js';

const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const ROOT = '2.25.299319212498727616254171315227512781817.9';
const LONG_VRS = new Set(['OB', 'OW', 'SQ', 'UN', 'UT']);

/** One Explicit VR Little Endian element. */
export function element(tag: number, vr: string, value: Buffer): Buffer {
  const long = LONG_VRS.has(vr);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(value.length, 8);
  else header.writeUInt16LE(value.length, 6);
  return Buffer.concat([header, value]);
}

/** Text padded to even length (with `pad`: a space, or NUL for UIDs). */
export function str(value: string, pad = ' '): Buffer {
  return Buffer.from(value.length % 2 === 1 ? value + pad : value, 'latin1');
}

function us(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16LE(value, 0);
  return buffer;
}

export interface SyntheticImage {
  rows: number;
  columns: number;
  /** Stored values, row by row; 16-bit unless `bitsAllocated` is 8. */
  pixels: readonly number[];
  bitsAllocated?: 8 | 16;
  /** BitsStored as declared (default: BitsAllocated); HighBit follows it. */
  bitsStored?: number;
  signed?: boolean;
  photometric?: string;
  samplesPerPixel?: number;
  planarConfiguration?: 0 | 1;
  frames?: number;
  /** One window, or several as DS multi-values ("200\\900"). */
  window?: { center: number | string; width: number | string };
  rescale?: { slope: number; intercept: number };
}

/** A PS3.10 Explicit VR Little Endian Secondary Capture image with the given stored values. */
export function syntheticImage(image: SyntheticImage): Buffer {
  const bits = image.bitsAllocated ?? 16;
  const samples = image.samplesPerPixel ?? 1;
  const pixelBytes = Buffer.alloc(
    image.pixels.length * (bits / 8) + (((image.pixels.length * bits) / 8) % 2),
  );
  image.pixels.forEach((value, i) => {
    if (bits === 8) pixelBytes.writeUInt8(value & 0xff, i);
    else if (image.signed) pixelBytes.writeInt16LE(value, 2 * i);
    else pixelBytes.writeUInt16LE(value & 0xffff, 2 * i);
  });
  const sop = `${ROOT}.${image.rows}.${image.columns}.${image.pixels.length}`;
  const elements = [
    element(0x00080016, 'UI', str(SECONDARY_CAPTURE, '\0')),
    element(0x00080018, 'UI', str(sop, '\0')),
    element(0x00080060, 'CS', str('OT')),
    element(0x0020000d, 'UI', str(`${ROOT}.1`, '\0')),
    element(0x0020000e, 'UI', str(`${ROOT}.2`, '\0')),
    element(0x00280002, 'US', us(samples)),
    element(0x00280004, 'CS', str(image.photometric ?? 'MONOCHROME2')),
  ];
  if (samples > 1) elements.push(element(0x00280006, 'US', us(image.planarConfiguration ?? 0)));
  if (image.frames !== undefined)
    elements.push(element(0x00280008, 'IS', str(String(image.frames))));
  elements.push(
    element(0x00280010, 'US', us(image.rows)),
    element(0x00280011, 'US', us(image.columns)),
    element(0x00280100, 'US', us(bits)),
    element(0x00280101, 'US', us(image.bitsStored ?? bits)),
    element(0x00280102, 'US', us((image.bitsStored ?? bits) - 1)),
    element(0x00280103, 'US', us(image.signed ? 1 : 0)),
  );
  if (image.window) {
    elements.push(
      element(0x00281050, 'DS', str(String(image.window.center))),
      element(0x00281051, 'DS', str(String(image.window.width))),
    );
  }
  if (image.rescale) {
    elements.push(
      element(0x00281052, 'DS', str(String(image.rescale.intercept))),
      element(0x00281053, 'DS', str(String(image.rescale.slope))),
    );
  }
  elements.push(element(0x7fe00010, bits === 8 ? 'OB' : 'OW', pixelBytes));
  return Buffer.concat([
    encodeFileMeta({
      sopClassUid: SECONDARY_CAPTURE,
      sopInstanceUid: sop,
      transferSyntaxUid: EXPLICIT_LE,
    }),
    ...elements,
  ]);
}

/** Vertical bands of equal width, each filled with one value; 16 rows, `bandWidth` columns each. */
export function bands(values: readonly number[], bandWidth = 16): SyntheticImage {
  const rows = 16;
  const columns = values.length * bandWidth;
  const pixels: number[] = [];
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) pixels.push(values[Math.floor(x / bandWidth)] as number);
  }
  return { rows, columns, pixels };
}

/** A decoded JPEG: its raw samples and layout. */
export async function decodeJpeg(jpeg: Buffer): Promise<{
  format: string | undefined;
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}> {
  const { format, channels } = await sharp(jpeg).metadata();
  // sharp widens a one-channel JPEG to sRGB on raw output unless told to keep the one band.
  const image = channels === 1 ? sharp(jpeg).extractChannel(0) : sharp(jpeg);
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { format, data, width: info.width, height: info.height, channels: info.channels };
}

/** The grey level at the centre of each band of a decoded `bands` preview (first channel). */
export function bandLevels(
  decoded: { data: Buffer; width: number; height: number; channels: number },
  count: number,
): number[] {
  const y = Math.floor(decoded.height / 2);
  return Array.from({ length: count }, (_, band) => {
    const x = Math.floor(((band + 0.5) * decoded.width) / count);
    return decoded.data[(y * decoded.width + x) * decoded.channels] as number;
  });
}
