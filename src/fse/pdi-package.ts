/**
 * The PDI_ZIP format of on-demand retrieval: an IHE PDI file-set (DICOMDIR, the DICOM files
 * under ISO 9660 names, INDEX.HTM and README.TXT, and the files of a viewer when one is
 * configured) in a ZIP, streamed. The stored PS3.10 files are copied as they are, opened as the
 * ZIP writer reaches them (a few ahead) and copied one at a time, so memory stays bounded by a
 * few buffers whatever the study size; only the DICOMDIR (about 300 bytes per instance) and the
 * two descriptions are held.
 */
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ZipFile } from 'yazl';
import {
  buildDicomdir,
  type DicomdirInstance,
  type DicomdirPatient,
  type DicomdirSeries,
  type DicomdirStudy,
} from '../dicom/dicomdir.js';
import { newUid } from '../dicom/uid-generator.js';
import { convertedFile, pdiTransferSyntax, type PdiConversion } from './pdi-conversion.js';
import { indexHtml } from './pdi-index-html.js';
import { DEFAULT_PDI_SETTINGS, manifestOf, type PdiSettings } from './pdi-manifest.js';
import { readmeBytes } from './pdi-readme.js';

export interface PdiInstance extends Omit<DicomdirInstance, 'fileId'> {
  /** Object-store key of the stored PS3.10 file. */
  storageKey: string;
}

export interface PdiSeries extends Omit<DicomdirSeries, 'instances'> {
  instances: PdiInstance[];
}

export interface PdiStudy extends Omit<DicomdirStudy, 'series'> {
  series: PdiSeries[];
}

export interface PdiPatient extends Omit<DicomdirPatient, 'studies'> {
  studies: PdiStudy[];
}

export interface PdiInput {
  patients: PdiPatient[];
  /** Defaults to a fresh UID. */
  dicomdirSopInstanceUid?: string;
  /** File-set ID (0004,1130); defaults to `FSEBRIDGE`. */
  fileSetId?: string;
  /** Modification time of the ZIP entries; defaults to now. */
  mtime?: Date;
  /**
   * Deflate the DICOM files (default true). Uncompressed pixel data often halves; already
   * compressed pixel data gains little, and `false` saves the CPU.
   */
  compressInstances?: boolean;
  /** Instances opened ahead of the one being copied (default 4; 0 opens one at a time). */
  readAhead?: number;
  /**
   * Who made the package and whom to contact, the time zone of its date, and the viewer to
   * ship (`onDemand.pdi`); what is left out is not configured, and no viewer is shipped.
   */
  settings?: Partial<PdiSettings>;
}

export interface PdiSummary {
  /** Instances written, each once. */
  instances: number;
  /** Instances left out because their SOP Instance UID was already in the package. */
  duplicatesSkipped: number;
  /** Bytes of ZIP written to the output. */
  zipBytes: number;
}

/** The package could not be written; `storageKey` names the instance that failed, if one did. */
export class PdiPackageError extends Error {
  override readonly name = 'PdiPackageError';
  constructor(
    message: string,
    readonly storageKey: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function name(prefix: 'S' | 'I', n: number): string {
  if (n > 9_999_999) throw new PdiPackageError(`more than 9999999 ${prefix} entries`, undefined);
  return `${prefix}${String(n).padStart(7, '0')}`;
}

interface Entry {
  path: string;
  storageKey: string;
  /** The syntax the file is converted into (`onDemand.pdi.transferSyntax`), if any. */
  convertTo?: string;
}

/**
 * Assign File IDs (`DICOM/Snnnnnnn/Innnnnnn`, series numbered across the package, instances
 * within their series) and drop repeated SOP Instance UIDs, keeping the first copy.
 */
function layout(
  input: PdiInput,
  conversion: PdiConversion,
): {
  patients: DicomdirPatient[];
  entries: Entry[];
  skipped: number;
} {
  const seen = new Set<string>();
  const entries: Entry[] = [];
  let seriesCount = 0;
  let skipped = 0;
  const patients = input.patients.map((patient) => ({
    ...patient,
    studies: patient.studies
      .map((study) => ({
        ...study,
        series: study.series
          .map((series) => {
            const folder = name('S', seriesCount + 1);
            const instances: DicomdirInstance[] = [];
            for (const { storageKey, ...instance } of series.instances) {
              if (seen.has(instance.sopInstanceUid)) {
                skipped++;
                continue;
              }
              seen.add(instance.sopInstanceUid);
              const file = name('I', instances.length + 1);
              const transferSyntaxUid = pdiTransferSyntax(instance.transferSyntaxUid, conversion);
              instances.push({ ...instance, transferSyntaxUid, fileId: ['DICOM', folder, file] });
              entries.push({
                path: `DICOM/${folder}/${file}`,
                storageKey,
                ...(transferSyntaxUid === instance.transferSyntaxUid
                  ? {}
                  : { convertTo: transferSyntaxUid }),
              });
            }
            if (instances.length > 0) seriesCount++;
            return { ...series, instances };
          })
          .filter((series) => series.instances.length > 0),
      }))
      .filter((study) => study.series.length > 0),
  }));
  return { patients: patients.filter((p) => p.studies.length > 0), entries, skipped };
}

/** A file of the viewer directory: its path on disk and its name in the ZIP. */
interface ViewerFile {
  path: string;
  name: string;
}

/** The regular files under `dir`, named `VIEWER/<path below dir>`, in name order. */
async function viewerFiles(dir: string): Promise<ViewerFile[]> {
  if (dir === '') return [];
  const root = resolve(dir);
  let entries;
  try {
    entries = await readdir(root, { recursive: true, withFileTypes: true });
  } catch (cause) {
    throw new PdiPackageError(`listing the viewer directory ${root} failed`, undefined, { cause });
  }
  const files = entries
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const path = join(entry.parentPath, entry.name);
      return { path, name: `VIEWER/${relative(root, path).split(sep).join('/')}` };
    });
  for (const { name } of files)
    if (name.includes('\\'))
      throw new PdiPackageError(`the viewer file ${name} has a backslash in its name`, undefined);
  return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Stream the PDI ZIP of `input` into `output`: `DICOMDIR` first, then each instance as
 * `DICOM/Snnnnnnn/Innnnnnn` (the stored file byte for byte), then the viewer's files under
 * `VIEWER/` when one is configured, then `INDEX.HTM` and `README.TXT`. Instances are
 * opened with `openInstance` as the ZIP writer reaches them, `readAhead` of them ahead, and read
 * one at a time to their end; back-pressure from `output` slows the reads. Resolves once
 * `output` has finished; rejects with `PdiPackageError` (naming the storage key when an
 * instance failed) and destroys `output` on any failure, so a half-written
 * ZIP is never mistaken for a whole one (a viewer directory that cannot be listed is such a
 * failure, found before anything is written). Throws `DicomdirInputError` before writing
 * anything when the input cannot make a DICOMDIR.
 */
export async function writePdiZip(
  input: PdiInput,
  output: Writable,
  openInstance: (storageKey: string) => Promise<Readable>,
): Promise<PdiSummary> {
  const settings = { ...DEFAULT_PDI_SETTINGS, ...input.settings };
  const { patients, entries, skipped } = layout(input, settings);
  const dicomdir = buildDicomdir({
    sopInstanceUid: input.dicomdirSopInstanceUid ?? newUid(),
    fileSetId: input.fileSetId ?? 'FSEBRIDGE',
    patients,
  });
  const mtime = input.mtime ?? new Date();
  let viewer: ViewerFile[];
  try {
    viewer = await viewerFiles(settings.viewerDir);
  } catch (error) {
    output.destroy();
    throw error;
  }
  const manifest = manifestOf(patients, {
    contact: {
      institutionName: settings.institutionName,
      department: settings.department,
      phone: settings.phone,
      email: settings.email,
      address: settings.address,
    },
    created: mtime,
    timeZone: settings.timeZone,
    viewer: viewer.length > 0,
  });
  const compress = input.compressInstances ?? true;
  const readAhead = input.readAhead ?? 4;
  const zip = new ZipFile();
  let failure: PdiPackageError | undefined;
  // The first failure ends the package; later ones (other reads cut short) have no listener.
  const fail = (error: PdiPackageError): void => {
    if (failure) return;
    failure = error;
    zip.emit('error', error);
  };

  // Opening a file costs a round trip (a thread-pool call, an S3 GET): the next few are opened
  // while one is copied. An opened stream buffers at most its high-water mark until read.
  const opened = new Map<number, Promise<Readable | undefined>>();
  const open = (i: number): Promise<Readable | undefined> | undefined => {
    const entry = entries[i];
    if (!entry || opened.has(i)) return opened.get(i);
    const { storageKey, convertTo } = entry;
    const stored = openInstance(storageKey);
    const stream = (
      convertTo ? stored.then((file) => convertedFile(file, convertTo)) : stored
    ).then(
      (readable) => {
        readable.once('error', (cause: unknown) =>
          fail(new PdiPackageError(`reading ${storageKey} failed`, storageKey, { cause })),
        );
        return readable;
      },
      (cause: unknown) => {
        fail(new PdiPackageError(`opening ${storageKey} failed`, storageKey, { cause }));
        return undefined;
      },
    );
    opened.set(i, stream);
    return stream;
  };
  zip.addBuffer(dicomdir, 'DICOMDIR', { mtime });
  entries.forEach(({ path }, i) => {
    zip.addReadStreamLazy(path, { mtime, compress }, (callback) => {
      const stream = open(i)!;
      opened.delete(i);
      for (let ahead = 1; ahead <= readAhead; ahead++) open(i + ahead);
      void stream.then((readable) => {
        if (readable) callback(null, readable);
      });
    });
  });
  for (const file of viewer)
    zip.addReadStreamLazy(file.name, { mtime }, (callback) => {
      const stream = createReadStream(file.path);
      stream.once('error', (cause: unknown) =>
        fail(
          new PdiPackageError(`reading the viewer file ${file.path} failed`, undefined, { cause }),
        ),
      );
      callback(null, stream);
    });
  zip.addBuffer(Buffer.from(indexHtml(manifest), 'utf8'), 'INDEX.HTM', { mtime });
  zip.addBuffer(readmeBytes(manifest), 'README.TXT', { mtime });
  zip.end();

  let zipBytes = 0;
  const source = zip.outputStream as Readable;
  source.on('data', (chunk: Buffer) => (zipBytes += chunk.length));
  // yazl reports failures on the ZipFile, not on its output stream: carry them over.
  const errored = once(zip, 'error').then(([error]: unknown[]) => {
    source.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  try {
    await pipeline(source, output);
  } catch (cause) {
    if (!output.destroyed) output.destroy();
    for (const stream of opened.values()) void stream.then((readable) => readable?.destroy());
    if (failure) throw failure;
    throw new PdiPackageError('writing the PDI ZIP failed', undefined, { cause });
  }
  void errored.catch(() => undefined);
  if (failure) throw failure;
  return { instances: entries.length, duplicatesSkipped: skipped, zipBytes };
}
