import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SPOOL_BATCH_CHUNKS, SpoolWriter, unwritten } from '../../../src/ingest/spool-writer.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'spool-writer-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Distinct bytes, so a misplaced or repeated piece shows. */
function bytes(length: number, seed: number): Buffer {
  const buffer = Buffer.alloc(length);
  for (let i = 0; i < length; i++) buffer[i] = (i * 31 + seed * 7) & 0xff;
  return buffer;
}

/** Run `test` with a new spool file open for writing; closes it afterwards. */
function withSpool(test: (fd: number, file: string) => void): string {
  const file = path.join(dir, 'spool');
  const fd = openSync(file, 'w');
  try {
    test(fd, file);
  } finally {
    closeSync(fd);
  }
  return file;
}

describe('SpoolWriter', () => {
  it('writes nothing until a batch is full, then the whole batch, then the rest on flush', () => {
    withSpool((fd, file) => {
      const writer = new SpoolWriter(fd, 1000);
      const chunks = [300, 450, 1, 249, 700, 333].map((length, i) => bytes(length, i));
      writer.write(chunks[0]!);
      writer.write(chunks[1]!);
      writer.write(chunks[2]!);
      expect(statSync(file).size).toBe(0);
      writer.write(chunks[3]!); // 1000 bytes gathered: written
      expect(statSync(file).size).toBe(1000);
      writer.write(chunks[4]!);
      writer.write(chunks[5]!); // 1033 more: written
      expect(statSync(file).size).toBe(2033);
      writer.flush();
      expect(readFileSync(file).equals(Buffer.concat(chunks))).toBe(true);
    });
  });

  it('writes an instance of many small irregular chunks byte for byte', () => {
    const chunks: Buffer[] = [];
    const file = withSpool((fd) => {
      const writer = new SpoolWriter(fd);
      for (let i = 0, total = 0; total < 3 * 1024 * 1024; i++) {
        const chunk = bytes(1 + ((i * 7919) % 65536), i);
        chunks.push(chunk);
        writer.write(chunk);
        total += chunk.length;
      }
      writer.flush();
    });
    expect(readFileSync(file).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('writes once as many chunks are gathered as a batch holds, however small they are', () => {
    withSpool((fd, file) => {
      const writer = new SpoolWriter(fd);
      const chunks = Array.from({ length: SPOOL_BATCH_CHUNKS }, (_, i) => bytes(1, i));
      for (const chunk of chunks.slice(0, -1)) writer.write(chunk);
      expect(statSync(file).size).toBe(0);
      writer.write(chunks.at(-1)!);
      expect(readFileSync(file).equals(Buffer.concat(chunks))).toBe(true);
    });
  });

  it('forgets what is discarded', () => {
    withSpool((fd, file) => {
      const writer = new SpoolWriter(fd, 1000);
      writer.write(bytes(500, 1));
      writer.discard();
      writer.write(bytes(10, 2));
      writer.flush();
      expect(readFileSync(file).equals(bytes(10, 2))).toBe(true);
    });
  });

  it('throws the write error of a file it cannot write', () => {
    const file = path.join(dir, 'spool');
    closeSync(openSync(file, 'w'));
    const readOnly = openSync(file, 'r');
    try {
      const writer = new SpoolWriter(readOnly, 100);
      writer.write(bytes(50, 1));
      expect(() => writer.write(bytes(50, 2))).toThrow(/EBADF/);
      // The failed batch is dropped, not written again by the next flush.
      expect(() => writer.flush()).not.toThrow();
    } finally {
      closeSync(readOnly);
    }
  });
});

describe('unwritten', () => {
  const buffers = [bytes(4, 1), bytes(3, 2), bytes(5, 3)];
  const all = Buffer.concat(buffers);

  it.each([0, 1, 3, 4, 5, 7, 8, 11])('leaves what follows the first %i bytes', (written) => {
    expect(Buffer.concat(unwritten(buffers, written)).equals(all.subarray(written))).toBe(true);
  });
});
