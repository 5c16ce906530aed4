import { randomUUID } from 'node:crypto';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The UID of a UUID (PS3.5 B.2): `2.25.` followed by the UUID's 128 bits as one unsigned decimal
 * integer, without leading zeros. At most 44 characters, so always within the 64 allowed.
 */
export function uidFromUuid(uuid: string): string {
  if (!UUID_PATTERN.test(uuid)) throw new Error(`not a UUID: ${JSON.stringify(uuid)}`);
  return `2.25.${BigInt(`0x${uuid.replaceAll('-', '')}`).toString(10)}`;
}

/**
 * A fresh, globally unique UID derived from a random (version 4) UUID: needs no organisational
 * root and no coordination between processes or machines.
 */
export function newUid(): string {
  return uidFromUuid(randomUUID());
}
