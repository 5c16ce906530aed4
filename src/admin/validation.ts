import { isIP } from 'node:net';
import type { PeerSetting } from '../config/formats.js';
import { assertPacsNodes, normalisePacsNodes, type PacsNodeSetting } from '../config/pacs-nodes.js';

/** Input from an administrator that cannot be accepted; `field` names what is wrong. */
export class AdminInputError extends Error {
  override readonly name = 'AdminInputError';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/**
 * An AE title: 1-16 characters, none of them a backslash or a control character, not all
 * spaces. Leading and trailing spaces are refused too: DICOM pads AE titles with spaces, so a
 * peer could never send one that keeps them.
 */
export function checkAeTitle(field: string, value: unknown): string {
  if (typeof value !== 'string') throw new AdminInputError(field, 'must be a string');
  if (value.length < 1 || value.length > 16)
    throw new AdminInputError(field, `must be 1 to 16 characters: ${value.length} given`);
  if (value.includes('\\')) throw new AdminInputError(field, 'must not contain a backslash');
  if (/[^\x20-\x7e]/.test(value))
    throw new AdminInputError(field, 'must contain printable ASCII characters only');
  if (value.trim() === '') throw new AdminInputError(field, 'must not be all spaces');
  if (value !== value.trim())
    throw new AdminInputError(field, 'must not start or end with a space');
  return value;
}

function checkHost(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new AdminInputError(field, 'must be a non-empty IP address or host name');
  if (!(isIP(value) || /^[A-Za-z0-9.-]{1,253}$/.test(value)))
    throw new AdminInputError(field, `must be an IP address or host name: ${value}`);
  return value;
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new AdminInputError('body', 'must be a JSON object');
  return body as Record<string, unknown>;
}

/** An allowed peer from a request body: `aeTitle`, optional `host` (absent or null: any). */
export function parsePeer(body: unknown): PeerSetting {
  const { aeTitle, host, ...rest } = asObject(body);
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw new AdminInputError(unknown, 'is not a field of a peer');
  const peer: PeerSetting = { aeTitle: checkAeTitle('aeTitle', aeTitle) };
  if (host !== undefined && host !== null) peer.host = checkHost('host', host);
  return peer;
}

const NODE_FIELDS = [
  'name',
  'aeTitle',
  'host',
  'port',
  'sendingAeTitles',
  'retrieveMethod',
  'moveDestination',
  'callingAeTitle',
  'queryModel',
  'issuerOfPatientId',
  'issuerOfAccessionNumber',
  'connectTimeoutMs',
  'responseTimeoutMs',
  'maxRetries',
  'retryBaseDelayMs',
  'retryMaxDelayMs',
];

/**
 * A PACS node from a request body, with the same fields and rules as `pacs.nodes` in the
 * configuration, defaults filled. The configuration's check is reused so both say the same;
 * its message ("entry 0 port must be …") is turned into one that names the field.
 */
export function parseNode(body: unknown, ownAeTitles: readonly string[]): PacsNodeSetting {
  const entry = asObject(body);
  const unknown = Object.keys(entry).find((key) => !NODE_FIELDS.includes(key));
  if (unknown !== undefined) throw new AdminInputError(unknown, 'is not a field of a PACS node');
  checkAeTitle('aeTitle', entry.aeTitle);
  for (const key of ['moveDestination', 'callingAeTitle'])
    if (entry[key] !== undefined) checkAeTitle(key, entry[key]);
  if (Array.isArray(entry.sendingAeTitles))
    entry.sendingAeTitles.forEach((title, i) => checkAeTitle(`sendingAeTitles[${i}]`, title));
  checkHost('host', entry.host);
  if (entry.port === undefined) throw new AdminInputError('port', 'is required');
  if (!Number.isInteger(entry.port) || (entry.port as number) < 1 || (entry.port as number) > 65535)
    throw new AdminInputError(
      'port',
      `must be an integer from 1 to 65535: value was ${JSON.stringify(entry.port)}`,
    );
  for (const check of [
    () => assertPacsNodes([entry]),
    () => normalisePacsNodes([entry], ownAeTitles),
  ]) {
    try {
      check();
    } catch (error) {
      const message = (error as Error).message.replace(/^entry 0 /, '');
      const field = NODE_FIELDS.find((key) => message.startsWith(`${key} `)) ?? 'body';
      throw new AdminInputError(
        field,
        field === 'body' ? message : message.slice(field.length + 1),
      );
    }
  }
  return normalisePacsNodes([entry], ownAeTitles)[0]!;
}
