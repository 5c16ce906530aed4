import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/load.js';

/*
 * `queryRetrieve.issuerOfPatientId` and `queryRetrieve.incompleteStudies`: no issuer assumed
 * and studies withheld until complete by default; an issuer that cannot be an
 * IssuerOfPatientID (LO) stops the bridge naming the key.
 */

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bridge-config-qr-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function load(issuer: unknown) {
  const file = join(dir, 'bridge.json');
  writeFileSync(file, JSON.stringify({ queryRetrieve: { issuerOfPatientId: issuer } }));
  return loadConfig({ file, env: {}, baseDir: dir });
}

describe('the Q/R SCP scope settings', () => {
  it('assume no issuer and withhold studies not complete by default', () => {
    expect(loadConfig({ env: {}, baseDir: dir }).queryRetrieve).toMatchObject({
      issuerOfPatientId: '',
      incompleteStudies: 'withhold',
    });
  });

  it('are read from the environment', () => {
    const config = loadConfig({
      env: { BRIDGE_QR_ISSUER_OF_PATIENT_ID: 'ASL_TO3', BRIDGE_QR_INCOMPLETE_STUDIES: 'answer' },
      baseDir: dir,
    });
    expect(config.queryRetrieve).toMatchObject({
      issuerOfPatientId: 'ASL_TO3',
      incompleteStudies: 'answer',
    });
  });

  it('take an issuer of up to 64 characters, spaces and non-ASCII letters within', () => {
    for (const issuer of ['X'.repeat(64), 'ASL TO3', 'Aziènda', '2.16.840.1.113883.2.9.4.3.2'])
      expect(load(issuer).queryRetrieve.issuerOfPatientId).toBe(issuer);
  });

  it.each([
    ['longer than 64 characters', 'X'.repeat(65), /longer than 64 characters/],
    ['with a backslash', 'ASL\\TO3', /control character or backslash/],
    ['with a control character', 'ASL\tTO3', /control character or backslash/],
    ['with a space at one end', ' ASL_TO3', /starts or ends with a space/],
    ['not text', 42, /is not text/],
  ])('refuse an issuer %s, naming the key', (_what, issuer, reason) => {
    let error: unknown;
    try {
      load(issuer);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('queryRetrieve.issuerOfPatientId');
    expect(message).toMatch(reason);
  });

  it('refuse an unknown incompleteStudies, naming the key', () => {
    expect(() =>
      loadConfig({ env: { BRIDGE_QR_INCOMPLETE_STUDIES: 'later' }, baseDir: dir }),
    ).toThrow(/queryRetrieve\.incompleteStudies.*later/);
  });
});
