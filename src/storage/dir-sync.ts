import { close, fsync, open } from 'node:fs';
import { promisify } from 'node:util';

const fsyncAsync = promisify(fsync);
const openAsync = promisify(open);
const closeAsync = promisify(close);

/**
 * Group commit for directory fsyncs: instances renamed into the same directory (a series
 * arriving over several associations) while one fsync of it is running share the next one,
 * instead of queueing one fsync each. A caller is only released by an fsync that started after
 * its own rename.
 */
export class DirSyncGroups {
  readonly #groups = new Map<string, { running: Promise<void>; next: Promise<void> | undefined }>();

  sync(dir: string): Promise<void> {
    const group = this.#groups.get(dir);
    if (!group) {
      const running = this.#run(dir);
      this.#groups.set(dir, { running, next: undefined });
      return running;
    }
    group.next ??= group.running
      .catch(() => undefined)
      .then(() => {
        const current = this.#groups.get(dir)!;
        current.next = undefined;
        current.running = this.#run(dir);
        return current.running;
      });
    return group.next;
  }

  async #run(dir: string): Promise<void> {
    try {
      await syncDir(dir);
    } finally {
      const group = this.#groups.get(dir);
      if (group && !group.next) this.#groups.delete(dir);
    }
  }
}

/**
 * fsync a directory so the entries created or removed in it survive a crash. Opening and
 * closing it run in the thread pool too: inline, they can stall the event loop behind a
 * journal commit.
 */
export async function syncDir(dir: string): Promise<void> {
  const fd = await openAsync(dir, 'r');
  try {
    await fsyncAsync(fd);
  } finally {
    await closeAsync(fd);
  }
}
