import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertDataset } from '../../../src/dicom/convert.js';
import { parseFileMeta } from '../../../src/dicom/file-meta.js';
import { TransferSyntax } from '../../../src/dicom/transfer-syntax.js';
import {
  TranscodeError,
  Transcoder,
  type TranscodeProgress,
} from '../../../src/dicom/transcoder.js';
import { SAMPLES_DIR } from '../../helpers/samples.js';

const EXPLICIT = TransferSyntax.ExplicitVrLittleEndian;
const transcoder = new Transcoder(1);

afterAll(() => transcoder.close());

function sample(name: string): { dataset: Buffer; syntax: string } {
  const file = readFileSync(join(SAMPLES_DIR, name));
  const meta = parseFileMeta(file);
  return { dataset: file.subarray(meta.datasetOffset), syntax: meta.transferSyntaxUid };
}

describe('the transcoder', () => {
  it('converts on its thread what convertDataset converts, reporting each frame', async () => {
    const progress: TranscodeProgress[] = [];
    const listener = (p: TranscodeProgress): number => progress.push(p);
    transcoder.on('progress', listener);
    try {
      for (const name of ['single/SC_rgb_rle_2frame.dcm', 'single/MR_small_implicit.dcm']) {
        const { dataset, syntax } = sample(name);
        const expected = await convertDataset(dataset, syntax, EXPLICIT);
        expect((await transcoder.convert(dataset, syntax, EXPLICIT)).equals(expected), name).toBe(
          true,
        );
      }
    } finally {
      transcoder.off('progress', listener);
    }
    expect(progress.map(({ decoded, frames }) => [decoded, frames])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(transcoder.running).toBe(0);
  });

  it('rejects what cannot be converted with the reason, and goes on converting', async () => {
    const { dataset, syntax } = sample('single/MR_small_RLE.dcm');
    const damaged = Buffer.from(dataset);
    damaged.fill(0, damaged.length - 4000);
    const failed = transcoder.convert(damaged, syntax, EXPLICIT);
    await expect(failed).rejects.toThrow(TranscodeError);
    await expect(failed).rejects.toThrow(/cannot read the dataset|frame 1 of 1/);
    await expect(transcoder.convert(dataset, syntax, TransferSyntax.JpegBaseline)).rejects.toThrow(
      /cannot decompress into/,
    );
    const converted = await transcoder.convert(dataset, syntax, EXPLICIT);
    expect(converted.length).toBeGreaterThan(8192);
  });

  it('gives a conversion up when its signal aborts, before the next frame', async () => {
    const { dataset, syntax } = sample('single/SC_rgb_rle_2frame.dcm');
    const controller = new AbortController();
    const frames: number[] = [];
    const listener = ({ decoded }: TranscodeProgress): void => {
      frames.push(decoded);
      controller.abort();
    };
    transcoder.on('progress', listener);
    try {
      await expect(
        transcoder.convert(dataset, syntax, EXPLICIT, { signal: controller.signal }),
      ).rejects.toThrow(/cancelled/);
    } finally {
      transcoder.off('progress', listener);
    }
    expect(frames).toEqual([1]);
    await expect(
      transcoder.convert(dataset, syntax, EXPLICIT, { signal: AbortSignal.abort() }),
    ).rejects.toThrow(/cancelled/);
    // The thread is free again.
    expect((await transcoder.convert(dataset, syntax, EXPLICIT)).length).toBeGreaterThan(60_000);
  });

  it('waits on close for conversions started while it waits', async () => {
    const { dataset, syntax } = sample('single/SC_rgb_rle_2frame.dcm');
    const first = transcoder.convert(dataset, syntax, EXPLICIT);
    const closed = transcoder.close();
    const second = transcoder.convert(dataset, syntax, EXPLICIT);
    await closed;
    const [a, b] = await Promise.all([first, second]);
    expect(a.equals(b)).toBe(true);
    expect(transcoder.running).toBe(0);
  });

  it('stops its threads on close and starts them again for the next conversion', async () => {
    const { dataset, syntax } = sample('single/MR_small_bigendian.dcm');
    await transcoder.close();
    const converted = await transcoder.convert(dataset, syntax, EXPLICIT);
    expect(converted.equals(await convertDataset(dataset, syntax, EXPLICIT))).toBe(true);
  });
});
