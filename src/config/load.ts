import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { StorageConfig } from '../storage/create-store.js';
import type { HttpLimits } from '../http/server.js';
import type { LoginThrottleOptions } from '../admin/login-throttle.js';
import type { PeerSetting } from './formats.js';
import type { MoveDestinationSetting } from './move-destinations.js';
import { normalisePacsNodes, type PacsNodeSetting } from './pacs-nodes.js';
import { createSchema } from './schema.js';
import { isValidUid } from '../dicom/uid.js';
import type { FacilitySetting } from '../hl7/facilities.js';
import type { MllpServerOptions } from '../hl7/mllp-options.js';
import { errorCodes, type ErrorKind } from '../fse/error-catalogue.js';
import type { PdiSettings } from '../fse/pdi-manifest.js';
import { isLoopback } from '../dimse/ae-policy.js';
import type { GetDocumentoSettings } from './schema-ondemand.js';
import { checkTransportConfig, type GatewayConfig } from '../fse/gateway-settings.js';

/** The validated configuration, with derived paths resolved. */
export interface BridgeConfig {
  dataDir: string;
  log: { level: string };
  dicom: {
    aeTitles: string[];
    host: string;
    port: number;
    allowedPeers: PeerSetting[];
    maxAssociations: number;
    maxPduLength: number;
    artimMs: number;
    idleTimeoutMs: number;
    acceptPrivateSopClasses: boolean;
  };
  ingest: {
    duplicatePolicy: 'keep-first' | 'replace';
    maxInstanceBytes: number;
    minFreeDiskBytes: number;
    maxHeaderBytes: number;
  };
  pacs: { nodes: PacsNodeSetting[] };
  queryRetrieve: {
    moveDestinations: MoveDestinationSetting[];
    maxConcurrentRetrieves: number;
    maxMatches: number;
    transcoding: 'none' | 'lossless' | 'uncompressed';
    decompressLossy: boolean;
    sendTimeoutMs: number;
    issuerOfPatientId: string;
    incompleteStudies: 'withhold' | 'answer';
  };
  http: HttpLimits & { host: string; port: number; bodyLimitBytes: number; apiToken: string };
  hl7: Omit<MllpServerOptions, 'application' | 'facility'> & {
    enabled: boolean;
    facilities: FacilitySetting[];
  };
  fse: {
    transport: 'hl7' | 'http';
    gateway: GatewayConfig;
    notifyUrl: string;
    authKind: 'none' | 'bearer' | 'basic';
    token: string;
    username: string;
    password: string;
    timeoutMs: number;
    pollIntervalMs: number;
    maxInFlight: number;
    retryBaseDelayMs: number;
    retryMaxDelayMs: number;
    maxAttempts: number;
  };
  links: {
    pacsNode: string;
    quietPeriodMs: number;
    retrieveLocationUid: string;
    institutionName: string;
  };
  onDemand: {
    path: string;
    publicUrl: string;
    authKind: 'none' | 'basic';
    username: string;
    password: string;
    concurrency: number;
    maxQueued: number;
    defaultDeadlineMs: number;
    maxDeadlineMs: number;
    jobTimeoutMs: number;
    inlineMaxBytes: number;
    bodyLimitBytes: number;
    cacheTtlMs: number;
    compressInstances: boolean;
    previewMaxSize: number;
    previewQuality: number;
    errorCodes: Record<ErrorKind, string>;
    guardianRoles: string[];
    pdi: PdiSettings;
    getDocumento: GetDocumentoSettings;
  };
  admin: {
    username: string;
    password: string;
    token: string;
    host: string;
    /** -1: the admin routes are served by the HTTP API listener. */
    port: number;
    /** Connections the separate admin listener keeps open at once. */
    maxConnections: number;
    sessionTtlMs: number;
    recentAssociations: number;
  } & LoginThrottleOptions;
  storage: StorageConfig;
  index: { path: string };
  /**
   * Local directory of the spool: one area in it per user of the store (`ingest/`,
   * `packages/`), and the journal of ingest's intent notes.
   */
  spoolDir: string;
  shutdown: { drainTimeoutMs: number };
}

/** The configuration is invalid; the message names the key and the value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface LoadOptions {
  /** Extra configuration file (`--config FILE`), applied over config/default.json. */
  file?: string;
  /** Environment to read overrides from (defaults to process.env). */
  env?: NodeJS.ProcessEnv;
  /** config/default.json is looked for here. */
  baseDir?: string;
}

/**
 * Load the configuration: schema defaults, then config/default.json, then the `--config` file,
 * then environment variables. Unknown keys and invalid values are errors.
 */
export function loadConfig(options: LoadOptions = {}): BridgeConfig {
  const schema = loadSchema(options);
  try {
    return derive(schema);
  } catch (error) {
    throw new ConfigError((error as Error).message, { cause: error });
  }
}

function loadSchema(options: LoadOptions): ReturnType<typeof createSchema> {
  let schema: ReturnType<typeof createSchema>;
  try {
    // Environment values are coerced here; a format whose coercion throws is still a
    // configuration error.
    schema = createSchema(options.env);
  } catch (error) {
    throw new ConfigError(`environment: ${(error as Error).message}`, { cause: error });
  }
  try {
    // convict reads process.env; a custom env is applied by loading its values explicitly.
    const defaults = resolve(options.baseDir ?? process.cwd(), 'config', 'default.json');
    const files = [defaults, ...(options.file ? [options.file] : [])].filter(
      (file, i) => i > 0 || existsSync(file),
    );
    for (const file of files) {
      if (!existsSync(file)) throw new ConfigError(`configuration file not found: ${file}`);
      try {
        schema.loadFile(file);
      } catch (error) {
        throw new ConfigError(`${file}: ${(error as Error).message}`, { cause: error });
      }
    }
    schema.validate({ allowed: 'strict' });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError((error as Error).message);
  }
  return schema;
}

function derive(schema: ReturnType<typeof createSchema>): BridgeConfig {
  const raw = schema.getProperties();
  const dataDir = resolve(raw.dataDir);
  const storage: BridgeConfig['storage'] =
    raw.storage.kind === 's3'
      ? { kind: 's3', ...raw.storage.s3 }
      : {
          kind: 'fs',
          rootDir: raw.storage.fs.root ? resolve(raw.storage.fs.root) : resolve(dataDir, 'objects'),
        };
  return {
    dataDir,
    log: raw.log,
    dicom: raw.dicom,
    ingest: raw.ingest as BridgeConfig['ingest'],
    pacs: { nodes: nodesOf(raw.pacs.nodes, raw.dicom.aeTitles) },
    queryRetrieve: raw.queryRetrieve as BridgeConfig['queryRetrieve'],
    http: httpOf(raw.http, raw.onDemand as BridgeConfig['onDemand']),
    hl7: raw.hl7 as BridgeConfig['hl7'],
    fse: fseOf(raw.fse as BridgeConfig['fse'], raw.hl7.facilities as FacilitySetting[]),
    links: linksOf(raw.links, raw.pacs.nodes as Array<{ name?: unknown }>),
    onDemand: onDemandOf(
      raw.onDemand as Omit<BridgeConfig['onDemand'], 'errorCodes'> & {
        errorCodes: Record<string, string>;
      },
    ),
    admin: adminOf(raw.admin),
    storage,
    index: { path: raw.index.path ? resolve(raw.index.path) : resolve(dataDir, 'index.sqlite') },
    // The spool sits inside the filesystem store so that making an instance durable is a rename.
    spoolDir:
      storage.kind === 'fs' ? resolve(storage.rootDir, '.spool') : resolve(dataDir, 'spool'),
    shutdown: raw.shutdown,
  };
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/** A bind address only this machine can reach. */
function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || (isIP(host) !== 0 && isLoopback(host));
}

/**
 * The HTTP listener's timeouts must fit together and let an on-demand caller wait for its
 * deadline. On an address other machines reach, the listener needs credentials for what it
 * serves: the /api token (reports, obscuration, outbox) and the on-demand callers' credentials.
 */
function httpOf(
  http: BridgeConfig['http'],
  onDemand: Pick<BridgeConfig['onDemand'], 'authKind' | 'maxDeadlineMs'>,
): BridgeConfig['http'] {
  if (http.headersTimeoutMs > http.requestTimeoutMs)
    throw new Error(
      `http.headersTimeoutMs must not exceed http.requestTimeoutMs (${http.requestTimeoutMs}): value was ${http.headersTimeoutMs}`,
    );
  if (http.idleTimeoutMs <= onDemand.maxDeadlineMs)
    throw new Error(
      `http.idleTimeoutMs must be longer than onDemand.maxDeadlineMs (${onDemand.maxDeadlineMs}), or callers waiting for a package are cut off: value was ${http.idleTimeoutMs}`,
    );
  if (isLoopbackHost(http.host)) return http;
  const problems: string[] = [];
  if (!http.apiToken)
    problems.push(
      `http.apiToken is required when http.host is not a loopback address (BRIDGE_HTTP_API_TOKEN): http.host was ${JSON.stringify(http.host)}`,
    );
  if (onDemand.authKind === 'none')
    problems.push(
      `onDemand.authKind must be basic when http.host is not a loopback address (BRIDGE_ONDEMAND_AUTH): value was "none", http.host ${JSON.stringify(http.host)}`,
    );
  if (problems.length > 0) throw new Error(problems.join('; '));
  return http;
}

function fseOf(fse: BridgeConfig['fse'], facilities: FacilitySetting[]): BridgeConfig['fse'] {
  checkTransportConfig(fse, facilities);
  if (fse.notifyUrl) {
    if (!isHttpUrl(fse.notifyUrl))
      throw new Error(
        `fse.notifyUrl must be an http or https URL: value was ${JSON.stringify(fse.notifyUrl)}`,
      );
  }
  if (fse.authKind === 'bearer' && !fse.token)
    throw new Error('fse.token is required when fse.authKind is bearer (BRIDGE_FSE_TOKEN)');
  if (fse.authKind === 'basic' && (!fse.username || !fse.password))
    throw new Error(
      'fse.username and fse.password are required when fse.authKind is basic (BRIDGE_FSE_USERNAME, BRIDGE_FSE_PASSWORD)',
    );
  return fse;
}

function onDemandOf(
  raw: Omit<BridgeConfig['onDemand'], 'errorCodes'> & { errorCodes: Record<string, string> },
): BridgeConfig['onDemand'] {
  if (!raw.path.startsWith('/') || /[?#\s]/.test(raw.path))
    throw new Error(
      `onDemand.path must be a URL path starting with /: value was ${JSON.stringify(raw.path)}`,
    );
  if (raw.publicUrl && !isHttpUrl(raw.publicUrl))
    throw new Error(
      `onDemand.publicUrl must be an http or https URL: value was ${JSON.stringify(raw.publicUrl)}`,
    );
  if (raw.authKind === 'basic' && (!raw.username || !raw.password))
    throw new Error(
      'onDemand.username and onDemand.password are required when onDemand.authKind is basic (BRIDGE_ONDEMAND_USERNAME, BRIDGE_ONDEMAND_PASSWORD)',
    );
  if (raw.getDocumento.path === raw.path)
    throw new Error(
      `onDemand.getDocumento.path must differ from onDemand.path: value was ${JSON.stringify(raw.path)}`,
    );
  if (raw.previewQuality > 100)
    throw new Error(`onDemand.previewQuality must be 1-100: value was ${raw.previewQuality}`);
  if (raw.defaultDeadlineMs > raw.maxDeadlineMs)
    throw new Error(
      `onDemand.defaultDeadlineMs must not exceed onDemand.maxDeadlineMs: value was ${raw.defaultDeadlineMs}`,
    );
  return {
    ...raw,
    errorCodes: errorCodes(raw.errorCodes),
    guardianRoles: raw.guardianRoles.map((role) => role.toUpperCase()),
  };
}

function adminOf(admin: BridgeConfig['admin']): BridgeConfig['admin'] {
  if (admin.password && !admin.username)
    throw new Error(
      'admin.username is required when admin.password is set (BRIDGE_ADMIN_USERNAME)',
    );
  if (admin.loginLockoutMs > admin.loginMaxLockoutMs)
    throw new Error(
      `admin.loginLockoutMs must not exceed admin.loginMaxLockoutMs (${admin.loginMaxLockoutMs}): value was ${admin.loginLockoutMs}`,
    );
  return admin;
}

function linksOf(
  raw: BridgeConfig['links'],
  nodes: Array<{ name?: unknown }>,
): BridgeConfig['links'] {
  if (raw.pacsNode && !nodes.some((node) => node.name === raw.pacsNode))
    throw new Error(
      `links.pacsNode must name a node of pacs.nodes: value was ${JSON.stringify(raw.pacsNode)}`,
    );
  if (raw.retrieveLocationUid && !isValidUid(raw.retrieveLocationUid))
    throw new Error(
      `links.retrieveLocationUid must be a UID: value was ${JSON.stringify(raw.retrieveLocationUid)}`,
    );
  return raw;
}

function nodesOf(raw: Array<Record<string, unknown>>, ownAeTitles: string[]): PacsNodeSetting[] {
  try {
    return normalisePacsNodes(raw, ownAeTitles);
  } catch (error) {
    throw new Error(`pacs.nodes: ${(error as Error).message}`, { cause: error });
  }
}

/** The configuration as JSON with secrets hidden, for `bridge config`. */
export function describeConfig(options: LoadOptions = {}): string {
  return loadSchema(options).toString();
}
