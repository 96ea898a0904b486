#!/usr/bin/env node
import { startDaemon } from './app.js';
import { OptionsExit, parseConfig, type Config } from './base/config.js';
import { createLogger } from './base/logger.js';
import { StartupError } from './base/startup-error.js';
import { sdNotify, socketActivationFd, startWatchdog } from './systemd.js';

/** The command line's Config; a usage error or --help/--version exits here (commander printed it). */
function parsedOrExit(argv: string[]): Config {
  try {
    return parseConfig(argv);
  } catch (error) {
    if (error instanceof OptionsExit) process.exit(error.exitCode);
    throw error;
  }
}

// Files and sockets are private unless made otherwise on purpose.
process.umask(0o077);

const config = parsedOrExit(process.argv.slice(2));
const log = createLogger(config);

// Node opens an inspector on SIGUSR1 unless the process handles it: that would expose secrets.
process.on('SIGUSR1', () => log.info('SIGUSR1 ignored'));
process.on('SIGHUP', () => log.info('SIGHUP: logs go to stdout, nothing to reopen'));
process.on('uncaughtException', (error) => {
  log.fatal({ err: error }, 'uncaught exception: exiting');
  process.exit(70);
});
process.on('unhandledRejection', (error) => {
  log.fatal({ err: error }, 'unhandled rejection: exiting');
  process.exit(70);
});

try {
  const listenFd = socketActivationFd();
  const daemon = await startDaemon(config, log, listenFd === undefined ? {} : { listenFd });
  sdNotify(`READY=1\nSTATUS=serving on ${config.socketPath}\nMAINPID=${process.pid}`);
  startWatchdog();
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    sdNotify('STOPPING=1');
    void daemon.shutdown(signal).then(() => process.exit(0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
} catch (error) {
  if (error instanceof StartupError) {
    log.fatal(error.message);
  } else {
    log.fatal({ err: error }, 'start-up failed');
  }
  process.exit(1);
}
