// The loggers and secretWeakness: also alone, as @metering/observability/logging.
export * from './logging';
export type { Counter, Gauge, Histogram } from 'prom-client';
export { PinoNestLogger } from './pino-nest.logger';
export {
  MetricsRegistry,
  type MetricsRegistryOptions,
  type CounterOptions,
  type GaugeOptions,
  type HistogramOptions,
} from './metrics.registry';
export {
  HealthRegistry,
  type HealthCheckResult,
  type HealthDetail,
  type HealthIndicator,
  type HealthIndicatorResult,
  type HealthProbe,
  type HealthRegisterOptions,
  type HealthRegistryOptions,
  type HealthReport,
  type HealthStatus,
} from './health.registry';
export { ObservabilityModule } from './observability.module';
export {
  OBSERVABILITY_OPTIONS,
  ROOT_LOGGER,
  type ObservabilityModuleOptions,
} from './observability.options';
export { ObservabilityError, type ObservabilityErrorCode } from './observability.errors';
export { HealthController } from './health.controller';
export { MetricsController } from './metrics.controller';
export { backoffDelay, type BackoffPolicy } from './backoff';
export { ConcurrencyLimiter, mapConcurrent } from './concurrency-limiter';
