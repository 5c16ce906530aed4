import { closeSync, constants, openSync, readFileSync, rmSync, write } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { syncDir } from '../storage/dir-sync.js';

const writeAsync = promisify(write);
/** The journal of notes, in the spool directory. */
export const INTENT_JOURNAL = 'intents.journal';
/** Notes written one file each by earlier versions; still read after an upgrade. */
const LEGACY_SUFFIX = '.intent';
/** One note per slot: an object key (at most 3 UIDs of 64 characters and separators) padded with NUL. */
const SLOT_BYTES = 256;

/** A recorded note; pass it back to `clear`. */
export interface Intent {
  slot: number;
}

/**
 * Durable notes of "this key is about to be stored", kept in the spool directory. An instance
 * is written to storage and to the index at the same time; if the process dies in between, or
 * one of the two fails, the note says which key to reconcile, so storage and index never
 * disagree for long and no full scan of storage is needed.
 *
 * The notes live in one journal of fixed-size slots, opened with O_DSYNC: recording a note is
 * one small write that returns once it is on disk, with no file to create, no directory to
 * fsync and nothing to unlink afterwards. Clearing a note frees its slot without writing: the
 * next note in that slot overwrites it, and a note left over by a crash only makes the next
 * start check a key whose storage and index already agree (reconciling is idempotent). So the
 * journal holds at most as many stale notes as instances were ever in flight at once.
 */
export class IntentLog {
  readonly #dir: string;
  /** Opened with O_DSYNC: a write returns once it is durable. */
  #fd = -1;
  #free: number[] = [];
  #slots = 0;
  /** Writes still using the descriptors: they are closed only once none is left. */
  #writing = 0;
  #closing = false;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Create an empty journal and make its entry durable; call after `pending()` has been settled. */
  async start(): Promise<void> {
    const path = join(this.#dir, INTENT_JOURNAL);
    const { O_WRONLY, O_CREAT, O_TRUNC, O_DSYNC } = constants;
    this.#fd = openSync(path, O_WRONLY | O_CREAT | O_TRUNC | O_DSYNC);
    await syncDir(this.#dir);
  }

  /** Durably record that `key` is about to be written. */
  async record(key: string): Promise<Intent> {
    if (this.#fd === -1 || this.#closing) throw new Error('the intent journal is not open');
    const note = Buffer.alloc(SLOT_BYTES);
    if (note.write(key, 'utf8') >= SLOT_BYTES)
      throw new Error(`object key too long for a note: ${key}`);
    const slot = this.#free.pop() ?? this.#slots++;
    this.#writing++;
    try {
      await writeAsync(this.#fd, note, 0, SLOT_BYTES, slot * SLOT_BYTES);
    } catch (error) {
      this.#free.push(slot);
      throw error;
    } finally {
      this.#written();
    }
    return { slot };
  }

  /** The outcome is settled and storage and index agree: the note is no longer needed. */
  clear(intent: Intent): void {
    this.#free.push(intent.slot);
  }

  /** Keys noted by a previous run and not cleared (the journal is removed with the spool). */
  async pending(): Promise<string[]> {
    const keys: string[] = [];
    for (const name of await readdir(this.#dir)) {
      const path = join(this.#dir, name);
      if (name === INTENT_JOURNAL) keys.push(...notesIn(readFileSync(path)));
      else if (name.endsWith(LEGACY_SUFFIX)) keys.push(readFileSync(path, 'utf8'));
    }
    return keys.filter((key) => key !== '');
  }

  /**
   * Close the journal once the writes in progress are done (a descriptor closed under a
   * pending write could be reused by another file); notes not cleared stay for the next start.
   */
  close(): void {
    this.#closing = true;
    if (this.#writing === 0) this.#closeFds();
  }

  #written(): void {
    this.#writing--;
    if (this.#closing && this.#writing === 0) this.#closeFds();
  }

  #closeFds(): void {
    if (this.#fd === -1) return;
    closeSync(this.#fd);
    this.#fd = -1;
    // Every note cleared: a clean stop leaves nothing in the spool.
    if (this.#free.length === this.#slots) rmSync(join(this.#dir, INTENT_JOURNAL), { force: true });
  }
}

function notesIn(journal: Buffer): string[] {
  const keys: string[] = [];
  for (let offset = 0; offset + SLOT_BYTES <= journal.length; offset += SLOT_BYTES) {
    const slot = journal.subarray(offset, offset + SLOT_BYTES);
    const end = slot.indexOf(0);
    const key = slot.toString('utf8', 0, end === -1 ? SLOT_BYTES : end);
    if (key !== '') keys.push(key);
  }
  return keys;
}
