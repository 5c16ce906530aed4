import { close, fsync, open } from 'node:fs';
import { promisify } from 'node:util';

const fsyncAsync = promisify(fsync);
const openAsync = promisify(open);
const closeAsync = promisify(close);

const MAX_CACHED_DIRS = 64;

/**
 * Group commit for directory fsyncs: instances renamed into the same directory (a series
 * arriving over several associations) while one fsync of it is running share the next one,
 * instead of queueing one fsync each. A caller is only released by an fsync that started after
 * its own rename.
 */
export class DirSyncGroups {
  readonly #groups = new Map<string, { running: Promise<void>; next: Promise<void> | undefined }>();
  /**
   * Open descriptors of recently synced directories: a series receives many instances, and
   * re-opening its directory for each fsync costs two more thread-pool round trips.
   */
  readonly #fds = new Map<string, number>();

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

  /** Drop the cached descriptor of `dir` (it was removed and created again). */
  forget(dir: string): void {
    const fd = this.#fds.get(dir);
    if (fd === undefined) return;
    this.#fds.delete(dir);
    close(fd, () => undefined);
  }

  /** Close every cached descriptor. */
  close(): void {
    for (const dir of [...this.#fds.keys()]) this.forget(dir);
  }

  async #run(dir: string): Promise<void> {
    try {
      await fsyncAsync(await this.#fd(dir));
    } catch (error) {
      this.forget(dir);
      throw error;
    } finally {
      const group = this.#groups.get(dir);
      if (group && !group.next) this.#groups.delete(dir);
    }
  }

  async #fd(dir: string): Promise<number> {
    const cached = this.#fds.get(dir);
    if (cached !== undefined) return cached;
    const fd = await openAsync(dir, 'r');
    const raced = this.#fds.get(dir);
    if (raced !== undefined) {
      close(fd, () => undefined);
      return raced;
    }
    this.#fds.set(dir, fd);
    if (this.#fds.size > MAX_CACHED_DIRS) {
      // The oldest directory nobody is syncing right now: a descriptor an fsync is about to
      // use must not be closed (its number could be reused by then).
      for (const candidate of this.#fds.keys()) {
        if (candidate !== dir && !this.#groups.has(candidate)) {
          this.forget(candidate);
          break;
        }
      }
    }
    return fd;
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
