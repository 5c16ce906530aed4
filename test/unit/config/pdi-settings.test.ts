import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/load.js';

/*
 * `onDemand.pdi`: who made PDI packages and whom to contact, their time zone and the viewer
 * they ship. Defaults say nothing is configured; a bad value stops the bridge naming the key.
 */

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bridge-config-pdi-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function load(env: NodeJS.ProcessEnv, file?: string) {
  return loadConfig({ env, baseDir: dir, ...(file ? { file } : {}) });
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

describe('onDemand.pdi', () => {
  it('defaults to no institution, no contact, no viewer, dates in Europe/Rome', () => {
    expect(load({}).onDemand.pdi).toEqual({
      institutionName: '',
      department: '',
      phone: '',
      email: '',
      address: '',
      viewerDir: '',
      timeZone: 'Europe/Rome',
      transferSyntax: 'as-stored',
      decompressLossy: false,
    });
  });

  it('reads every key from a file and from the environment', () => {
    const viewer = join(dir, 'viewer');
    mkdirSync(viewer);
    const file = join(dir, 'bridge.json');
    writeFileSync(
      file,
      JSON.stringify({
        onDemand: {
          pdi: {
            institutionName: 'ASL Città di Torino',
            department: 'Radiologia',
            phone: '+39 011 555-0101',
            email: 'radiologia@asl.example.it',
            address: 'Via Roma 1, 10121 Torino',
            viewerDir: viewer,
          },
        },
      }),
    );
    expect(
      load({ BRIDGE_PDI_TIME_ZONE: 'UTC', BRIDGE_PDI_PHONE: '(011) 555 0102' }, file).onDemand.pdi,
    ).toEqual({
      institutionName: 'ASL Città di Torino',
      department: 'Radiologia',
      phone: '(011) 555 0102',
      email: 'radiologia@asl.example.it',
      address: 'Via Roma 1, 10121 Torino',
      viewerDir: viewer,
      timeZone: 'UTC',
      transferSyntax: 'as-stored',
      decompressLossy: false,
    });
    expect(
      load({
        BRIDGE_PDI_INSTITUTION: 'AOU Novara',
        BRIDGE_PDI_DEPARTMENT: 'Neuroradiologia',
        BRIDGE_PDI_EMAIL: 'nrad@aou.example.it',
        BRIDGE_PDI_ADDRESS: 'Corso Mazzini 18, Novara',
        BRIDGE_PDI_VIEWER_DIR: viewer,
        BRIDGE_PDI_TRANSFER_SYNTAX: 'explicit-little-endian',
        BRIDGE_PDI_DECOMPRESS_LOSSY: 'true',
      }).onDemand.pdi,
    ).toMatchObject({
      transferSyntax: 'explicit-little-endian',
      decompressLossy: true,
      institutionName: 'AOU Novara',
      department: 'Neuroradiologia',
      email: 'nrad@aou.example.it',
      address: 'Corso Mazzini 18, Novara',
      viewerDir: viewer,
    });
  });

  it('refuses bad values, naming the key and the value', () => {
    expect(refusal({ BRIDGE_PDI_INSTITUTION: 'ASL\nFake line' })).toMatch(
      /onDemand\.pdi\.institutionName: .*control characters.*"ASL\\nFake line"/,
    );
    expect(refusal({ BRIDGE_PDI_ADDRESS: 'x'.repeat(201) })).toMatch(
      /onDemand\.pdi\.address: must be text of at most 200 characters/,
    );
    expect(refusal({ BRIDGE_PDI_DEPARTMENT: 'Radiologia\u0007' })).toMatch(
      /onDemand\.pdi\.department: /,
    );
    expect(refusal({ BRIDGE_PDI_PHONE: 'call me' })).toMatch(
      /onDemand\.pdi\.phone: must be a telephone number.*"call me"/,
    );
    expect(refusal({ BRIDGE_PDI_EMAIL: 'radiologia-at-asl' })).toMatch(
      /onDemand\.pdi\.email: must be an e-mail address.*"radiologia-at-asl"/,
    );
    const missing = join(dir, 'no-such-viewer');
    expect(refusal({ BRIDGE_PDI_VIEWER_DIR: missing })).toMatch(
      /onDemand\.pdi\.viewerDir: must be an existing directory/,
    );
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    expect(refusal({ BRIDGE_PDI_VIEWER_DIR: file })).toContain('onDemand.pdi.viewerDir');
    expect(refusal({ BRIDGE_PDI_TIME_ZONE: 'Europe/Atlantis' })).toMatch(
      /onDemand\.pdi\.timeZone: must be an IANA time zone.*"Europe\/Atlantis"/,
    );
    expect(refusal({ BRIDGE_PDI_TRANSFER_SYNTAX: 'jpeg' })).toMatch(
      /onDemand\.pdi\.transferSyntax: .*"jpeg"/,
    );
  });
});
