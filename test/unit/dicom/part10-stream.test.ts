import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFileMeta } from '../../../src/dicom/file-meta.js';
import { splitPart10 } from '../../../src/dicom/part10-stream.js';
import { validSamples } from '../../helpers/samples.js';

async function* chunksOf(file: Buffer, size: number): AsyncIterable<Buffer> {
  for (let offset = 0; offset < file.length; offset += size)
    yield file.subarray(offset, offset + size);
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

describe('splitting a stored file into file meta and dataset', () => {
  const samples = validSamples().slice(0, 6);

  for (const size of [1, 7, 145, 4096, 1 << 20]) {
    it(`yields exactly the bytes after the file meta, read in chunks of ${size}`, async () => {
      for (const path of samples) {
        const file = readFileSync(path);
        const expected = parseFileMeta(file);
        const { meta, dataset } = await splitPart10(chunksOf(file, size));
        expect(meta.transferSyntaxUid, path).toBe(expected.transferSyntaxUid);
        expect(meta.sopInstanceUid, path).toBe(expected.sopInstanceUid);
        expect((await collect(dataset)).equals(file.subarray(expected.datasetOffset)), path).toBe(
          true,
        );
      }
    });
  }

  it('refuses a file without file meta or cut inside it', async () => {
    const file = readFileSync(samples[0]!);
    await expect(splitPart10(chunksOf(Buffer.alloc(200), 64))).rejects.toThrow(
      /no file meta group length/,
    );
    await expect(splitPart10(chunksOf(file.subarray(0, 150), 64))).rejects.toThrow(
      /ends inside its file meta/,
    );
  });
});
