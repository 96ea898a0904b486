import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config.js';

/**
 * Fields that may carry a password, a session token or decrypted data. The daemon never logs
 * params or values on purpose; redaction is the second line, for any object that slips into a log
 * call by mistake, at the top level and two levels down.
 */
export const SECRET_FIELDS = ['password', 'oldPassword', 'newPassword', 'session', 'data', 'patch', 'params'] as const;

const redactPaths = SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]);

export type { Logger };

export function createLogger(config: Pick<Config, 'logLevel' | 'logFormat'>): Logger {
  const options = {
    level: config.logLevel,
    base: { pid: process.pid },
    redact: { paths: redactPaths, censor: '[redacted]' },
  };
  if (config.logFormat === 'pretty') {
    return pino(options, pretty({ colorize: true, sync: true, ignore: 'pid,hostname' }));
  }
  // Synchronous writes: the log lines leading up to a crash are never lost in a buffer.
  return pino(options, pino.destination({ fd: 1, sync: true }));
}
