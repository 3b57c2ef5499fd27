import { hostname } from 'node:os';
import { LOG_LEVELS, type LogLevel } from '@metering/config/log-levels';
import { pino, type DestinationStream, type Logger, type LoggerOptions as PinoOptions } from 'pino';

export type { Logger } from 'pino';

// Levels accepted from configuration (LOG_LEVEL, libs/config); `silent` turns logging off.
export { LOG_LEVELS, type LogLevel };

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

/**
 * Field names that hold credentials anywhere in this product: API keys (billing API), the
 * admin key, bearer tokens, database and SASL passwords. Matched at the top level and up to
 * two levels deep, because redaction paths have no recursive wildcard and deeper scans
 * would cost every log call.
 */
const SECRET_FIELDS = [
  'authorization',
  'password',
  'passwd',
  'secret',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'api_key',
  'adminApiKey',
  'clientSecret',
  'privateKey',
  'secretAccessKey',
] as const;

export const DEFAULT_REDACT_PATHS: readonly string[] = [
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
  // HTTP headers as logged by request serializers: names are lowercase there.
  'headers.cookie',
  'headers["x-api-key"]',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
];

export const REDACTED = '[REDACTED]';

export interface LoggerOptions {
  /** Minimum level written; from the service's validated configuration. Default `info`. */
  level?: LogLevel | undefined;
  /** Added to every line as `service`, so lines from several services can be told apart. */
  serviceName?: string;
  /** Extra redaction paths (pino/fast-redact syntax), on top of DEFAULT_REDACT_PATHS. */
  redact?: readonly string[];
  /** Where lines go; default stdout, written synchronously. Tests pass an in-memory stream. */
  destination?: DestinationStream;
  /**
   * Derive from this logger instead of creating a new root: shares its destination, level
   * and bindings. The other options are ignored then.
   */
  parent?: Logger;
}

/**
 * A root logger: JSON lines with ISO time, level names instead of numbers and secrets
 * redacted. It carries no `context`, because pino appends child bindings rather than
 * replacing them: a context on the root would be duplicated in every child's lines.
 */
export function createRootLogger(options: Omit<LoggerOptions, 'parent'> = {}): Logger {
  const pinoOptions: PinoOptions = {
    level: options.level ?? 'info',
    base: {
      pid: process.pid,
      hostname: hostname(),
      ...(options.serviceName === undefined ? {} : { service: options.serviceName }),
    },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...DEFAULT_REDACT_PATHS, ...(options.redact ?? [])], censor: REDACTED },
  };
  // Synchronous stdout: the last lines before a crash or a signal-triggered exit are the
  // ones that explain it, and pino's default asynchronous stream can lose them. Log volume
  // here (per batch, not per sample) makes the cost irrelevant.
  return pino(pinoOptions, options.destination ?? pino.destination({ dest: 1, sync: true }));
}

/**
 * A logger for one class or component: every line carries `context` (use the class name).
 * Create one root per process and pass it as `parent`; without a parent a new root is made.
 */
export function createLogger(context: string, options: LoggerOptions = {}): Logger {
  const root = options.parent ?? createRootLogger(options);
  return root.child({ context });
}
