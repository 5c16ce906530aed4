/*
 * The configuration reference of docs/configuration.md, generated from the convict schema
 * (src/config/schema*.ts): every key with its environment variable, default, accepted values
 * and doc, grouped by section. `npm run docs:config` rewrites the part of the document between
 * the markers; the prose around it is kept. A test regenerates it and compares.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createSchema } from '../src/config/schema.js';

export const REFERENCE_DOCUMENT = fileURLToPath(
  new URL('../docs/configuration.md', import.meta.url),
);
export const BEGIN_MARKER =
  '<!-- BEGIN GENERATED: `npm run docs:config` writes this part from src/config/schema*.ts; do not edit it by hand -->';
export const END_MARKER = '<!-- END GENERATED -->';

/** A node of convict's normalised schema: a section (with properties) or a key. */
interface SchemaNode {
  _cvtProperties?: Record<string, SchemaNode>;
  doc?: string;
  format?: unknown;
  default?: unknown;
  env?: string;
  sensitive?: boolean;
}

/** The values each format accepts, as the reader writes them. */
const FORMATS: Readonly<Record<string, string>> = {
  string: 'text',
  boolean: '`true` or `false`',
  port: 'port, 0 to 65535',
  'port-or-off': 'port, 0 to 65535, or -1',
  'positive-int': 'integer ≥ 1',
  'non-negative-int': 'integer ≥ 0',
  'ae-titles': 'AE titles (comma-separated in the environment)',
  peers: 'list of `{aeTitle, host}` (in the environment `AE@host,AE`)',
  'pacs-nodes': 'list of PACS nodes, [below](#entries-of-pacsnodes) (JSON in the environment)',
  'move-destinations': 'list of `{aeTitle, host, port}` (JSON in the environment)',
  'hl7-facilities': 'list of facilities (JSON in the environment)',
  'error-codes': 'object of error kind to code (JSON in the environment)',
  'role-codes': 'role codes (comma-separated in the environment)',
  'file-type-codes': 'codes (comma-separated in the environment)',
  'pdi-text': 'text, at most 200 characters, no control characters',
  'phone-or-empty': 'telephone number, or empty',
  'email-or-empty': 'e-mail address, or empty',
  'directory-or-empty': 'existing directory, or empty',
  'time-zone': 'IANA time zone',
  'url-path': 'URL path starting with `/`',
  'http-url-or-empty': 'http or https URL, or empty',
  issuer:
    'LO value: at most 64 characters, no backslash or control character, no space at either end; or empty',
};

/** What each section of the configuration is about. */
const SECTIONS: Readonly<Record<string, string>> = {
  dataDir: 'Where the bridge keeps its data.',
  log: 'The JSON log on standard output.',
  dicom: 'The DICOM listener: AE titles, port, who may associate, association limits.',
  pacs: 'The PACS nodes the bridge queries and retrieves from.',
  queryRetrieve: 'The Q/R SCP: what the bridge answers to C-FIND, C-MOVE and C-GET.',
  http: 'The HTTP listener: reports API, on-demand SOAP endpoints, admin, metrics, health checks.',
  hl7: 'The MLLP listener for HL7 v2 reports.',
  fse: 'Notifications to the FSE side, and their outbox.',
  links: 'Linking reports to their images, and the KOS manifests.',
  onDemand: 'On-demand retrieval for the FSE: SOAP endpoints, queue, cache, PDI packages.',
  admin: 'The admin page and API.',
  ingest: 'What the bridge accepts from C-STORE.',
  storage: 'Object storage: filesystem or S3.',
  index: 'The SQLite index.',
  shutdown: 'Stopping on SIGTERM or SIGINT.',
};

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;

/** `n` in the largest unit that divides it: 30000 → "30 s". */
function inUnits(n: number, units: ReadonlyArray<[number, string]>): string | undefined {
  for (const [size, unit] of units) if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  return undefined;
}

const DURATION_UNITS: ReadonlyArray<[number, string]> = [
  [DAY, 'd'],
  [HOUR, 'h'],
  [MINUTE, 'min'],
  [SECOND, 's'],
];
const SIZE_UNITS: ReadonlyArray<[number, string]> = [
  [GIB, 'GiB'],
  [MIB, 'MiB'],
  [KIB, 'KiB'],
];

/** The default as JSON, with durations and sizes also in their unit. */
function defaultOf(key: string, value: unknown): string {
  const json = `\`${JSON.stringify(value)}\``;
  if (typeof value !== 'number' || value <= 0) return json;
  const unit = /Ms$/.test(key)
    ? inUnits(value, DURATION_UNITS)
    : /(Bytes|PduLength)$/.test(key)
      ? inUnits(value, SIZE_UNITS)
      : undefined;
  return unit ? `${json} (${unit})` : json;
}

function valuesOf(key: string, format: unknown): string {
  if (Array.isArray(format)) return `one of ${format.map((v) => `\`${String(v)}\``).join(', ')}`;
  const values = typeof format === 'string' ? FORMATS[format] : undefined;
  if (values === undefined)
    throw new Error(
      `${key}: no description of its format ${JSON.stringify(format)}: add one to FORMATS in scripts/config-reference.ts`,
    );
  return values;
}

/** Text for a table cell: no line breaks, `|` and `<` escaped (`<path>` is not HTML). */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/([|<])/g, '\\$1');
}

function row(key: string, node: SchemaNode): string {
  if (!node.env) throw new Error(`${key}: no environment variable in the schema`);
  if (!node.doc) throw new Error(`${key}: no doc in the schema`);
  const secret = node.sensitive ? ' Secret: `npm run cli -- config` shows it hidden.' : '';
  const cells = [
    `\`${key}\``,
    `\`${node.env}\``,
    defaultOf(key, node.default),
    valuesOf(key, node.format),
    cell(node.doc) + secret,
  ];
  return `| ${cells.join(' | ')} |`;
}

/** Every key under `node`, depth first in schema order, with its dotted path. */
function keysOf(node: SchemaNode, path: string[]): Array<[string, SchemaNode]> {
  return Object.entries(node._cvtProperties ?? {}).flatMap(([name, child]) =>
    child._cvtProperties ? keysOf(child, [...path, name]) : [[[...path, name].join('.'), child]],
  ) as Array<[string, SchemaNode]>;
}

/** The generated part of docs/configuration.md, without its markers. */
export function configReference(): string {
  const root = createSchema({}).getSchema() as SchemaNode;
  const parts: string[] = [];
  for (const [section, node] of Object.entries(root._cvtProperties ?? {})) {
    const heading = [`### \`${section}\``, ''];
    const intro = SECTIONS[section];
    if (intro) heading.push(intro, '');
    const keys = node._cvtProperties ? keysOf(node, [section]) : [[section, node] as const];
    parts.push(
      [
        ...heading,
        '| key | environment | default | values | meaning |',
        '| --- | --- | --- | --- | --- |',
        ...keys.map(([key, child]) => row(key, child)),
      ].join('\n'),
    );
  }
  return parts.join('\n\n');
}

/** `document` with the text between its markers replaced by `reference`. */
export function withReference(document: string, reference: string): string {
  const begin = document.indexOf(BEGIN_MARKER);
  const end = document.indexOf(END_MARKER);
  if (begin < 0 || end < begin)
    throw new Error(`${REFERENCE_DOCUMENT} lacks the markers ${BEGIN_MARKER} and ${END_MARKER}`);
  return `${document.slice(0, begin + BEGIN_MARKER.length)}\n\n${reference}\n\n${document.slice(end)}`;
}

function main(): void {
  const before = readFileSync(REFERENCE_DOCUMENT, 'utf8');
  const after = withReference(before, configReference());
  if (after === before) {
    console.log(`${REFERENCE_DOCUMENT} is up to date`);
    return;
  }
  writeFileSync(REFERENCE_DOCUMENT, after);
  console.log(`${REFERENCE_DOCUMENT} rewritten from the configuration schema`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
