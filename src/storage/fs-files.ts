/**
 * File-system queries of the filesystem store, tolerant of files that vanish meanwhile.
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ObjectInfo } from './object-store.js';

/** Whether `err` is a system error with this code (`ENOENT`, ...). */
export function isCode(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

/** Whether `file` exists. */
export async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if (isCode(err, 'ENOENT')) return false;
    throw err;
  }
}

export async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch (err) {
    if (isCode(err, 'ENOENT')) return false;
    throw err;
  }
}

/** Every regular file under `dir` (whose key is `dirKey`), depth first; nothing if absent. */
export async function* walk(dir: string, dirKey: string): AsyncGenerator<ObjectInfo> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    // Objects can vanish while we walk (deletes); a missing directory is an empty listing.
    if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return;
    throw err;
  }
  for (const entry of entries) {
    const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      // The store's own working directories (temp files, the spool areas) hold no objects.
      if (dirKey === '' && entry.name.startsWith('.')) continue;
      yield* walk(full, key);
    } else if (entry.isFile()) {
      try {
        yield { key, sizeBytes: (await stat(full)).size };
      } catch (err) {
        if (!isCode(err, 'ENOENT')) throw err;
      }
    }
  }
}
