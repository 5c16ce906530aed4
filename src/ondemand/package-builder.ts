/**
 * Builds the packages of on-demand retrieval from what the index holds: the PDI ZIP of a
 * report's studies and the ZIP of their series previews. Each is written to a spool (memory
 * stays bounded whatever the study size) and then made durable in object storage. A build
 * given a signal stops when it aborts: its reads are dropped, its spool discarded, and a
 * package it had already stored removed again.
 */
import { randomUUID } from 'node:crypto';
import { addAbortSignal, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { ZipFile } from 'yazl';
import type { PdiSettings } from '../fse/pdi-manifest.js';
import { writePdiZip, type PdiPatient, type PdiStudy } from '../fse/pdi-package.js';
import type { InstanceRecord, SeriesRecord, StudyRecord } from '../index/records.js';
import { middleInstance } from '../preview/series-previews.js';
import { unlessAborted } from '../queue/abortable.js';
import type { ObjectStore, SpoolArea } from '../storage/object-store.js';
import { spoolWritable } from '../storage/spool-stream.js';
import { recordKeysOf, recordTypeOf } from '../dicom/dicomdir-keys.js';

/** What the builder reads of the index. */
export interface PackageIndex {
  getStudy(studyUid: string): StudyRecord | undefined;
  listSeries(studyUid: string): SeriesRecord[];
  listInstances(seriesUid: string): InstanceRecord[];
}

export interface BuilderDeps {
  index: PackageIndex;
  store: ObjectStore;
  /** Where packages are written before they are stored (the store's spool area `packages`). */
  spool: SpoolArea;
  log: Logger;
}

export interface BuilderOptions {
  /** Deflate the DICOM files in PDI ZIPs. */
  compressInstances: boolean;
  previewMaxSize: number;
  previewQuality: number;
  /** What PDI packages say of their maker, and the viewer they ship. */
  pdi: PdiSettings;
}

/** A package made durable in object storage. */
export interface BuiltPackage {
  storageKey: string;
  bytes: number;
  mimeType: string;
}

/** The report's studies are not (or no longer) in the index. */
export class StudiesMissingError extends Error {
  override readonly name = 'StudiesMissingError';
}

export class PackageBuilder {
  #deps: BuilderDeps;
  #options: BuilderOptions;

  constructor(deps: BuilderDeps, options: BuilderOptions) {
    this.#deps = deps;
    this.#options = options;
  }

  /** The IHE PDI ZIP of `studyUids`, stored under `packages/`. */
  async pdi(studyUids: readonly string[], signal?: AbortSignal): Promise<BuiltPackage> {
    const patients = await this.#withRecords(this.#patients(studyUids), signal);
    return this.#store(
      'zip',
      'application/zip',
      async (output) => {
        await writePdiZip(
          {
            patients,
            compressInstances: this.#options.compressInstances,
            settings: this.#options.pdi,
          },
          output,
          (key) => this.#read(key, signal),
        );
      },
      signal,
    );
  }

  /**
   * A ZIP of JPEG previews, one per series (its middle image), named by study, position of the
   * series in the study and modality. Series that cannot be previewed (no pixel data, an unsupported syntax) are
   * listed in LEGGIMI.TXT instead.
   */
  async previews(studyUids: readonly string[], signal?: AbortSignal): Promise<BuiltPackage> {
    const { index, log } = this.#deps;
    // sharp and the WASM decoders cost about 60 MB: loaded once previews are first asked for.
    const { PreviewError, renderPreview } = await import('../preview/render.js');
    for (const studyUid of studyUids)
      if (!index.getStudy(studyUid))
        throw new StudiesMissingError(`study ${studyUid} is not in the index`);
    const write = async (output: Writable): Promise<void> => {
      const zip = new ZipFile();
      const skipped: string[] = [];
      const done = pipeline(zip.outputStream, output);
      // Awaited at the end; an output that fails (or is aborted) before then is not unhandled.
      done.catch(() => undefined);
      for (const [s, studyUid] of studyUids.entries()) {
        for (const [n, series] of index.listSeries(studyUid).entries()) {
          // Position in the study, not SeriesNumber: several series may share a number.
          const number = String(n + 1).padStart(3, '0');
          const modality = (series.modality ?? 'OT').replace(/[^A-Za-z0-9]/g, '_');
          const name = `STUDIO_${s + 1}/SERIE_${number}_${modality}.jpg`;
          const chosen = middleInstance(index.listInstances(series.seriesUid));
          if (!chosen) continue;
          signal?.throwIfAborted();
          try {
            const preview = await renderPreview(await this.#readBuffer(chosen.storageKey, signal), {
              maxSize: this.#options.previewMaxSize,
              quality: this.#options.previewQuality,
            });
            zip.addBuffer(preview.jpeg, name);
          } catch (error) {
            if (!(error instanceof PreviewError)) throw error;
            skipped.push(`${name}: ${error.reason}`);
            log.info({ series: series.seriesUid, reason: error.reason }, 'series without preview');
          }
        }
      }
      if (skipped.length > 0)
        zip.addBuffer(
          Buffer.from(['Serie senza anteprima:', ...skipped, ''].join('\r\n'), 'latin1'),
          'LEGGIMI.TXT',
        );
      zip.end();
      await done;
    };
    return this.#store('zip', 'application/zip', write, signal);
  }

  /** Patients → studies → series → instances, as the index holds them. */
  #patients(studyUids: readonly string[]): PdiPatient[] {
    const patients = new Map<string, PdiPatient>();
    for (const studyUid of studyUids) {
      const study = this.#deps.index.getStudy(studyUid);
      if (!study) throw new StudiesMissingError(`study ${studyUid} is not in the index`);
      const entry: PdiStudy = {
        studyInstanceUid: study.studyUid,
        studyDate: study.studyDate,
        studyTime: study.studyTime,
        studyId: study.studyId,
        accessionNumber: study.accessionNumber,
        studyDescription: study.description,
        series: this.#deps.index.listSeries(studyUid).map((series) => ({
          seriesInstanceUid: series.seriesUid,
          modality: series.modality,
          seriesNumber: series.seriesNumber,
          instances: this.#deps.index.listInstances(series.seriesUid).map((instance) => ({
            sopClassUid: instance.sopClassUid,
            sopInstanceUid: instance.sopInstanceUid,
            transferSyntaxUid: instance.transferSyntaxUid,
            instanceNumber: instance.instanceNumber,
            storageKey: instance.storageKey,
          })),
        })),
      };
      const patientKey = `${study.patientId ?? ''}\\${study.patientIssuer ?? ''}`;
      const patient = patients.get(patientKey) ?? {
        patientId: study.patientId,
        patientName: study.patientName,
        studies: [],
      };
      patient.studies.push(entry);
      patients.set(patientKey, patient);
    }
    return [...patients.values()];
  }

  /**
   * Non-image instances (SR, KOS, waveforms, encapsulated documents) get the DICOMDIR record of
   * their type, whose keys are read from the stored file; images need nothing more.
   */
  async #withRecords(patients: PdiPatient[], signal?: AbortSignal): Promise<PdiPatient[]> {
    for (const patient of patients)
      for (const study of patient.studies)
        for (const series of study.series)
          for (const instance of series.instances) {
            if (recordTypeOf(instance.sopClassUid) === 'IMAGE') continue;
            const file = await this.#readBuffer(instance.storageKey, signal);
            instance.record = recordKeysOf(file, instance.sopClassUid);
          }
    return patients;
  }

  /** A stored object as a stream, destroyed when `signal` aborts (also if it opens late). */
  async #read(key: string, signal: AbortSignal | undefined): Promise<Readable> {
    const stream = await unlessAborted(this.#deps.store.read(key), signal, (late) =>
      late.destroy(),
    );
    return signal ? addAbortSignal(signal, stream) : stream;
  }

  /** A stored object whole; given up when `signal` aborts. */
  #readBuffer(key: string, signal: AbortSignal | undefined): Promise<Buffer> {
    signal?.throwIfAborted();
    return unlessAborted(this.#deps.store.readBuffer(key), signal);
  }

  /**
   * Write through `write` into a spool, then make it durable under a fresh key. When `signal`
   * aborts the spool is discarded, and an object stored meanwhile (a store cannot be stopped
   * half-way) is removed again.
   */
  async #store(
    extension: string,
    mimeType: string,
    write: (output: Writable) => Promise<void>,
    signal: AbortSignal | undefined,
  ): Promise<BuiltPackage> {
    signal?.throwIfAborted();
    const spool = this.#deps.spool.createSpool();
    const output = spoolWritable(spool, signal);
    try {
      await write(output);
      signal?.throwIfAborted();
      const storageKey = `packages/${randomUUID()}.${extension}`;
      const bytes = spool.bytes;
      await spool.commit(storageKey);
      if (signal?.aborted) {
        await this.#deps.store.delete(storageKey);
        signal.throwIfAborted();
      }
      return { storageKey, bytes, mimeType };
    } catch (error) {
      // What a write cut short throws (a closed stream, a ZIP error) says less than why.
      signal?.throwIfAborted();
      throw error;
    } finally {
      output.destroy();
      // Nothing to do once committed.
      await spool.discard();
    }
  }
}
