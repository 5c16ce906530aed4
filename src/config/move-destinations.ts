import { isIP } from 'node:net';
import { assertAeTitle } from './formats.js';

/** An AE our Q/R SCP may send C-MOVE sub-operations to. */
export interface MoveDestinationSetting {
  aeTitle: string;
  host: string;
  port: number;
}

/** Validate `queryRetrieve.moveDestinations`; each error names the entry and the key. */
export function assertMoveDestinations(value: unknown): void {
  if (typeof value === 'string')
    throw new Error(
      `must be a JSON array of move destinations: value was ${JSON.stringify(value)}`,
    );
  if (!Array.isArray(value))
    throw new Error(`must be a list of move destinations: value was ${JSON.stringify(value)}`);
  const seen = new Set<string>();
  value.forEach((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw new Error(`entry ${i} must be an object: value was ${JSON.stringify(entry)}`);
    const { aeTitle, host, port, ...rest } = entry as Record<string, unknown>;
    const unknownKeys = Object.keys(rest);
    if (unknownKeys.length > 0)
      throw new Error(`entry ${i} has unknown key(s) ${unknownKeys.join(', ')}`);
    try {
      assertAeTitle(aeTitle);
    } catch (error) {
      throw new Error(`entry ${i} aeTitle ${(error as Error).message}`, { cause: error });
    }
    // The SCP looks destinations up by AE title: a second entry would never be used.
    if (seen.has(aeTitle as string))
      throw new Error(
        `entry ${i} aeTitle is used by another move destination: value was ${JSON.stringify(aeTitle)}`,
      );
    seen.add(aeTitle as string);
    if (typeof host !== 'string' || !(isIP(host) || /^[A-Za-z0-9.-]{1,253}$/.test(host)))
      throw new Error(
        `entry ${i} host must be an IP address or host name: value was ${JSON.stringify(host)}`,
      );
    if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535)
      throw new Error(
        `entry ${i} port must be an integer from 1 to 65535: value was ${JSON.stringify(port)}`,
      );
  });
}
