import { isIP } from 'node:net';
import { assertAeTitle } from './formats.js';

/** A PACS the bridge queries and retrieves from, as the configuration gives it. */
export interface PacsNodeSetting {
  /** Short name used in logs, the CLI and the API. */
  name: string;
  aeTitle: string;
  host: string;
  port: number;
  /**
   * AE titles the node sends C-STOREs from (C-MOVE sub-operations often come from another
   * AE than the one queried). Allowed to store to the bridge from the node's host.
   */
  sendingAeTitles: string[];
  retrieveMethod: 'C-MOVE' | 'C-GET';
  /** Our AE title the node moves instances to; one of `dicom.aeTitles`. */
  moveDestination: string;
  /** Our AE title when we call the node; defaults to the move destination. */
  callingAeTitle: string;
  queryModel: 'STUDY_ROOT' | 'PATIENT_ROOT';
  /** Issuer of patient ids the node uses (IssuerOfPatientID); '' when unknown. */
  issuerOfPatientId: string;
  /** Issuer of accession numbers the node uses; '' when unknown. */
  issuerOfAccessionNumber: string;
  connectTimeoutMs: number;
  /** Longest silence allowed between two responses of one operation. */
  responseTimeoutMs: number;
  /** Retries of an incomplete or failed retrieve, after the first attempt. */
  maxRetries: number;
  /** First retry delay; doubled at each retry up to `retryMaxDelayMs`. */
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
}

/** What a node's optional fields are when not given. */
export const PACS_NODE_DEFAULTS = {
  retrieveMethod: 'C-MOVE',
  queryModel: 'STUDY_ROOT',
  issuerOfPatientId: '',
  issuerOfAccessionNumber: '',
  connectTimeoutMs: 10_000,
  responseTimeoutMs: 60_000,
  maxRetries: 3,
  retryBaseDelayMs: 10_000,
  retryMaxDelayMs: 300_000,
} as const;

const KEYS = new Set([
  'name',
  'aeTitle',
  'host',
  'port',
  'sendingAeTitles',
  'moveDestination',
  'callingAeTitle',
  ...Object.keys(PACS_NODE_DEFAULTS),
]);

function fail(i: number, key: string, problem: string, value: unknown): never {
  const what = key === '' ? `entry ${i}` : `entry ${i} ${key}`;
  throw new Error(`${what} ${problem}: value was ${JSON.stringify(value)}`);
}

function checkInt(i: number, key: string, value: unknown, min: number, max: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max)
    fail(i, key, `must be an integer from ${min} to ${max}`, value);
}

/** Validate the `pacs.nodes` list; each error names the entry and the key. */
export function assertPacsNodes(value: unknown): void {
  if (typeof value === 'string')
    throw new Error(`must be a JSON array of PACS nodes: value was ${JSON.stringify(value)}`);
  if (!Array.isArray(value))
    throw new Error(`must be a list of PACS nodes: value was ${JSON.stringify(value)}`);
  const names = new Set<string>();
  value.forEach((node: unknown, i) => {
    if (typeof node !== 'object' || node === null || Array.isArray(node))
      fail(i, '', 'must be an object', node);
    const entry = node as Record<string, unknown>;
    const unknownKeys = Object.keys(entry).filter((key) => !KEYS.has(key));
    if (unknownKeys.length > 0)
      throw new Error(`entry ${i} has unknown key(s) ${unknownKeys.join(', ')}`);
    if (typeof entry.name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(entry.name))
      fail(i, 'name', 'must be 1-64 letters, digits, dots, dashes or underscores', entry.name);
    if (names.has(entry.name)) fail(i, 'name', 'is used by another node', entry.name);
    names.add(entry.name);
    for (const key of ['aeTitle', 'moveDestination', 'callingAeTitle'] as const) {
      if (key !== 'aeTitle' && entry[key] === undefined) continue;
      try {
        assertAeTitle(entry[key]);
      } catch (error) {
        throw new Error(`entry ${i} ${key} ${(error as Error).message}`, { cause: error });
      }
    }
    if (
      typeof entry.host !== 'string' ||
      !(isIP(entry.host) || /^[A-Za-z0-9.-]{1,253}$/.test(entry.host))
    )
      fail(i, 'host', 'must be an IP address or host name', entry.host);
    if (entry.port === undefined) fail(i, 'port', 'is required', entry.port);
    checkInt(i, 'port', entry.port, 1, 65535);
    if (entry.sendingAeTitles !== undefined) {
      if (!Array.isArray(entry.sendingAeTitles))
        fail(i, 'sendingAeTitles', 'must be a list of AE titles', entry.sendingAeTitles);
      for (const title of entry.sendingAeTitles) {
        try {
          assertAeTitle(title);
        } catch (error) {
          throw new Error(`entry ${i} sendingAeTitles ${(error as Error).message}`, {
            cause: error,
          });
        }
      }
    }
    if (
      entry.retrieveMethod !== undefined &&
      !['C-MOVE', 'C-GET'].includes(entry.retrieveMethod as string)
    )
      fail(i, 'retrieveMethod', 'must be "C-MOVE" or "C-GET"', entry.retrieveMethod);
    if (
      entry.queryModel !== undefined &&
      !['STUDY_ROOT', 'PATIENT_ROOT'].includes(entry.queryModel as string)
    )
      fail(i, 'queryModel', 'must be "STUDY_ROOT" or "PATIENT_ROOT"', entry.queryModel);
    for (const key of ['issuerOfPatientId', 'issuerOfAccessionNumber'] as const) {
      const issuer = entry[key];
      if (issuer !== undefined && (typeof issuer !== 'string' || issuer.length > 64))
        fail(i, key, 'must be a string of at most 64 characters', issuer);
    }
    checkInt(i, 'connectTimeoutMs', entry.connectTimeoutMs, 1, 3_600_000);
    checkInt(i, 'responseTimeoutMs', entry.responseTimeoutMs, 1, 86_400_000);
    checkInt(i, 'maxRetries', entry.maxRetries, 0, 100);
    checkInt(i, 'retryBaseDelayMs', entry.retryBaseDelayMs, 0, 86_400_000);
    checkInt(i, 'retryMaxDelayMs', entry.retryMaxDelayMs, 0, 86_400_000);
  });
}

/**
 * Parse the environment form (also used for `queryRetrieve.moveDestinations`): a JSON array;
 * empty means none, as for the allowed peers. Anything else is left as the string, which the
 * format's validation then refuses naming the key (a JSON object would be merged by convict as
 * nested keys, and a parse error thrown here would name no key at all).
 */
export function coercePacsNodes(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (value.trim() === '') return [];
  try {
    const parsed = JSON.parse(value) as unknown;
    return Array.isArray(parsed) ? parsed : value;
  } catch {
    return value;
  }
}

/**
 * Fill the defaults of validated node entries. The move destination defaults to the bridge's
 * first AE title, and must be one of them (a node moving to an AE we don't answer to would
 * deliver nothing).
 */
export function normalisePacsNodes(
  raw: ReadonlyArray<Record<string, unknown>>,
  ownAeTitles: readonly string[],
): PacsNodeSetting[] {
  return raw.map((entry, i) => {
    const node = { ...PACS_NODE_DEFAULTS, ...entry } as unknown as PacsNodeSetting;
    node.moveDestination ??= ownAeTitles[0]!;
    if (!ownAeTitles.includes(node.moveDestination))
      fail(
        i,
        'moveDestination',
        `must be one of the bridge's AE titles (${ownAeTitles.join(', ')})`,
        node.moveDestination,
      );
    node.callingAeTitle ??= node.moveDestination;
    node.sendingAeTitles ??= [node.aeTitle];
    return node;
  });
}
