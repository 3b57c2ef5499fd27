import { z } from 'zod';
import { boundedText, timestamp, u64DecimalString } from './primitives.schema';
import { SCHEMA_VERSIONS } from './topics';

export const SampleSourceSchema = z.enum(['docker', 'libvirt']);
export const ResourceKindSchema = z.enum(['container', 'vm']);
export const LifecycleSchema = z.enum(['start', 'running', 'final']);

/**
 * The limits of a sample's fields (product.md, "Limits of a sample"). They bound what one message
 * can make rating store or compute: ids are btree keys (PostgreSQL refuses an index row over
 * ~2.7 kB), numbers stay exact in the units rating converts them to.
 */
export const SAMPLE_LIMITS = {
  /** sampleId, resource.id, resource.instanceId: UTF-8 bytes. */
  idBytes: 256,
  tenantIdBytes: 128,
  /** A DNS name is at most 253 characters. */
  hostBytes: 253,
  nameBytes: 512,
  /** resource.image: a Docker image reference (repository, tag and digest). */
  imageBytes: 512,
  /** resource.flavour: a VM's flavour (e.g. Nova's `m1.small`). */
  flavourBytes: 255,
  /** A millicore (Kubernetes' smallest CPU unit) up to 65,536 cores. */
  minAllocationCores: 0.001,
  maxAllocationCores: 65_536,
  maxHostCores: 65_536,
  /** Byte counts are JSON numbers: exact up to 2^53 - 1 (8 PiB). */
  maxBytes: Number.MAX_SAFE_INTEGER,
  /** `sequence`: a JSON number, exact up to 2^53 - 1. */
  maxSequence: Number.MAX_SAFE_INTEGER,
  /** `intervalMs`: 1 ms … 1 day between two running samples. */
  maxIntervalMs: 86_400_000,
  /** `thinned`: samples dropped before this one (a spool's bound makes millions the most). */
  maxThinned: 1_000_000_000,
  /** `inferred.reason`: a short code. */
  reasonBytes: 64,
} as const;

/** Why a sample was inferred rather than read; open (a code), ours below. */
export const INFERRED_REASONS = {
  /**
   * vm-collector: the domain was gone when a restarted collector looked; the sample repeats its
   * last reading from before the restart.
   */
  collectorRestart: 'collector-restart',
} as const;

/**
 * A sample the collector did not read but inferred (product.md, "Wire formats"): its counters are
 * the last reading, taken at `lastSeenAt` (the last moment the collector proved the resource
 * existed); observedAt is that time, or 1 ms later when that reading was already published as a
 * sample of its own. `detectedAt` is when the collector found the resource gone. What happened between the
 * two was not seen: rating records that tail as a gap, bills nothing for it.
 */
export const InferredSchema = z.looseObject({
  reason: boundedText(SAMPLE_LIMITS.reasonBytes),
  lastSeenAt: timestamp,
  detectedAt: timestamp,
});
export type Inferred = z.infer<typeof InferredSchema>;

const id = boundedText(SAMPLE_LIMITS.idBytes);
const cores = z
  .number()
  .min(SAMPLE_LIMITS.minAllocationCores)
  .max(SAMPLE_LIMITS.maxAllocationCores);
// zod 4's int() is a safe integer: at most SAMPLE_LIMITS.maxBytes.
const bytes = z.number().int();

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
    sampleId: id,
    source: SampleSourceSchema,
    host: boundedText(SAMPLE_LIMITS.hostBytes),
    resource: z.looseObject({
      kind: ResourceKindSchema,
      id,
      name: boundedText(SAMPLE_LIMITS.nameBytes, { allowEmpty: true }),
      /** Optional: the container's image as its engine names it (`local/busybox:1`). */
      image: boundedText(SAMPLE_LIMITS.imageBytes).optional(),
      /** Optional: the VM's flavour where the hypervisor knows one (Nova's `m1.small`). */
      flavour: boundedText(SAMPLE_LIMITS.flavourBytes).optional(),
      tenantId: boundedText(SAMPLE_LIMITS.tenantIdBytes),
      /** Changes whenever the counters restart (container restart, VM boot). */
      instanceId: id,
      startedAt: timestamp,
    }),
    observedAt: timestamp,
    /**
     * Optional: the sample's number within its instance as one collector run published it (0 for
     * the first, +1 per sample), so a consumer sees order and loss independently of the clocks.
     * It starts again at 0 when the collector restarts. Rating does not use it (yet).
     */
    sequence: z.number().int().nonnegative().max(SAMPLE_LIMITS.maxSequence).optional(),
    lifecycle: LifecycleSchema,
    /**
     * Optional: the collector's running-sample interval (ms) for this resource, so a consumer
     * knows how many samples to expect over the instance's life (completeness, ADR 0013).
     */
    intervalMs: z.number().int().min(1).max(SAMPLE_LIMITS.maxIntervalMs).optional(),
    /**
     * Optional: running samples of this instance a collector's spool dropped (thinned, when full)
     * right before this one. They are missing, not lost CPU: the cumulative counter carries it.
     */
    thinned: z.number().int().nonnegative().max(SAMPLE_LIMITS.maxThinned).optional(),
    /** Optional, only on a `final` sample: the sample was inferred, not read (InferredSchema). */
    inferred: InferredSchema.optional(),
    cpu: z.looseObject({
      /** Cumulative CPU ns since the instance started. */
      usageNs: u64DecimalString,
      /** vCPUs or the CPU limit in cores; null when unlimited. */
      allocationCores: cores.nullable(),
      /**
       * The host's cores (optional): the most an unlimited resource can use, so rating can tell a
       * possible reading from an impossible one.
       */
      hostCores: z.number().int().min(1).max(SAMPLE_LIMITS.maxHostCores).optional(),
    }),
    memory: z.looseObject({
      usageBytes: bytes.nonnegative(),
      /** Memory limit or domain memory; null when unlimited. */
      allocationBytes: bytes.positive().nullable(),
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
    const inferred = sample.inferred;
    if (inferred === undefined) return;
    if (sample.lifecycle !== 'final') {
      ctx.addIssue({
        code: 'custom',
        path: ['inferred'],
        message: 'only a final sample may be inferred',
        input: inferred,
      });
    }
    if (Date.parse(inferred.lastSeenAt) > Date.parse(sample.observedAt)) {
      ctx.addIssue({
        code: 'custom',
        path: ['inferred', 'lastSeenAt'],
        message: 'must not be after observedAt (the inferred sample repeats the last reading)',
        input: inferred.lastSeenAt,
      });
    }
    if (Date.parse(inferred.detectedAt) < Date.parse(sample.observedAt)) {
      ctx.addIssue({
        code: 'custom',
        path: ['inferred', 'detectedAt'],
        message: 'must not be before observedAt',
        input: inferred.detectedAt,
      });
    }
  });

export type SampleEvent = z.infer<typeof SampleEventSchema>;

/** Kafka key of a sample: the resource id, so one resource's samples stay in order. */
export function sampleKey(sample: SampleEvent): string {
  return sample.resource.id;
}
