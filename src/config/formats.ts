import { isIP } from 'node:net';
import { vrProblem } from '../dicom/dataset-writer.js';

/** An AE title: 1–16 characters of the default repertoire, no backslash, not only spaces. */
export function assertAeTitle(value: unknown): void {
  if (
    typeof value !== 'string' ||
    !/^[\x20-\x5b\x5d-\x7e]{1,16}$/.test(value) ||
    value.trim() === '' ||
    value !== value.trim()
  ) {
    throw new Error(
      `must be an AE title (1-16 printable characters, no backslash, no leading/trailing spaces): value was ${JSON.stringify(value)}`,
    );
  }
}

export interface PeerSetting {
  aeTitle: string;
  host?: string;
}

/**
 * Peers allowed to send: a JSON array of `{ "aeTitle": "PACS", "host": "10.0.0.5" }`, or, from
 * the environment, a comma-separated list such as `PACS@10.0.0.5,MODALITY`.
 */
export function coercePeers(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as unknown;
  if (trimmed === '') return [];
  return trimmed.split(',').map((entry) => {
    const [aeTitle, host] = entry.trim().split('@');
    return host ? { aeTitle, host } : { aeTitle };
  });
}

export function assertPeers(value: unknown): void {
  if (!Array.isArray(value))
    throw new Error(`must be a list of peers: value was ${JSON.stringify(value)}`);
  value.forEach((peer: unknown, i) => {
    if (typeof peer !== 'object' || peer === null)
      throw new Error(
        `entry ${i} must be an object with aeTitle and optional host: value was ${JSON.stringify(peer)}`,
      );
    const { aeTitle, host, ...rest } = peer as Record<string, unknown>;
    const unknownKeys = Object.keys(rest);
    if (unknownKeys.length > 0)
      throw new Error(`entry ${i} has unknown key(s) ${unknownKeys.join(', ')}`);
    try {
      assertAeTitle(aeTitle);
    } catch (error) {
      throw new Error(`entry ${i} aeTitle ${(error as Error).message}`, { cause: error });
    }
    if (
      host !== undefined &&
      (typeof host !== 'string' || !(isIP(host) || /^[A-Za-z0-9.-]{1,253}$/.test(host)))
    ) {
      throw new Error(
        `entry ${i} host must be an IP address or host name: value was ${JSON.stringify(host)}`,
      );
    }
  });
}

export function assertAeTitles(value: unknown): void {
  if (!Array.isArray(value) || value.length === 0)
    throw new Error(`must be a non-empty list of AE titles: value was ${JSON.stringify(value)}`);
  for (const title of value) assertAeTitle(title);
}

export function assertPositiveInt(value: unknown): void {
  if (!Number.isInteger(value) || (value as number) < 1)
    throw new Error(`must be a positive integer: value was ${JSON.stringify(value)}`);
}

export function assertNonNegativeInt(value: unknown): void {
  if (!Number.isInteger(value) || (value as number) < 0)
    throw new Error(`must be an integer >= 0: value was ${JSON.stringify(value)}`);
}

/**
 * An issuer of patient IDs (IssuerOfPatientID, LO): at most 64 characters, no backslash or
 * control character, no space at either end (padding, which matching ignores); '' for none.
 * convict adds the value to the message.
 */
export function assertIssuer(value: unknown): void {
  const problem =
    typeof value !== 'string'
      ? 'is not text'
      : (vrProblem('LO', value) ??
        (value !== value.trim() ? 'starts or ends with a space' : undefined));
  if (problem)
    throw new Error(
      `must be an issuer of patient IDs, at most 64 characters without backslash, control characters or spaces at either end ("" for none); this one ${problem}`,
    );
}
