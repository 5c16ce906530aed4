import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exited, freePort } from './tools.js';

/*
 * A real Orthanc (Debian package `orthanc`, 1.10) playing "the company PACS" in integration
 * tests: its own configuration, storage and index in a fresh temp dir, DICOM and HTTP on free
 * ports, no plugins. Every test that starts one must stop it (afterAll or finally); a start that
 * fails kills the process itself, and a worker that exits without stopping it kills it on exit.
 */

/** A DICOM peer Orthanc knows (an entry of its DicomModalities). */
export interface OrthancModality {
  aeTitle: string;
  host: string;
  port: number;
  /** Each defaults to true, as in Orthanc. */
  allowEcho?: boolean;
  allowFind?: boolean;
  allowMove?: boolean;
  allowGet?: boolean;
  allowStore?: boolean;
}

export interface OrthancOptions {
  /** Orthanc's own AE title (DicomAet); default 'ORTHANC'. */
  aeTitle?: string;
  /**
   * The peers Orthanc knows, by symbolic name: calling AEs it accepts (nobody else may even
   * echo or store), move destinations and the SCPs it can query through its REST API.
   */
  modalities?: Record<string, OrthancModality>;
  /** StrictAetComparison: compare AE titles case-sensitively (Orthanc's default: false). */
  strictAeComparison?: boolean;
  /** DicomCheckModalityHost: a listed AE must connect from its `host` (default false). */
  checkModalityHost?: boolean;
  /** DicomCheckCalledAet: refuse associations not addressed to `aeTitle` (default false). */
  checkCalledAet?: boolean;
  /** DicomScuTimeout and DicomScpTimeout, in seconds (default 10). */
  dicomTimeoutSeconds?: number;
  /** Start Orthanc with --verbose (more detail in the log). */
  verbose?: boolean;
  /**
   * Further configuration keys, applied last (they override the helper's). HttpPort must stay
   * the helper's; a DicomPort given here is the one reported in `dicomPort`.
   */
  config?: Record<string, unknown>;
  /** How long to wait for the REST API to answer; default 20 s. */
  startTimeoutMs?: number;
}

/** Orthanc's answer to POST /instances. */
export interface OrthancUploadAnswer {
  ID: string;
  ParentPatient: string;
  ParentStudy: string;
  ParentSeries: string;
  Path: string;
  /** 'Success', or 'AlreadyStored' for a SOP Instance UID Orthanc already holds. */
  Status: string;
}

export interface OrthancPacs {
  aeTitle: string;
  host: '127.0.0.1';
  dicomPort: number;
  httpPort: number;
  /** The temp dir with configuration, storage, index and log (removed by stop()). */
  dir: string;
  /** Call the REST API; the parsed JSON answer (undefined if empty). Rejects on HTTP errors. */
  rest<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** Upload one PS3.10 file (path or bytes) with POST /instances. */
  upload(file: string | Buffer): Promise<OrthancUploadAnswer>;
  /** Upload files one after the other. */
  uploadFiles(paths: string[]): Promise<OrthancUploadAnswer[]>;
  /** Number of instances Orthanc holds. */
  instanceCount(): Promise<number>;
  /** Add or replace a known peer at run time (PUT /modalities/{name}). */
  setModality(name: string, modality: OrthancModality): Promise<void>;
  /** Forget a known peer at run time (DELETE /modalities/{name}). */
  removeModality(name: string): Promise<void>;
  /** The last lines of Orthanc's log (stdout and stderr). */
  logTail(lines?: number): string;
  /** SIGTERM, SIGKILL after 10 s if still running, then remove the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

/** Orthanc as an entry of the bridge's `pacs.nodes`, named `orthanc`, with more settings. */
export function orthancNode(
  pacs: OrthancPacs,
  settings: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name: 'orthanc',
    aeTitle: pacs.aeTitle,
    host: '127.0.0.1',
    port: pacs.dicomPort,
    ...settings,
  };
}

const ORTHANC = process.env.ORTHANC_BINARY ?? 'Orthanc';
const STOP_TIMEOUT_MS = 10_000;
const START_ATTEMPTS = 3;

/** Orthanc's object form of a DicomModalities entry. */
function modalityEntry(modality: OrthancModality): Record<string, unknown> {
  return {
    AET: modality.aeTitle,
    Host: modality.host,
    Port: modality.port,
    AllowEcho: modality.allowEcho ?? true,
    AllowFind: modality.allowFind ?? true,
    AllowMove: modality.allowMove ?? true,
    AllowGet: modality.allowGet ?? true,
    AllowStore: modality.allowStore ?? true,
  };
}

function orthancConfig(
  dir: string,
  options: OrthancOptions,
  dicomPort: number,
  httpPort: number,
): Record<string, unknown> {
  const timeout = options.dicomTimeoutSeconds ?? 10;
  return {
    Name: 'orthanc-test-pacs',
    StorageDirectory: join(dir, 'storage'),
    IndexDirectory: join(dir, 'index'),
    TemporaryDirectory: join(dir, 'tmp'),
    StorageCompression: false,
    SyncStorageArea: false,
    SaveJobs: false,
    Plugins: [],
    LuaScripts: [],

    HttpServerEnabled: true,
    HttpPort: httpPort,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    HttpCompressionEnabled: false,
    HttpDescribeErrors: true,
    HttpThreadsCount: 10,
    OrthancExplorerEnabled: false,
    WebDavEnabled: false,
    MetricsEnabled: false,
    OrthancPeers: {},
    OrthancPeersInDatabase: false,

    DicomServerEnabled: true,
    DicomAet: options.aeTitle ?? 'ORTHANC',
    DicomPort: dicomPort,
    DicomCheckCalledAet: options.checkCalledAet ?? false,
    DicomAlwaysAllowEcho: false,
    DicomAlwaysAllowStore: false,
    DicomAlwaysAllowFind: false,
    DicomAlwaysAllowFindWorklist: false,
    DicomAlwaysAllowGet: false,
    DicomAlwaysAllowMove: false,
    DicomCheckModalityHost: options.checkModalityHost ?? false,
    StrictAetComparison: options.strictAeComparison ?? false,
    DicomModalities: Object.fromEntries(
      Object.entries(options.modalities ?? {}).map(([name, modality]) => [
        name,
        modalityEntry(modality),
      ]),
    ),
    DicomModalitiesInDatabase: false,
    DicomScuTimeout: timeout,
    DicomScpTimeout: timeout,
    DicomAssociationCloseDelay: 0,
    ...options.config,
  };
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Orthanc could not listen on a port (taken between freePort() and its start). */
function portTaken(log: string): boolean {
  return /already in use|cannot bind/i.test(log);
}

async function answersSystem(httpPort: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${httpPort}/system`, {
      signal: AbortSignal.timeout(2_000),
    });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

interface Started {
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  dicomPort: number;
  httpPort: number;
}

/** Kill and wait; SIGKILL if SIGTERM is not enough within the timeout. */
async function terminate(
  child: ChildProcess,
  exit: Promise<unknown>,
  timeoutMs = STOP_TIMEOUT_MS,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), timeoutMs);
  });
  const stopped = await Promise.race([exit.then(() => false), timedOut]);
  clearTimeout(timer);
  if (stopped) {
    child.kill('SIGKILL');
    await exit;
  }
}

/** One attempt: spawn with fresh ports and wait for GET /system. */
async function launch(
  dir: string,
  logFile: string,
  options: OrthancOptions,
): Promise<Started | 'port-taken'> {
  const dicomPort = await freePort();
  let httpPort = await freePort();
  while (httpPort === dicomPort) httpPort = await freePort();
  const configFile = join(dir, 'orthanc.json');
  writeFileSync(
    configFile,
    JSON.stringify(orthancConfig(dir, options, dicomPort, httpPort), null, 2),
  );
  const log = openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(ORTHANC, ['--no-jobs', ...(options.verbose ? ['--verbose'] : []), configFile], {
      cwd: dir,
      stdio: ['ignore', log, log],
    });
  } finally {
    closeSync(log);
  }
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const exit = exited(child);
  let ended = false;
  let failure: Error | undefined;
  void exit.then(() => (ended = true));
  void spawnError.then((error) => (failure = error));

  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  for (;;) {
    if (failure) throw new Error(`cannot run ${ORTHANC}: ${failure.message}`);
    if (ended) {
      const { code, signal } = await exit;
      const logText = tail(logFile, 40);
      if (portTaken(logText)) return 'port-taken';
      throw new Error(
        `Orthanc exited before it answered (code ${code}, signal ${signal}); log:\n${logText}`,
      );
    }
    if (await answersSystem(httpPort)) return { child, exit, dicomPort, httpPort };
    if (Date.now() > deadline) {
      await terminate(child, exit, 2_000);
      throw new Error(
        `Orthanc did not answer GET /system on port ${httpPort} in time; log:\n${tail(logFile, 40)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Start an Orthanc for a test; call stop() in afterAll or finally. */
export async function startOrthanc(options: OrthancOptions = {}): Promise<OrthancPacs> {
  const dir = mkdtempSync(join(tmpdir(), 'orthanc-test-'));
  const logFile = join(dir, 'orthanc.log');
  let started: Started | 'port-taken' = 'port-taken';
  try {
    for (let attempt = 0; attempt < START_ATTEMPTS && started === 'port-taken'; attempt++) {
      started = await launch(dir, logFile, options);
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  if (started === 'port-taken') {
    const logText = tail(logFile, 40);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`Orthanc found its ports taken ${START_ATTEMPTS} times; log:\n${logText}`);
  }
  const { child, exit, httpPort } = started;

  // A worker that ends without stop() must not leave Orthanc running.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const base = `http://127.0.0.1:${httpPort}`;
  async function rest<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const binary = Buffer.isBuffer(body) || body instanceof Uint8Array;
    const response = await fetch(`${base}${path}`, {
      method,
      headers:
        body === undefined
          ? {}
          : { 'Content-Type': binary ? 'application/dicom' : 'application/json' },
      body: body === undefined ? undefined : binary ? (body as Uint8Array) : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`Orthanc ${method} ${path}: HTTP ${response.status} ${text}`);
    }
    if (!text.trim()) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      return text as T;
    }
  }

  // The port Orthanc really listens on (`config` may have overridden the helper's choice).
  let dicomPort = started.dicomPort;
  try {
    dicomPort = (await rest<{ DicomPort: number }>('GET', '/system')).DicomPort;
  } catch {
    // keep the configured port
  }

  let stopping: Promise<void> | undefined;
  const pacs: OrthancPacs = {
    aeTitle: options.aeTitle ?? 'ORTHANC',
    host: '127.0.0.1',
    dicomPort,
    httpPort,
    dir,
    rest,
    upload: (file) =>
      rest<OrthancUploadAnswer>(
        'POST',
        '/instances',
        typeof file === 'string' ? readFileSync(file) : file,
      ),
    async uploadFiles(paths) {
      const answers: OrthancUploadAnswer[] = [];
      for (const path of paths) answers.push(await pacs.upload(path));
      return answers;
    },
    async instanceCount() {
      const statistics = await rest<{ CountInstances: number }>('GET', '/statistics');
      return statistics.CountInstances;
    },
    async setModality(name, modality) {
      await rest('PUT', `/modalities/${encodeURIComponent(name)}`, modalityEntry(modality));
    },
    async removeModality(name) {
      await rest('DELETE', `/modalities/${encodeURIComponent(name)}`);
    },
    logTail: (lines = 40) => tail(logFile, lines),
    stop() {
      stopping ??= (async () => {
        await terminate(child, exit);
        process.removeListener('exit', killOnExit);
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
  return pacs;
}
