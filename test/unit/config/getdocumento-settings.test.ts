import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/load.js';

/*
 * `onDemand.getDocumento`: where the region's CLEpisodioService is served, which file types ask
 * for the PDI ZIP, and how WS-Security freshness is judged. A bad value stops the bridge naming
 * the key.
 */

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bridge-config-getdocumento-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function load(env: NodeJS.ProcessEnv) {
  return loadConfig({ env, baseDir: dir });
}

function refusal(env: NodeJS.ProcessEnv): string {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('onDemand.getDocumento', () => {
  it('defaults to /ws/CLEpisodioService, PDI for PDI_ZIP, PDI and ZIP, 1 minute of skew, 5 of age', () => {
    expect(load({}).onDemand.getDocumento).toEqual({
      path: '/ws/CLEpisodioService',
      publicUrl: '',
      pdiFileTypes: ['PDI_ZIP', 'PDI', 'ZIP'],
      clockSkewMs: 60_000,
      maxMessageAgeMs: 300_000,
    });
  });

  it('reads every key from the environment', () => {
    expect(
      load({
        BRIDGE_GETDOCUMENTO_PATH: '/dmacl/services/CLEpisodioService',
        BRIDGE_GETDOCUMENTO_PUBLIC_URL:
          'https://bridge.asl.example.it/dmacl/services/CLEpisodioService',
        BRIDGE_GETDOCUMENTO_PDI_FILE_TYPES: 'IMG_ZIP, DICOM_ZIP',
        BRIDGE_WSS_CLOCK_SKEW_MS: '0',
        BRIDGE_WSS_MAX_AGE_MS: '120000',
      }).onDemand.getDocumento,
    ).toEqual({
      path: '/dmacl/services/CLEpisodioService',
      publicUrl: 'https://bridge.asl.example.it/dmacl/services/CLEpisodioService',
      pdiFileTypes: ['IMG_ZIP', 'DICOM_ZIP'],
      clockSkewMs: 0,
      maxMessageAgeMs: 120_000,
    });
  });

  it('refuses bad values, naming the key', () => {
    expect(refusal({ BRIDGE_GETDOCUMENTO_PATH: 'ws/x' })).toMatch(
      /onDemand\.getDocumento\.path: must be a URL path starting with \//,
    );
    expect(refusal({ BRIDGE_GETDOCUMENTO_PATH: '/ws/recupero-documento' })).toMatch(
      /onDemand\.getDocumento\.path must differ from onDemand\.path/,
    );
    expect(refusal({ BRIDGE_GETDOCUMENTO_PUBLIC_URL: 'ftp://x' })).toMatch(
      /onDemand\.getDocumento\.publicUrl: must be an http or https URL/,
    );
    expect(refusal({ BRIDGE_GETDOCUMENTO_PDI_FILE_TYPES: 'ZIP,a b' })).toMatch(
      /onDemand\.getDocumento\.pdiFileTypes: file type codes are 1-32 letters/,
    );
    expect(refusal({ BRIDGE_WSS_MAX_AGE_MS: '0' })).toMatch(
      /onDemand\.getDocumento\.maxMessageAgeMs/,
    );
    expect(refusal({ BRIDGE_WSS_CLOCK_SKEW_MS: '-1' })).toMatch(
      /onDemand\.getDocumento\.clockSkewMs/,
    );
  });
});
