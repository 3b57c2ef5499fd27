import { logLevel, type LogEntry, type logCreator } from 'kafkajs';
import { createLogger, type Logger } from '@metering/observability/logging';

/** The kafkajs level that lets through exactly what the pino logger would write. */
export function kafkajsLogLevel(logger: Logger): logLevel {
  switch (logger.level) {
    case 'silent':
      return logLevel.NOTHING;
    case 'fatal':
    case 'error':
      return logLevel.ERROR;
    case 'warn':
      return logLevel.WARN;
    case 'info':
      return logLevel.INFO;
    case 'debug':
    case 'trace':
      return logLevel.DEBUG;
    default:
      // A custom pino level: let everything through and let pino filter.
      return logLevel.DEBUG;
  }
}

/**
 * Routes kafkajs's log lines into pino with their level, under context `kafkajs` and
 * kafkajs's namespace (Consumer, Producer, Connection...). kafkajs's own timestamp and
 * logger name are dropped: pino stamps the line.
 */
export function kafkajsLogCreator(root: Logger): logCreator {
  const logger = createLogger('kafkajs', { parent: root });
  return () => (entry: LogEntry) => {
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- dropped on purpose
    const { timestamp, logger: _name, message, ...extra } = entry.log;
    const fields: Record<string, unknown> = { namespace: entry.namespace, ...extra };
    switch (entry.level) {
      case logLevel.ERROR:
        logger.error(fields, message);
        return;
      case logLevel.WARN:
        logger.warn(fields, message);
        return;
      case logLevel.INFO:
        logger.info(fields, message);
        return;
      case logLevel.DEBUG:
        logger.debug(fields, message);
        return;
      case logLevel.NOTHING:
        return;
    }
  };
}
