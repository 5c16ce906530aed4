import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/load.js';

/*
 * `fse.transport` and `fse.gateway`: HL7 to the regional image gateway by default, holding
 * notifications while it has no host; a bad value, or an address of the transport not chosen,
 * stops the bridge naming the key.
 */

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bridge-config-fse-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const HTTP = { BRIDGE_FSE_TRANSPORT: 'http' };

function refusal(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig({ env, baseDir: dir });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('the FSE notification transport', () => {
  it('sends over HL7 by default, and holds notifications while the gateway has no host', () => {
    const config = loadConfig({ env: {}, baseDir: dir });
    expect(config.fse).toMatchObject({
      transport: 'hl7',
      notifyUrl: '',
      gateway: {
        host: '',
        port: 2575,
        structureCode: '',
        sendingApplication: 'FSEBRIDGE',
        receivingApplication: 'O3DPACS',
        receivingFacility: 'REGIONE',
      },
    });
  });

  it.each([
    [
      'a URL for the HTTP transport while HL7 is chosen',
      { BRIDGE_FSE_NOTIFY_URL: 'https://fse.example.it/v1' },
      /fse\.notifyUrl is set but fse\.transport is hl7/,
    ],
    [
      'a gateway host while HTTP is chosen',
      { ...HTTP, BRIDGE_FSE_GATEWAY_HOST: 'gw.example.it' },
      /fse\.gateway\.host is set but fse\.transport is http/,
    ],
    [
      'a gateway host without a structure code',
      { BRIDGE_FSE_GATEWAY_HOST: 'gw.example.it' },
      /fse\.gateway\.structureCode is required when fse\.gateway\.host is set/,
    ],
    [
      'a structure code longer than the gateway keeps',
      { BRIDGE_FSE_GATEWAY_STRUCTURE_CODE: 'S'.repeat(21) },
      /fse\.gateway\.structureCode must be a string of at most 20 characters/,
    ],
    [
      'a sending application with an HL7 delimiter',
      { BRIDGE_FSE_GATEWAY_SENDING_APPLICATION: 'RIS^X' },
      /fse\.gateway\.sendingApplication must be printable ASCII without/,
    ],
    [
      'a facility without a structure code when there is no default',
      {
        BRIDGE_FSE_GATEWAY_HOST: 'gw.example.it',
        BRIDGE_HL7_FACILITIES: JSON.stringify([
          { ...FACILITY_ENTRY, gateway: { sendingApplication: 'RIS' } },
        ]),
      },
      /fse\.gateway\.structureCode is required .*\(facility ASLTO3 has no gateway\.structureCode\)/,
    ],
    [
      'a facility gateway setting that is not one',
      {
        BRIDGE_HL7_FACILITIES: JSON.stringify([{ ...FACILITY_ENTRY, gateway: { port: 1 } }]),
      },
      /hl7\.facilities: .*entry 0 gateway\.port is not a gateway setting/,
    ],
  ])('refuses %s, naming the key', (_what, env, message) => {
    expect(refusal(env)).toMatch(message);
  });

  it('accepts a gateway with per-facility structure codes', () => {
    const config = loadConfig({
      env: {
        BRIDGE_FSE_GATEWAY_HOST: '10.1.2.3',
        BRIDGE_HL7_FACILITIES: JSON.stringify([
          { ...FACILITY_ENTRY, gateway: { structureCode: '010301', receivingFacility: 'RP' } },
        ]),
      },
      baseDir: dir,
    });
    expect(config.hl7.facilities[0]!.gateway).toEqual({
      structureCode: '010301',
      receivingFacility: 'RP',
    });
  });
});

const FACILITY_ENTRY = {
  sendingFacility: 'ASLTO3',
  patientIdAuthority: 'PACS',
  patientIdIssuer: '',
  accessionIssuer: '',
  codCL: '010203',
};
