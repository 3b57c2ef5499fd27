export {
  CONFIG_EXIT_CODE,
  ConfigError,
  type ConfigErrorOptions,
  type ConfigProblem,
} from './config-error';
export {
  type Env,
  fromLib,
  type LibConfigErrorClass,
  loadOrExit,
  parseEnv,
  presentEnv,
} from './load';
export { boolean, durationMs, integer, list } from './parsers';
export { collectorSettings } from './collector.settings';
export { DATABASE_SETTINGS, type DatabaseConfig, databaseConfig } from './database.settings';
export { listenHost, listenPort, LOG_LEVELS, type LogLevel, logLevel, nodeEnv } from './settings';
