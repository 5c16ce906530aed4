import { readdirSync, readlinkSync } from 'node:fs';

/** The file `fd` is open on in this process, or undefined when it is closed. */
export function fileOpenAt(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/** The descriptors this process has open on `path`. */
export function descriptorsOn(path: string): number[] {
  return readdirSync('/proc/self/fd')
    .map(Number)
    .filter((fd) => fileOpenAt(fd) === path);
}
