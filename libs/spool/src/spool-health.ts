// What the spooled publisher reports about itself: the health snapshot and its status, and the
// readiness and liveness indicators a collector registers with its HealthRegistry.
import { type HealthIndicator } from '@metering/observability';

/**
 * `up`: samples flow. `degraded`: Kafka is failing or slow and samples are spooling (the
 * collector is doing its job; do not restart it). `down`: samples are at risk (the spool
 * cannot be written) or the publisher is closed.
 */
export type SpoolHealthStatus = 'up' | 'degraded' | 'down';

export interface SpoolHealth {
  status: SpoolHealthStatus;
  /** Samples on disk not yet acknowledged by Kafka. */
  depth: number;
  /** Samples in memory waiting for the next disk append. */
  pending: number;
  bytes: number;
  /** Age of the oldest sample not yet acknowledged by Kafka; 0 when all are. */
  oldestUnsentAgeMs: number;
  consecutiveSendFailures: number;
  /** The last send error while the current failure streak lasts; null after a success. */
  lastSendError: string | null;
  lastSendErrorAt: string | null;
  lastSentAt: string | null;
  /** The last spool write error while writes are failing. */
  spoolWriteError: string | null;
}

/**
 * For HealthRegistry.register('spool', …): `degraded` reports as up (with the detail),
 * because restarting a collector does not bring Kafka back and the spool is doing its job.
 */
export function spoolReadiness(health: () => SpoolHealth): HealthIndicator {
  return () => {
    const current = health();
    return Promise.resolve({
      status: current.status === 'down' ? 'down' : 'up',
      detail: { ...current },
    });
  };
}

/**
 * For HealthRegistry.register(…, { probe: 'liveness' }): down only once the Kafka forwarder
 * stopped for good (a bug: it handles every Kafka and disk error itself, so outages never get
 * here). A restart cures it: the next start resumes the spool from disk.
 */
export function forwarderLiveness(forwarderError: () => string | null): HealthIndicator {
  return () => {
    const error = forwarderError();
    return Promise.resolve(
      error === null ? { status: 'up' } : { status: 'down', detail: { forwarderError: error } },
    );
  };
}

export function isoOrNull(epochMs: number | null): string | null {
  return epochMs === null ? null : new Date(epochMs).toISOString();
}
