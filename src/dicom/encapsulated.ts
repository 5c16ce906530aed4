/**
 * The frames of encapsulated pixel data (PS3.5 A.4): which fragments make up each frame.
 */

/** The fragments cannot be split into the declared frames. */
export class FramesError extends Error {
  override readonly name = 'FramesError';
}

/** JPEG, JPEG-LS start of image; JPEG 2000 codestream start (SOC) followed by SIZ. */
function startsFrame(fragment: Buffer): boolean {
  if (fragment.length < 4) return false;
  if (fragment[0] === 0xff && fragment[1] === 0xd8 && fragment[2] === 0xff) return true;
  return (
    fragment[0] === 0xff && fragment[1] === 0x4f && fragment[2] === 0xff && fragment[3] === 0x51
  );
}

/**
 * The bytes of each of `frames` frames. `fragments` holds the items of the pixel data, the
 * Basic Offset Table first. A single frame is all the fragments; as many fragments as frames are
 * one each; otherwise the Basic Offset Table says where frames start or, when it is empty, the
 * fragments that open a JPEG or JPEG 2000 codestream do (RLE has one fragment per frame).
 */
export function framesOf(fragments: readonly Buffer[], frames: number): Buffer[] {
  const [offsetTable, ...data] = fragments;
  if (offsetTable === undefined || data.length === 0)
    throw new FramesError('the encapsulated pixel data holds no fragment');
  if (frames === 1) return [data.length === 1 ? data[0]! : Buffer.concat(data)];
  if (data.length === frames) return data;
  let starts: number[];
  if (offsetTable.length > 0) {
    if (offsetTable.length !== 4 * frames)
      throw new FramesError(
        `the Basic Offset Table has ${offsetTable.length / 4} entries for ${frames} frames`,
      );
    // Offsets count from the first fragment's item tag: 8 bytes of item header per fragment.
    const positions = new Map<number, number>();
    let position = 0;
    data.forEach((fragment, i) => {
      positions.set(position, i);
      position += 8 + fragment.length;
    });
    starts = Array.from({ length: frames }, (_, i) => {
      const start = positions.get(offsetTable.readUInt32LE(4 * i));
      if (start === undefined)
        throw new FramesError(`offset ${i + 1} of the Basic Offset Table is not at a fragment`);
      return start;
    });
  } else {
    starts = data.flatMap((fragment, i) => (startsFrame(fragment) ? [i] : []));
  }
  if (
    starts.length !== frames ||
    starts[0] !== 0 ||
    starts.some((s, i) => i > 0 && s <= starts[i - 1]!)
  )
    throw new FramesError(`${data.length} fragments cannot be split into ${frames} frames`);
  return starts.map((start, i) => {
    const parts = data.slice(start, starts[i + 1] ?? data.length);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  });
}
