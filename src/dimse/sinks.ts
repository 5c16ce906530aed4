import type { DatasetSink } from './association.js';

/** A sink that throws the dataset away (for requests answered with a failure). */
export function discardingSink(): DatasetSink {
  return {
    write: () => true,
    onDrain: () => undefined,
    end: () => undefined,
    fail: () => undefined,
  };
}

/** A sink that gathers a small dataset, up to `maxBytes`. */
export function collectingSink(
  maxBytes: number,
  done: (dataset: Buffer) => void,
  tooLarge: (error: Error) => void,
): DatasetSink {
  const chunks: Buffer[] = [];
  let size = 0;
  let failed = false;
  return {
    write(chunk) {
      size += chunk.length;
      if (size > maxBytes && !failed) {
        failed = true;
        tooLarge(new Error(`response dataset is larger than ${maxBytes} bytes`));
      }
      if (!failed) chunks.push(chunk);
      return true;
    },
    onDrain: () => undefined,
    end() {
      if (!failed) done(Buffer.concat(chunks));
    },
    fail: () => undefined,
  };
}
