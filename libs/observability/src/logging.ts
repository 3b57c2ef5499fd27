// `@metering/observability/logging`: the loggers alone, without the package's index (Nest,
// prom-client, rxjs), for a thread that only logs (rating's usage producer, libs/kafka's producer
// entry); with them secretWeakness, which libs/kafka's settings check on that path too.
export {
  createLogger,
  createRootLogger,
  isLogLevel,
  DEFAULT_REDACT_PATHS,
  LOG_LEVELS,
  REDACTED,
  type Logger,
  type LoggerOptions,
  type LogLevel,
} from './logger.factory';
export {
  secretWeakness,
  MIN_SECRET_LENGTH,
  MIN_DISTINCT_CHARACTERS,
  MIN_BITS_PER_CHARACTER,
  PLACEHOLDER_MARKERS,
} from './secret-strength';
