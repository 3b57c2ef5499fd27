import { type Logger, type LogLevel } from './logger.factory';
import { type MetricsRegistry } from './metrics.registry';

export interface ObservabilityModuleOptions {
  /** Service name: `service` field on logs and label on metrics, metric name prefix. */
  serviceName: string;
  /** Level of the root logger created when `logger` is not given. Default `info`. */
  logLevel?: LogLevel;
  /** A root logger created in main.ts (before Nest starts), to share one destination. */
  logger?: Logger;
  /** A registry created in main.ts, for metrics recorded outside Nest's container. */
  metrics?: MetricsRegistry | undefined;
  /** Collect process metrics when the module creates the registry. Default true. */
  collectDefaultMetrics?: boolean;
  /** Bound for each health indicator, in milliseconds. Default 3000; keep probe timeouts above it. */
  healthCheckTimeoutMs?: number;
  /** How long a health indicator's answer is reused, in milliseconds. Default 1000; 0 = never. */
  healthCacheMs?: number;
}

/** Injection token of the service's root pino logger (no `context` binding). */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');
export const OBSERVABILITY_OPTIONS = Symbol('OBSERVABILITY_OPTIONS');
