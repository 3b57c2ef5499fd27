import { z } from 'zod';
import {
  currencyCode,
  nonEmptyString,
  nonNegativeDecimalString,
  positiveInt,
  timestamp,
} from './primitives.schema';
import { ResourceKindSchema } from './sample.event';
import { SCHEMA_VERSIONS } from './topics';

/**
 * One rated interval of one resource instance on `billing.usage.v1` (key: tenant id).
 *
 * Quantities and amounts are decimal strings at full precision: rounding to the currency's
 * minor unit happens once, at invoice line level, never per interval. `total` is
 * `cpu + memory`.
 */
export const UsageEventSchema = z
  .looseObject({
    schema: z.literal(SCHEMA_VERSIONS.usage),
    /** Deterministic (see usageIdOf): re-rating the same interval yields the same id. */
    usageId: nonEmptyString,
    tenantId: nonEmptyString,
    resource: z.looseObject({
      kind: ResourceKindSchema,
      id: nonEmptyString,
      instanceId: nonEmptyString,
    }),
    interval: z.looseObject({
      start: timestamp,
      end: timestamp,
    }),
    cpuCoreSeconds: nonNegativeDecimalString,
    memoryGibSeconds: nonNegativeDecimalString,
    amounts: z.looseObject({
      currency: currencyCode,
      cpu: nonNegativeDecimalString,
      memory: nonNegativeDecimalString,
      total: nonNegativeDecimalString,
    }),
    planId: nonEmptyString,
    planVersion: positiveInt,
    ratedAt: timestamp,
  })
  .superRefine((usage, ctx) => {
    if (Date.parse(usage.interval.end) <= Date.parse(usage.interval.start)) {
      ctx.addIssue({
        code: 'custom',
        path: ['interval', 'end'],
        message: 'must be after interval.start',
        input: usage.interval.end,
      });
    }
  });

export type UsageEvent = z.infer<typeof UsageEventSchema>;

/** Kafka key of a usage event: the tenant id. */
export function usageKey(usage: UsageEvent): string {
  return usage.tenantId;
}
