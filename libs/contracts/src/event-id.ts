import { hash } from 'node:crypto';
import { ContractViolationError } from './contract.errors';
import { type ResourceKind, type SampleSource } from './sample.event';

export interface SampleIdentity {
  source: SampleSource;
  host: string;
  resourceId: string;
  instanceId: string;
  observedAt: Date | string;
}

/**
 * The sample id: sha256 hex over what identifies one reading.
 *
 * Deterministic on purpose: it is the dedup key. A collector that re-publishes a spooled
 * sample after a broker outage, or a replay of the topic, yields the same id, and rating
 * counts that reading once. A random id would make every retry look like a new reading.
 * observedAt is normalised to UTC milliseconds, so "…Z" and "+00:00" spellings agree.
 */
export function sampleIdOf(identity: SampleIdentity): string {
  return sha256Hex([
    'metering.sample.v1',
    identity.source,
    identity.host,
    identity.resourceId,
    identity.instanceId,
    utcMillis(identity.observedAt, 'observedAt'),
  ]);
}

export interface UsageIdentity {
  tenantId: string;
  resourceKind: ResourceKind;
  resourceId: string;
  instanceId: string;
  intervalStart: Date | string;
  intervalEnd: Date | string;
}

/**
 * The usage id: sha256 hex over the rated interval. Rating the same interval again (a
 * restart before the offset commit, a replay) gives the same id, so downstream consumers
 * upsert instead of double counting. The plan is not part of it: a re-rating under a
 * corrected plan replaces the interval rather than adding to it.
 */
export function usageIdOf(identity: UsageIdentity): string {
  return sha256Hex([
    'billing.usage.v1',
    identity.tenantId,
    identity.resourceKind,
    identity.resourceId,
    identity.instanceId,
    utcMillis(identity.intervalStart, 'intervalStart'),
    utcMillis(identity.intervalEnd, 'intervalEnd'),
  ]);
}

// A JSON array is an unambiguous encoding: no separator can be forged by a host or id
// containing it ("a|b" + "c" vs "a" + "b|c"). One-shot hash(): no Hash object per id (a
// collector makes one per sample).
function sha256Hex(parts: string[]): string {
  return hash('sha256', JSON.stringify(parts), 'hex');
}

function utcMillis(value: Date | string, field: string): string {
  const date = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) {
    throw new ContractViolationError({
      code: 'SCHEMA_VIOLATION',
      path: field,
      message: `${field}: must be a valid timestamp`,
    });
  }
  return date.toISOString();
}
