// `@metering/observability/resilience`: the retry and concurrency helpers alone, without the
// package's index (Nest, pino, prom-client), for pure code such as a service's domain/.
export { backoffDelay, type BackoffPolicy } from './backoff';
export { ConcurrencyLimiter, mapConcurrent } from './concurrency-limiter';
