#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, describeConfig, loadConfig, type BridgeConfig } from './config/load.js';
import { openAssociation } from './dimse/client.js';
import { formatStatus, Status } from './dimse/status.js';
import { StudyIndex } from './index/study-index.js';
import { rebuildIndex } from './ingest/rebuild.js';
import { PacsClient } from './retrieve/pacs-client.js';
import { OutboxStore } from './fse/outbox-store.js';
import { reportKey } from './fse/report.js';
import type { ReportState } from './fse/report-state.js';
import { ReportStore } from './fse/report-store.js';
import { createLogger } from './logger.js';
import { createObjectStore } from './storage/create-store.js';
import { Progress } from './progress.js';

const USAGE = `Usage: bridge <command> [options]

Commands:
  list [--study UID] [--series UID]   what the index holds: studies, their series, instances
  echo [--host H] [--port P] [--called-ae AE] [--ae-title AE]
                                      C-ECHO to a DICOM node (default: this bridge,
                                      calling as its own AE title)
  echo --node NAME                    C-ECHO to a configured PACS node
  find --node NAME [--accession A] [--patient-id P] [--study UID]
                                      study-level C-FIND at a configured PACS node
  report --accession A | --report CODCL/CODDOC
                                      link state of reports: accessions, studies, manifest
  outbox dead                         FSE notifications that failed for good (dead letters)
  outbox resend ID | --all            send dead letters again (the daemon picks them up)
  rebuild-index [--progress]          rebuild the index from what storage holds; progress
                                      lines on stderr when it is a terminal (--progress: always)
  config                              print the effective configuration (secrets hidden)

Options:
  --config FILE                       configuration file (as for the daemon)
`;

function table(rows: Array<Record<string, unknown>>): string {
  if (rows.length === 0) return '(none)';
  const keys = Object.keys(rows[0]!);
  const cells = rows.map((row) =>
    keys.map((key) => (row[key] === undefined || row[key] === null ? '' : String(row[key]))),
  );
  const widths = keys.map((key, i) => Math.max(key.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]): string =>
    values
      .map((value, i) => value.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(keys), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

function list(config: BridgeConfig, study: string | undefined, series: string | undefined): void {
  const index = StudyIndex.open(config.index.path);
  try {
    if (series) {
      console.log(
        table(
          index.listInstances(series).map((i) => ({
            sopInstanceUid: i.sopInstanceUid,
            number: i.instanceNumber,
            transferSyntax: i.transferSyntaxUid,
            bytes: i.sizeBytes,
            receivedAt: i.receivedAt,
            from: i.callingAe,
          })),
        ),
      );
    } else if (study) {
      console.log(
        table(
          index.listSeries(study).map((s) => ({
            seriesUid: s.seriesUid,
            modality: s.modality,
            number: s.seriesNumber,
            description: s.description,
            instances: s.instanceCount,
          })),
        ),
      );
    } else {
      const studies = index.listStudies();
      console.log(
        table(
          studies.map((s) => ({
            studyUid: s.studyUid,
            patientId: s.patientId,
            accession: s.accessionNumber,
            date: s.studyDate,
            modalities: s.modalities.join(','),
            series: s.seriesCount,
            instances: s.instanceCount,
          })),
        ),
      );
      console.log(`\n${studies.length} studies, ${index.countInstances()} instances`);
    }
  } finally {
    index.close();
  }
}

async function echo(
  config: BridgeConfig,
  options: { host?: string; port?: string; calledAe?: string; aeTitle?: string },
): Promise<number> {
  const log = createLogger('warn');
  const host =
    options.host ??
    (config.dicom.host === '0.0.0.0' || config.dicom.host === '::'
      ? '127.0.0.1'
      : config.dicom.host);
  const port = Number(options.port ?? config.dicom.port);
  const calledAe = options.calledAe ?? config.dicom.aeTitles[0]!;
  const callingAe = options.aeTitle ?? config.dicom.aeTitles[0]!;
  const association = await openAssociation({
    host,
    port,
    callingAe,
    calledAe,
    contexts: [
      {
        abstractSyntax: '1.2.840.10008.1.1',
        transferSyntaxes: ['1.2.840.10008.1.2.1', '1.2.840.10008.1.2'],
      },
    ],
    log,
  });
  const status = await association.echo();
  await association.release();
  console.log(`C-ECHO ${callingAe} -> ${calledAe}@${host}:${port}: status ${formatStatus(status)}`);
  return status === Status.Success ? 0 : 1;
}

function pacsClient(config: BridgeConfig, name: string | undefined): PacsClient {
  const node = config.pacs.nodes.find((n) => n.name === name);
  if (!node) {
    const known = config.pacs.nodes.map((n) => n.name).join(', ') || 'none configured';
    throw new Error(`unknown PACS node ${JSON.stringify(name ?? '')} (nodes: ${known})`);
  }
  return new PacsClient(node, node.callingAeTitle, createLogger('warn'));
}

async function echoNode(config: BridgeConfig, name: string | undefined): Promise<number> {
  const client = pacsClient(config, name);
  const { aeTitle, host, port } = client.node;
  await client.echo();
  console.log(`C-ECHO ${client.node.callingAeTitle} -> ${aeTitle}@${host}:${port}: success`);
  return 0;
}

async function find(
  config: BridgeConfig,
  name: string | undefined,
  query: { accessionNumber?: string; patientId?: string; studyInstanceUid?: string },
): Promise<number> {
  const studies = await pacsClient(config, name).findStudies(query);
  console.log(
    table(
      studies.map((s) => ({
        studyUid: s.studyInstanceUid,
        patientId: s.patientId,
        issuer: s.issuerOfPatientId,
        accession: s.accessionNumber,
        date: s.studyDate,
        modalities: s.modalitiesInStudy.join(','),
        instances: s.numberOfStudyRelatedInstances,
      })),
    ),
  );
  console.log(`\n${studies.length} studies`);
  return 0;
}

function reportState(config: BridgeConfig, accession?: string, report?: string): number {
  const reports = ReportStore.open(config.index.path);
  try {
    let states: ReportState[];
    if (report) {
      const [codCL, ...rest] = report.split('/');
      const state = reports.get(
        reportKey({ codCL: codCL ?? '', codDocumentoDipartimentale: rest.join('/') }),
      );
      states = state ? [state] : [];
    } else if (accession) states = reports.byAccession(accession);
    else throw new Error('give --accession A or --report CODCL/CODDOC');
    for (const state of states) {
      console.log(
        `report ${state.reportKey} (version ${state.version}, ${state.source}): ${state.status}`,
      );
      console.log(
        table(
          state.accessions.map((a) => ({
            accession: a.accessionNumber,
            issuer: a.issuer,
            status: a.status,
            dataNotificaPacs: a.dataNotificaPacs,
            studies: a.studies.map((s) => `${s.studyInstanceUid} (${s.instances})`).join(' '),
            error: a.lastError,
          })),
        ),
      );
      if (state.manifest)
        console.log(`manifest ${state.manifest.sopInstanceUid}: ${state.manifest.storageKey}`);
      console.log('');
    }
    console.log(`${states.length} reports`);
    return states.length > 0 ? 0 : 1;
  } finally {
    reports.close();
  }
}

function outbox(
  config: BridgeConfig,
  action: string | undefined,
  id: string | undefined,
  all: boolean,
): number {
  const store = OutboxStore.open(config.index.path);
  try {
    if (action === 'dead') {
      const dead = store.listDeadLetters();
      console.log(table(dead.map((d) => ({ ...d }) as Record<string, unknown>)));
      console.log(`\n${dead.length} dead letters`);
      return 0;
    }
    if (action === 'resend') {
      if (all) {
        console.log(`resent: ${store.resendAllDead().join(', ') || 'none'}`);
        return 0;
      }
      const item = store.resend(Number(id));
      console.log(`notification ${item.id} is pending again`);
      return 0;
    }
    throw new Error('outbox: give dead, resend ID or resend --all');
  } finally {
    store.close();
  }
}

async function rebuild(config: BridgeConfig, forceProgress: boolean): Promise<number> {
  const log = createLogger(config.log.level);
  const store = await createObjectStore(config.storage, log);
  const index = StudyIndex.open(config.index.path, log);
  const progress = new Progress({
    label: 'rebuild-index',
    unit: 'objects read',
    stream: process.stderr,
    everyItems: 1000,
    everyMs: 5000,
    force: forceProgress || undefined,
  });
  try {
    const report = await rebuildIndex(store, index, log, 64 * 1024 * 1024, (counts) =>
      progress.tick(1, `${counts.skipped} skipped`),
    );
    progress.done(`${report.indexed} indexed, ${report.skipped} skipped`);
    console.log(
      `index rebuilt: ${report.indexed} instances indexed, ${report.skipped} objects skipped`,
    );
    return report.skipped === 0 ? 0 : 1;
  } finally {
    index.close();
    await store.close();
  }
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      study: { type: 'string' },
      series: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'called-ae': { type: 'string' },
      'ae-title': { type: 'string' },
      node: { type: 'string' },
      accession: { type: 'string' },
      'patient-id': { type: 'string' },
      report: { type: 'string' },
      all: { type: 'boolean' },
      progress: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  if (command === 'config') {
    console.log(describeConfig({ file: values.config }));
    return 0;
  }
  const config = loadConfig({ file: values.config });
  switch (command) {
    case 'list':
      list(config, values.study, values.series);
      return 0;
    case 'echo':
      if (values.node !== undefined) return echoNode(config, values.node);
      return echo(config, {
        host: values.host,
        port: values.port,
        calledAe: values['called-ae'],
        aeTitle: values['ae-title'],
      });
    case 'find':
      return find(config, values.node, {
        accessionNumber: values.accession,
        patientId: values['patient-id'],
        studyInstanceUid: values.study,
      });
    case 'report':
      return reportState(config, values.accession, values.report);
    case 'outbox':
      return outbox(config, positionals[1], positionals[2], values.all ?? false);
    case 'rebuild-index':
      return rebuild(config, values.progress ?? false);
    default:
      console.error(`unknown command: ${command}\n\n${USAGE}`);
      return 2;
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(
      error instanceof ConfigError
        ? `invalid configuration: ${error.message}`
        : `error: ${(error as Error).message}`,
    );
    process.exit(error instanceof ConfigError ? 2 : 1);
  },
);
