import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/load.js';
import { createSchema } from '../../../src/config/schema.js';
import { daemonCommand } from '../../helpers/daemon-process.js';
import { runTool, type ToolResult } from '../../helpers/tools.js';

/*
 * `pacs.nodes` and `queryRetrieve.*`: every invalid entry stops the bridge with a ConfigError
 * (exit code 2) naming the key, the entry and the bad value; valid entries get their defaults,
 * from a file or from the environment.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bridge-config-pacs-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A typical PACS node: only the required fields. */
const NODE = { name: 'pacs', aeTitle: 'PACS_ASR', host: '10.20.30.40', port: 104 };
const VIEWER = { aeTitle: 'VIEWER', host: '10.20.30.41', port: 11112 };

/** A configuration file in its own directory, with a data dir that is never created. */
function configFile(content: Record<string, unknown>, name = 'config'): string {
  const caseDir = join(dir, name);
  mkdirSync(caseDir, { recursive: true });
  const file = join(caseDir, 'config.json');
  writeFileSync(
    file,
    JSON.stringify({
      dataDir: join(caseDir, 'data-never-created'),
      log: { level: 'info' },
      ...content,
      dicom: { host: '127.0.0.1', port: 0, ...(content.dicom as object | undefined) },
    }),
  );
  return file;
}

/** The ConfigError loading `file` (and `env`) throws; fails the test when none is thrown. */
function configErrorOf(file: string | undefined, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    loadConfig({ file, env, baseDir: dir });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('the configuration was accepted');
}

async function runDaemon(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ToolResult> {
  const [command, commandArgs] = daemonCommand(args);
  return runTool(command, commandArgs, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    timeoutMs: 60_000,
  });
}

interface BadCase {
  title: string;
  /** The configuration key holding the bad value. */
  key: 'pacs.nodes' | 'queryRetrieve.moveDestinations';
  value: unknown[];
  /** Text the message must hold besides the key: the entry and field, the bad value. */
  mentions: string[];
  /** Other settings the case needs. */
  dicom?: Record<string, unknown>;
  /** Also run through the daemon (each run starts a process: a selection, not every case). */
  daemon?: boolean;
}

const BAD_NODES: BadCase[] = [
  {
    title: 'an unknown key',
    key: 'pacs.nodes',
    daemon: true,
    value: [{ ...NODE, retrieveMetod: 'C-GET' }],
    mentions: ['entry 0 has unknown key(s) retrieveMetod'],
  },
  {
    title: 'an AE title with a character outside the default repertoire',
    key: 'pacs.nodes',
    daemon: true,
    value: [NODE, { ...NODE, name: 'second', aeTitle: 'PÄCS' }],
    mentions: ['entry 1 aeTitle', '"PÄCS"'],
  },
  {
    title: 'an AE title over 16 characters',
    key: 'pacs.nodes',
    daemon: true,
    value: [{ ...NODE, aeTitle: 'PACS_ASR_ARCHIVE1' }],
    mentions: ['entry 0 aeTitle', '"PACS_ASR_ARCHIVE1"'],
  },
  {
    title: 'a missing port',
    key: 'pacs.nodes',
    daemon: true,
    value: [{ name: NODE.name, aeTitle: NODE.aeTitle, host: NODE.host }],
    mentions: ['entry 0 port is required'],
  },
  {
    title: 'port 70000',
    key: 'pacs.nodes',
    daemon: true,
    value: [NODE, { ...NODE, name: 'second', port: 70000 }],
    mentions: ['entry 1 port', 'value was 70000'],
  },
  {
    title: 'a port given as text',
    key: 'pacs.nodes',
    value: [{ ...NODE, port: '104' }],
    mentions: ['entry 0 port', 'value was "104"'],
  },
  {
    title: 'a bad host',
    key: 'pacs.nodes',
    value: [{ ...NODE, host: 'pacs asr' }],
    mentions: ['entry 0 host', '"pacs asr"'],
  },
  {
    title: 'a bad retrieveMethod',
    key: 'pacs.nodes',
    daemon: true,
    value: [{ ...NODE, retrieveMethod: 'C-STORE' }],
    mentions: ['entry 0 retrieveMethod', '"C-STORE"'],
  },
  {
    title: 'a bad queryModel',
    key: 'pacs.nodes',
    value: [{ ...NODE, queryModel: 'STUDY' }],
    mentions: ['entry 0 queryModel', '"STUDY"'],
  },
  {
    title: 'a moveDestination that is not one of dicom.aeTitles',
    key: 'pacs.nodes',
    daemon: true,
    value: [{ ...NODE, moveDestination: 'OTHERBRIDGE' }],
    mentions: ['entry 0 moveDestination', 'FSEBRIDGE, FSEBRIDGE2', '"OTHERBRIDGE"'],
    dicom: { aeTitles: ['FSEBRIDGE', 'FSEBRIDGE2'] },
  },
  {
    title: 'a bad callingAeTitle',
    key: 'pacs.nodes',
    value: [{ ...NODE, callingAeTitle: 'FSE\\BRIDGE' }],
    mentions: ['entry 0 callingAeTitle', JSON.stringify('FSE\\BRIDGE')],
  },
  {
    title: 'a sending AE title over 16 characters',
    key: 'pacs.nodes',
    value: [{ ...NODE, sendingAeTitles: ['PACS_ASR', 'PACS_ASR_STORAGE1'] }],
    mentions: ['entry 0 sendingAeTitles', '"PACS_ASR_STORAGE1"'],
  },
  {
    title: 'sendingAeTitles that is not a list',
    key: 'pacs.nodes',
    value: [{ ...NODE, sendingAeTitles: 'PACS_ASR' }],
    mentions: ['entry 0 sendingAeTitles', 'value was "PACS_ASR"'],
  },
  {
    title: 'duplicate node names',
    key: 'pacs.nodes',
    daemon: true,
    value: [NODE, { ...NODE, aeTitle: 'PACS_ASR2' }],
    mentions: ['entry 1 name is used by another node', 'value was "pacs"'],
  },
  {
    title: 'a negative maxRetries',
    key: 'pacs.nodes',
    daemon: true,
    value: [{ ...NODE, maxRetries: -1 }],
    mentions: ['entry 0 maxRetries', 'value was -1'],
  },
  {
    title: 'a fractional retryBaseDelayMs',
    key: 'pacs.nodes',
    value: [{ ...NODE, retryBaseDelayMs: 1.5 }],
    mentions: ['entry 0 retryBaseDelayMs', 'value was 1.5'],
  },
  {
    title: 'an entry that is not an object',
    key: 'pacs.nodes',
    value: [NODE, 'PACS_ASR@10.20.30.40:104'],
    mentions: ['entry 1 must be an object', '"PACS_ASR@10.20.30.40:104"'],
  },
];

const BAD_DESTINATIONS: BadCase[] = [
  {
    title: 'an unknown key',
    key: 'queryRetrieve.moveDestinations',
    daemon: true,
    value: [{ ...VIEWER, hostname: 'viewer' }],
    mentions: ['entry 0 has unknown key(s) hostname'],
  },
  {
    title: 'an AE title over 16 characters',
    key: 'queryRetrieve.moveDestinations',
    value: [VIEWER, { ...VIEWER, aeTitle: 'VIEWER_WORKSTATION' }],
    mentions: ['entry 1 aeTitle', '"VIEWER_WORKSTATION"'],
  },
  {
    title: 'a missing host',
    key: 'queryRetrieve.moveDestinations',
    value: [{ aeTitle: VIEWER.aeTitle, port: VIEWER.port }],
    mentions: ['entry 0 host', 'value was undefined'],
  },
  {
    title: 'a bad host',
    key: 'queryRetrieve.moveDestinations',
    value: [{ ...VIEWER, host: 'viewer host' }],
    mentions: ['entry 0 host', '"viewer host"'],
  },
  {
    title: 'a missing port',
    key: 'queryRetrieve.moveDestinations',
    value: [{ aeTitle: VIEWER.aeTitle, host: VIEWER.host }],
    mentions: ['entry 0 port', 'value was undefined'],
  },
  {
    title: 'port 70000',
    key: 'queryRetrieve.moveDestinations',
    daemon: true,
    value: [{ ...VIEWER, port: 70000 }],
    mentions: ['entry 0 port', 'value was 70000'],
  },
  {
    title: 'port 0',
    key: 'queryRetrieve.moveDestinations',
    value: [{ ...VIEWER, port: 0 }],
    mentions: ['entry 0 port', 'value was 0'],
  },
  {
    title: 'an AE title listed twice',
    key: 'queryRetrieve.moveDestinations',
    value: [VIEWER, { ...VIEWER, host: '10.20.30.42' }],
    mentions: ['entry 1 aeTitle is used by another move destination', 'value was "VIEWER"'],
  },
];

const BAD_CASES = [...BAD_NODES, ...BAD_DESTINATIONS];

/** The configuration file content putting `value` under `key`. */
function contentOf(bad: BadCase): Record<string, unknown> {
  const [section, leaf] = bad.key.split('.') as [string, string];
  return { [section]: { [leaf]: bad.value }, ...(bad.dicom ? { dicom: bad.dicom } : {}) };
}

describe('loadConfig refuses an invalid entry, naming the key, the entry and the value', () => {
  it.each(BAD_CASES)('$key: $title', (bad) => {
    const error = configErrorOf(configFile(contentOf(bad)));
    expect(error.message.startsWith(`${bad.key}: `), error.message).toBe(true);
    for (const mention of bad.mentions) expect(error.message).toContain(mention);
  });

  it('accepts each of these configurations once the bad value is fixed', () => {
    // The cases differ from a valid configuration only by their bad value.
    const file = configFile({
      dicom: { aeTitles: ['FSEBRIDGE', 'FSEBRIDGE2'] },
      pacs: { nodes: [NODE, { ...NODE, name: 'second', moveDestination: 'FSEBRIDGE2' }] },
      queryRetrieve: { moveDestinations: [VIEWER, { ...VIEWER, aeTitle: 'VIEWER2' }] },
    });
    const config = loadConfig({ file, env: {}, baseDir: dir });
    expect(config.pacs.nodes.map((node) => node.name)).toEqual(['pacs', 'second']);
    expect(config.queryRetrieve.moveDestinations).toHaveLength(2);
  });
});

describe('the daemon refuses an invalid entry with exit code 2', () => {
  it('from a file, creating nothing', async () => {
    const cases = BAD_CASES.filter((bad) => bad.daemon);
    expect(cases.length).toBeGreaterThanOrEqual(10);
    const runs: Array<{ bad: BadCase; file: string; result: ToolResult }> = [];
    // Two at a time: each run is a Node process compiling the sources.
    for (let i = 0; i < cases.length; i += 2) {
      runs.push(
        ...(await Promise.all(
          cases.slice(i, i + 2).map(async (bad, j) => {
            const file = configFile(contentOf(bad), `case-${i + j}`);
            return { bad, file, result: await runDaemon(['--config', file]) };
          }),
        )),
      );
    }
    for (const { bad, file, result } of runs) {
      const what = `${bad.key}: ${bad.title}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
      expect(result.code, what).toBe(2);
      expect(result.stderr, what).toContain(`invalid configuration: ${bad.key}: `);
      for (const mention of bad.mentions) expect(result.stderr, what).toContain(mention);
      expect(result.stdout, what).not.toContain('bridge started');
      const dataDir = (JSON.parse(readFileSync(file, 'utf8')) as { dataDir: string }).dataDir;
      expect(existsSync(dataDir), what).toBe(false);
    }
  }, 120_000);

  it('for BRIDGE_PACS_NODES and BRIDGE_MOVE_DESTINATIONS from the environment', async () => {
    const file = configFile({});
    const [node, destination, notJson] = await Promise.all([
      runDaemon(['--config', file], {
        BRIDGE_PACS_NODES: JSON.stringify([{ ...NODE, port: 70000 }]),
      }),
      runDaemon(['--config', file], {
        BRIDGE_MOVE_DESTINATIONS: JSON.stringify([{ ...VIEWER, aeTitle: 'VIEWER_WORKSTATION' }]),
      }),
      runDaemon(['--config', file], { BRIDGE_PACS_NODES: 'PACS_ASR@10.20.30.40:104' }),
    ]);
    expect(node.code, node.stderr).toBe(2);
    expect(node.stderr).toContain('pacs.nodes: entry 0 port');
    expect(node.stderr).toContain('70000');
    expect(destination.code, destination.stderr).toBe(2);
    expect(destination.stderr).toContain('queryRetrieve.moveDestinations: entry 0 aeTitle');
    expect(destination.stderr).toContain('VIEWER_WORKSTATION');
    expect(notJson.code, notJson.stderr).toBe(2);
    expect(notJson.stderr).toContain('invalid configuration: pacs.nodes');
    expect(notJson.stderr).toContain('PACS_ASR@10.20.30.40:104');
  }, 60_000);
});

describe('PACS node defaults', () => {
  it('fills every optional field of a node given only name, aeTitle, host and port', () => {
    const config = loadConfig({
      file: configFile({ pacs: { nodes: [NODE] } }),
      env: {},
      baseDir: dir,
    });
    expect(config.pacs.nodes).toEqual([
      {
        ...NODE,
        sendingAeTitles: ['PACS_ASR'],
        retrieveMethod: 'C-MOVE',
        moveDestination: 'FSEBRIDGE',
        callingAeTitle: 'FSEBRIDGE',
        queryModel: 'STUDY_ROOT',
        issuerOfPatientId: '',
        issuerOfAccessionNumber: '',
        connectTimeoutMs: 10_000,
        responseTimeoutMs: 60_000,
        maxRetries: 3,
        retryBaseDelayMs: 10_000,
        retryMaxDelayMs: 300_000,
      },
    ]);
  });

  it('moves to the first of dicom.aeTitles and calls as the move destination unless told', () => {
    const config = loadConfig({
      file: configFile({
        dicom: { aeTitles: ['FSEBRIDGE', 'FSEBRIDGE2'] },
        pacs: {
          nodes: [
            NODE,
            { ...NODE, name: 'second', moveDestination: 'FSEBRIDGE2' },
            { ...NODE, name: 'third', moveDestination: 'FSEBRIDGE2', callingAeTitle: 'FSEQUERY' },
          ],
        },
      }),
      env: {},
      baseDir: dir,
    });
    const [first, second, third] = config.pacs.nodes;
    expect(first).toMatchObject({ moveDestination: 'FSEBRIDGE', callingAeTitle: 'FSEBRIDGE' });
    expect(second).toMatchObject({ moveDestination: 'FSEBRIDGE2', callingAeTitle: 'FSEBRIDGE2' });
    expect(third).toMatchObject({ moveDestination: 'FSEBRIDGE2', callingAeTitle: 'FSEQUERY' });
  });

  it('keeps the sending AE titles and retry settings it is given', () => {
    const node = {
      ...NODE,
      sendingAeTitles: ['PACS_STORE1', 'PACS_STORE2'],
      retrieveMethod: 'C-GET',
      queryModel: 'PATIENT_ROOT',
      issuerOfPatientId: 'ASR-MRN',
      maxRetries: 0,
      retryBaseDelayMs: 500,
      retryMaxDelayMs: 4000,
    };
    const config = loadConfig({
      file: configFile({ pacs: { nodes: [node] } }),
      env: {},
      baseDir: dir,
    });
    expect(config.pacs.nodes[0]).toMatchObject(node);
    const none = loadConfig({
      file: configFile({ pacs: { nodes: [{ ...NODE, sendingAeTitles: [] }] } }, 'none'),
      env: {},
      baseDir: dir,
    });
    expect(none.pacs.nodes[0]!.sendingAeTitles).toEqual([]);
  });

  it('has no nodes, no extra move destinations and the documented Q/R limits by default', () => {
    const config = loadConfig({ env: {}, baseDir: dir });
    expect(config.pacs.nodes).toEqual([]);
    expect(config.queryRetrieve).toEqual({
      moveDestinations: [],
      maxConcurrentRetrieves: 4,
      maxMatches: 10_000,
      transcoding: 'lossless',
      decompressLossy: false,
      sendTimeoutMs: 60_000,
      issuerOfPatientId: '',
      incompleteStudies: 'withhold',
    });
  });
});

describe('query/retrieve settings from the environment', () => {
  it('reads BRIDGE_PACS_NODES as JSON, over the file, with defaults filled', () => {
    const file = configFile({ pacs: { nodes: [{ ...NODE, name: 'from-file' }] } });
    const config = loadConfig({
      file,
      env: {
        BRIDGE_PACS_NODES: JSON.stringify([
          { name: 'from-env', aeTitle: 'ORTHANC', host: 'pacs.asr.example', port: 4242 },
        ]),
      },
      baseDir: dir,
    });
    expect(config.pacs.nodes).toHaveLength(1);
    expect(config.pacs.nodes[0]).toMatchObject({
      name: 'from-env',
      aeTitle: 'ORTHANC',
      host: 'pacs.asr.example',
      port: 4242,
      sendingAeTitles: ['ORTHANC'],
      moveDestination: 'FSEBRIDGE',
      callingAeTitle: 'FSEBRIDGE',
      maxRetries: 3,
    });
  });

  it('takes an empty BRIDGE_PACS_NODES as no nodes', () => {
    const file = configFile({ pacs: { nodes: [NODE] } });
    expect(loadConfig({ file, env: { BRIDGE_PACS_NODES: '' }, baseDir: dir }).pacs.nodes).toEqual(
      [],
    );
  });

  it('refuses BRIDGE_PACS_NODES that is not a JSON array, naming the key and the value', () => {
    for (const value of ['[{"name": "pacs",', JSON.stringify(NODE), 'PACS_ASR@10.20.30.40']) {
      const error = configErrorOf(undefined, { BRIDGE_PACS_NODES: value });
      expect(error.message).toMatch(/^pacs\.nodes: must be a JSON array of PACS nodes/);
      expect(error.message).toContain(JSON.stringify(value));
    }
  });

  it('refuses a bad entry of BRIDGE_PACS_NODES, naming the entry and the field', () => {
    const error = configErrorOf(undefined, {
      BRIDGE_PACS_NODES: JSON.stringify([NODE, { ...NODE, name: 'second', maxRetries: -2 }]),
    });
    expect(error.message).toMatch(/^pacs\.nodes: entry 1 maxRetries .*value was -2/);
  });

  it('turns an environment value that cannot be read at all into a ConfigError', () => {
    // Coerced before validation: its failure must still stop the daemon as a configuration error.
    const error = configErrorOf(undefined, { BRIDGE_ALLOWED_PEERS: '[{"aeTitle": ' });
    expect(error.message).toMatch(/JSON/);
  });

  it('reads BRIDGE_MOVE_DESTINATIONS as JSON and the Q/R limits as numbers', () => {
    const config = loadConfig({
      env: {
        BRIDGE_MOVE_DESTINATIONS: JSON.stringify([VIEWER]),
        BRIDGE_QR_MAX_RETRIEVES: '2',
        BRIDGE_QR_MAX_MATCHES: '500',
        BRIDGE_TRANSCODING: 'none',
        BRIDGE_DECOMPRESS_LOSSY: 'true',
        BRIDGE_SEND_TIMEOUT_MS: '15000',
      },
      baseDir: dir,
    });
    expect(config.queryRetrieve).toEqual({
      moveDestinations: [VIEWER],
      maxConcurrentRetrieves: 2,
      maxMatches: 500,
      transcoding: 'none',
      decompressLossy: true,
      sendTimeoutMs: 15_000,
      issuerOfPatientId: '',
      incompleteStudies: 'withhold',
    });
  });

  it('refuses BRIDGE_MOVE_DESTINATIONS that is not JSON and bad Q/R limits, naming the key', () => {
    expect(
      configErrorOf(undefined, { BRIDGE_MOVE_DESTINATIONS: 'VIEWER@10.20.30.41:11112' }).message,
    ).toMatch(
      /^queryRetrieve\.moveDestinations: must be a JSON array.*VIEWER@10\.20\.30\.41:11112/,
    );
    expect(configErrorOf(undefined, { BRIDGE_QR_MAX_RETRIEVES: '0' }).message).toMatch(
      /queryRetrieve\.maxConcurrentRetrieves.*0/,
    );
    expect(configErrorOf(undefined, { BRIDGE_QR_MAX_MATCHES: '-5' }).message).toMatch(
      /queryRetrieve\.maxMatches.*-5/,
    );
    expect(configErrorOf(undefined, { BRIDGE_TRANSCODING: 'always' }).message).toMatch(
      /queryRetrieve\.transcoding.*always/,
    );
  });
});

/** README.md and every document under docs/. */
function documents(): string[] {
  const docs = join(ROOT, 'docs');
  const under = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? under(join(dir, entry.name))
        : entry.name.endsWith('.md')
          ? [join(dir, entry.name)]
          : [],
    );
  return [join(ROOT, 'README.md'), ...under(docs)];
}

describe('the configuration examples of the documentation', () => {
  it('are accepted by the bridge', () => {
    const sections = new Set(
      Object.keys((createSchema({}).getSchema() as { _cvtProperties: object })._cvtProperties),
    );
    const examples: Array<{ where: string; block: string }> = [];
    for (const path of documents()) {
      for (const match of readFileSync(path, 'utf8').matchAll(/^ *```json\n([\s\S]*?)^ *```$/gm)) {
        const block = match[1]!;
        const parsed = JSON.parse(block) as unknown;
        // Message bodies (FSE notifications) are JSON too: an example names a section.
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) continue;
        if (Object.keys(parsed).some((key) => sections.has(key)))
          examples.push({ where: relative(ROOT, path), block });
      }
    }
    expect(examples.length).toBeGreaterThanOrEqual(10);
    for (const [i, { where, block }] of examples.entries()) {
      const file = join(dir, `example-${i}.json`);
      writeFileSync(file, block);
      expect(
        () => loadConfig({ file, env: {}, baseDir: dir }),
        `${where}:\n${block}`,
      ).not.toThrow();
    }
    const pacsExample = examples.find(({ block }) => block.includes('"nodes"'));
    expect(pacsExample).toBeDefined();
  });
});

describe('FSE notification settings', () => {
  const HTTP = { BRIDGE_FSE_TRANSPORT: 'http' };

  it('refuses a bad URL and missing credentials, naming the key', () => {
    expect(configErrorOf(undefined, { ...HTTP, BRIDGE_FSE_NOTIFY_URL: 'ftp://x' }).message).toMatch(
      /fse\.notifyUrl must be an http or https URL: value was "ftp:\/\/x"/,
    );
    expect(
      configErrorOf(undefined, {
        ...HTTP,
        BRIDGE_FSE_NOTIFY_URL: 'https://fse.example.it/v1',
        BRIDGE_FSE_AUTH: 'bearer',
      }).message,
    ).toMatch(/fse\.token is required when fse\.authKind is bearer/);
    expect(
      configErrorOf(undefined, { BRIDGE_FSE_AUTH: 'basic', BRIDGE_FSE_USERNAME: 'bridge' }).message,
    ).toMatch(/fse\.username and fse\.password are required/);
    const ok = loadConfig({
      env: {
        ...HTTP,
        BRIDGE_FSE_NOTIFY_URL: 'https://fse.example.it/v1',
        BRIDGE_FSE_AUTH: 'bearer',
        BRIDGE_FSE_TOKEN: 'secret-token',
      },
      baseDir: dir,
    });
    expect(ok.fse).toMatchObject({ notifyUrl: 'https://fse.example.it/v1', authKind: 'bearer' });
  });
});

describe('on-demand settings', () => {
  it('refuses unknown error kinds, malformed codes, basic without credentials, a bad path', () => {
    expect(
      configErrorOf(undefined, { BRIDGE_ONDEMAND_ERROR_CODES: '{"no-such-kind": "X_1"}' }).message,
    ).toMatch(/onDemand\.errorCodes: .*no-such-kind is not an error kind/);
    expect(
      configErrorOf(undefined, { BRIDGE_ONDEMAND_ERROR_CODES: '{"busy": "bad code!"}' }).message,
    ).toMatch(/onDemand\.errorCodes: .*busy must be a code of 1-32.*"bad code!"/);
    expect(
      configErrorOf(undefined, { BRIDGE_ONDEMAND_AUTH: 'basic', BRIDGE_ONDEMAND_USERNAME: 'fse' })
        .message,
    ).toMatch(/onDemand\.username and onDemand\.password are required/);
    expect(configErrorOf(undefined, { BRIDGE_ONDEMAND_PUBLIC_URL: 'bridge/ws' }).message).toMatch(
      /onDemand\.publicUrl must be an http or https URL: value was "bridge\/ws"/,
    );
    expect(configErrorOf(undefined, { BRIDGE_ONDEMAND_PATH: 'ws' }).message).toMatch(
      /onDemand\.path must be a URL path starting with \/: value was "ws"/,
    );
    expect(configErrorOf(undefined, { BRIDGE_ONDEMAND_GUARDIAN_ROLES: 'TUT,a b' }).message).toMatch(
      /onDemand\.guardianRoles: .*"a b"/,
    );
  });

  it('reads codes and roles from the environment, keeping the defaults of kinds left out', () => {
    const config = loadConfig({
      env: {
        BRIDGE_ONDEMAND_ERROR_CODES: '{"busy": "FSE_ER_042"}',
        BRIDGE_ONDEMAND_GUARDIAN_ROLES: 'tut, gen,AMM',
      },
      baseDir: dir,
    });
    expect(config.onDemand.errorCodes.busy).toBe('FSE_ER_042');
    expect(config.onDemand.errorCodes['document-unknown']).toBe('CL_ER_001');
    expect(config.onDemand.guardianRoles).toEqual(['TUT', 'GEN', 'AMM']);
    expect(config.onDemand.inlineMaxBytes).toBe(64 * 1024 * 1024);
  });
});
