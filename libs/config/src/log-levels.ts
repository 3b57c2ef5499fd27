// `@metering/config/log-levels`: the log levels alone, without the package's index (zod and the
// settings' parsers), for a thread that only logs (rating's usage producer).

/** The log levels a service may be started with (LOG_LEVEL); pino's, plus `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
