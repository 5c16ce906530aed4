import { parseFileMeta, type ParsedFileMeta } from './file-meta.js';

/** Preamble, `DICM`, and the (0002,0000) group length element. */
const GROUP_LENGTH_END = 132 + 12;
/** A file meta group larger than this is not one the bridge wrote. */
const MAX_META_BYTES = 64 * 1024;

/**
 * Split a stored PS3.10 file, read as a stream, into its file meta and the dataset bytes that
 * follow, without holding the file: the dataset is what goes on the wire when the instance is
 * sent on, byte for byte.
 */
export async function splitPart10(
  chunks: AsyncIterable<Buffer>,
): Promise<{ meta: ParsedFileMeta; dataset: AsyncIterable<Buffer> }> {
  const iterator = chunks[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let metaEnd = -1;
  while (metaEnd < 0 || head.length < metaEnd) {
    const next = await iterator.next();
    if (next.done) throw new Error('stored file ends inside its file meta information');
    head = Buffer.concat([head, next.value]);
    if (metaEnd < 0 && head.length >= GROUP_LENGTH_END) {
      if (head.toString('latin1', 128, 132) !== 'DICM' || head.readUInt32LE(132) !== 0x00000002)
        throw new Error('stored file has no file meta group length');
      const groupLength = head.readUInt32LE(140);
      if (groupLength > MAX_META_BYTES) throw new Error('stored file meta is implausibly large');
      metaEnd = GROUP_LENGTH_END + groupLength;
    }
  }
  const meta = parseFileMeta(head.subarray(0, metaEnd));
  const first = head.subarray(meta.datasetOffset);
  async function* dataset(): AsyncIterable<Buffer> {
    if (first.length > 0) yield first;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { meta, dataset: dataset() };
}

/** Every chunk of a stream, in one Buffer (a dataset to convert is needed whole). */
export async function readWhole(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}
