import { z } from 'zod';
import { type DomainReading } from './domain-reading';

/**
 * What the collector remembers of an instance it follows, so that a restarted collector can tell
 * which ones ended while it was down (README, "Across restarts"). Plain JSON: times as ISO text,
 * counters as decimal strings.
 */
export interface FollowedInstance {
  readonly uri: string;
  readonly uuid: string;
  readonly domainId: number;
  readonly instanceId: string;
  readonly startedAt: Date;
  readonly cpuBaselineNs: bigint;
  readonly bootKey: string | null;
  /** The last reading: its counters are what an inferred final repeats, its time the last sight. */
  readonly last: DomainReading;
  readonly lastPublishedAt: Date;
}

/** The file's format version; another version is not read (logged, started afresh). */
export const FOLLOWED_VERSION = 1;

const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const decimal = z
  .string()
  .regex(/^\d{1,20}$/)
  .transform((s) => BigInt(s));
const text = z.string().max(4096);
const count = z.number().int().nonnegative();

const ReadingSchema = z.object({
  host: text,
  name: text,
  domainId: count,
  cpuTimeNs: decimal,
  vcpus: count,
  memoryBytes: count,
  maxMemoryBytes: count,
  tenantId: text.nullable(),
  flavour: text.nullable(),
  processExpected: z.boolean(),
  process: z
    .object({
      pid: count,
      bootKey: text,
      startedAt: isoDate,
      memoryBytes: count.nullable(),
    })
    .nullable(),
  observedAt: isoDate,
});

const InstanceSchema = z.object({
  uri: text,
  uuid: text,
  domainId: count,
  instanceId: text,
  startedAt: isoDate,
  cpuBaselineNs: decimal,
  bootKey: text.nullable(),
  lastPublishedAt: isoDate,
  last: ReadingSchema,
});

const FileSchema = z.object({
  version: z.literal(FOLLOWED_VERSION),
  instances: z.array(InstanceSchema).max(100_000),
});

/** The file's text for the instances followed now. */
export function encodeFollowed(instances: readonly FollowedInstance[]): string {
  return JSON.stringify({
    version: FOLLOWED_VERSION,
    instances: instances.map((i) => ({
      uri: i.uri,
      uuid: i.uuid,
      domainId: i.domainId,
      instanceId: i.instanceId,
      startedAt: i.startedAt.toISOString(),
      cpuBaselineNs: i.cpuBaselineNs.toString(),
      bootKey: i.bootKey,
      lastPublishedAt: i.lastPublishedAt.toISOString(),
      last: {
        host: i.last.host,
        name: i.last.name,
        domainId: i.last.domainId,
        cpuTimeNs: i.last.cpuTimeNs.toString(),
        vcpus: i.last.vcpus,
        memoryBytes: i.last.memoryBytes,
        maxMemoryBytes: i.last.maxMemoryBytes,
        tenantId: i.last.tenantId,
        flavour: i.last.flavour ?? null,
        processExpected: i.last.processExpected,
        process:
          i.last.process === null
            ? null
            : {
                pid: i.last.process.pid,
                bootKey: i.last.process.bootKey,
                startedAt: i.last.process.startedAt.toISOString(),
                memoryBytes: i.last.process.memoryBytes,
              },
        observedAt: i.last.observedAt.toISOString(),
      },
    })),
  });
}

export type DecodedFollowed =
  | { readonly ok: true; readonly instances: FollowedInstance[] }
  | { readonly ok: false; readonly problem: string };

/**
 * The instances a file names, or why it cannot be used (not JSON, NUL bytes, truncated, another
 * version, a field out of shape). Never throws: a bad file is a reason to start afresh, not to
 * stop metering.
 */
export function decodeFollowed(content: string): DecodedFollowed {
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch (error) {
    return { ok: false, problem: `not JSON (${(error as Error).message})` };
  }
  const parsed = FileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    return { ok: false, problem: `${path === '' ? 'file' : path}: ${issue?.message ?? 'invalid'}` };
  }
  return {
    ok: true,
    instances: parsed.data.instances.map((i): FollowedInstance => ({
      uri: i.uri,
      uuid: i.uuid,
      domainId: i.domainId,
      instanceId: i.instanceId,
      startedAt: i.startedAt,
      cpuBaselineNs: i.cpuBaselineNs,
      bootKey: i.bootKey,
      lastPublishedAt: i.lastPublishedAt,
      last: {
        uri: i.uri,
        uuid: i.uuid,
        state: 'running',
        ...i.last,
      },
    })),
  };
}
