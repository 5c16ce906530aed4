import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type BridgeConfig } from './config/load.js';
import { createLogger } from './logger.js';
import { startApp } from './app.js';

/** Process exit codes (documented in the README). */
export const ExitCode = {
  Ok: 0,
  Failure: 1,
  InvalidConfig: 2,
  Forced: 3,
} as const;

function configFromArgs(argv: string[]): BridgeConfig {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string', short: 'c' } },
    strict: true,
  });
  return loadConfig({ file: values.config });
}

async function main(): Promise<void> {
  let config: BridgeConfig;
  try {
    config = configFromArgs(process.argv.slice(2));
  } catch (error) {
    const message =
      error instanceof ConfigError
        ? `invalid configuration: ${error.message}`
        : (error as Error).message;
    process.stderr.write(`${message}\n`);
    process.exit(ExitCode.InvalidConfig);
  }
  const log = createLogger(config.log.level);
  let app: Awaited<ReturnType<typeof startApp>>;
  try {
    app = await startApp(config, log);
  } catch (error) {
    log.fatal({ err: error }, 'bridge could not start');
    process.exit(ExitCode.Failure);
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: stopping now');
      process.exit(ExitCode.Forced);
    }
    log.info({ signal }, 'stopping: no new associations, open ones may finish');
    const force = setTimeout(() => {
      log.error('shutdown did not complete in time: stopping now');
      process.exit(ExitCode.Forced);
    }, config.shutdown.drainTimeoutMs + 15_000);
    force.unref();
    app.stop().then(
      () => {
        log.info('bridge stopped');
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        process.exit(ExitCode.Ok);
      },
      (error: unknown) => {
        log.error({ err: error }, 'error while stopping');
        process.exit(ExitCode.Failure);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

void main();
