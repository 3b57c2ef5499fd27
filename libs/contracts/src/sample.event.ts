import { z } from 'zod';
import {
  nonEmptyString,
  nonNegativeInt,
  positiveInt,
  timestamp,
  u64DecimalString,
} from './primitives.schema';
import { SCHEMA_VERSIONS } from './topics';

export const SampleSourceSchema = z.enum(['docker', 'libvirt']);
export const ResourceKindSchema = z.enum(['container', 'vm']);
export const LifecycleSchema = z.enum(['start', 'running', 'final']);

export type SampleSource = z.infer<typeof SampleSourceSchema>;
export type ResourceKind = z.infer<typeof ResourceKindSchema>;
export type Lifecycle = z.infer<typeof LifecycleSchema>;

/**
 * One reading of one container or VM on `metering.samples.v1` (product.md, "Wire formats").
 *
 * Every object is loose: unknown fields are kept, so a newer producer can add fields without
 * breaking this version's consumers, and a re-published sample keeps what it carried.
 */
export const SampleEventSchema = z
  .looseObject({
    schema: z.literal(SCHEMA_VERSIONS.sample),
    /** The dedup key; see sampleIdOf. Third-party producers may use their own unique ids. */
    sampleId: nonEmptyString,
    source: SampleSourceSchema,
    host: nonEmptyString,
    resource: z.looseObject({
      kind: ResourceKindSchema,
      id: nonEmptyString,
      name: z.string(),
      tenantId: nonEmptyString,
      /** Changes whenever the counters restart (container restart, VM boot). */
      instanceId: nonEmptyString,
      startedAt: timestamp,
    }),
    observedAt: timestamp,
    lifecycle: LifecycleSchema,
    cpu: z.looseObject({
      /** Cumulative CPU ns since the instance started. */
      usageNs: u64DecimalString,
      /** vCPUs or the CPU limit in cores; null when unlimited. */
      allocationCores: z.number().positive().nullable(),
    }),
    memory: z.looseObject({
      usageBytes: nonNegativeInt,
      /** Memory limit or domain memory; null when unlimited. */
      allocationBytes: positiveInt.nullable(),
    }),
  })
  .superRefine((sample, ctx) => {
    // Rating integrates from startedAt to observedAt; a reading from before the instance
    // started would be negative usage.
    if (Date.parse(sample.observedAt) < Date.parse(sample.resource.startedAt)) {
      ctx.addIssue({
        code: 'custom',
        path: ['observedAt'],
        message: 'must not be before resource.startedAt',
        input: sample.observedAt,
      });
    }
  });

export type SampleEvent = z.infer<typeof SampleEventSchema>;

/** Kafka key of a sample: the resource id, so one resource's samples stay in order. */
export function sampleKey(sample: SampleEvent): string {
  return sample.resource.id;
}
