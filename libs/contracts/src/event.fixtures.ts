import { sampleIdOf, usageIdOf } from './event-id';
import { type InvoiceEventOf, invoiceEventIdOf } from './invoice.event';
import { type SampleEvent } from './sample.event';
import { SCHEMA_VERSIONS } from './topics';
import { type UsageEvent } from './usage.event';

// Valid example events for other packages' tests. Each call returns a fresh object, so a
// test may mutate its copy freely.

const CONTAINER_ID = '3f4e8a9c2b1d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f';
const DOMAIN_UUID = '9b2f6c1e-4d7a-4f0b-8c3e-2a5d7e9f1b04';

/** A container of tenant "acme" at 0.5 cores and 64 MiB, 130 s after it started. */
export function exampleDockerSample(): SampleEvent {
  const instanceId = `${CONTAINER_ID.slice(0, 12)}@2026-11-26T12:58:00.000Z`;
  const observedAt = '2026-11-26T13:00:10.000Z';
  return {
    schema: SCHEMA_VERSIONS.sample,
    sampleId: sampleIdOf({
      source: 'docker',
      host: 'node-1',
      resourceId: CONTAINER_ID,
      instanceId,
      observedAt,
    }),
    source: 'docker',
    host: 'node-1',
    resource: {
      kind: 'container',
      id: CONTAINER_ID,
      name: 'web-1',
      tenantId: 'acme',
      instanceId,
      startedAt: '2026-11-26T12:58:00.000Z',
    },
    observedAt,
    lifecycle: 'running',
    cpu: { usageNs: '65000000000', allocationCores: 0.5 },
    memory: { usageBytes: 52428800, allocationBytes: 67108864 },
  };
}

/** A 4-vCPU, 8 GiB VM of tenant "globex" with a CPU counter beyond 2^53. */
export function exampleLibvirtSample(): SampleEvent {
  const instanceId = `${DOMAIN_UUID}@2026-10-30T00:00:00.000Z`;
  const observedAt = '2026-11-26T13:00:10.000Z';
  return {
    schema: SCHEMA_VERSIONS.sample,
    sampleId: sampleIdOf({
      source: 'libvirt',
      host: 'kvm-2',
      resourceId: DOMAIN_UUID,
      instanceId,
      observedAt,
    }),
    source: 'libvirt',
    host: 'kvm-2',
    resource: {
      kind: 'vm',
      id: DOMAIN_UUID,
      name: 'db-1',
      tenantId: 'globex',
      instanceId,
      startedAt: '2026-10-30T00:00:00.000Z',
    },
    observedAt,
    lifecycle: 'running',
    cpu: { usageNs: '9007199254740993', allocationCores: 4 },
    memory: { usageBytes: 6442450944, allocationBytes: 8589934592 },
  };
}

/**
 * Two minutes of the docker example's container rated at 0.040 EUR per vCPU-hour and
 * 0.0036 EUR per GiB-hour: 90 core-seconds → 0.001, 7.5 GiB-seconds → 0.0000075.
 */
export function exampleUsageEvent(): UsageEvent {
  const resource = {
    kind: 'container' as const,
    id: CONTAINER_ID,
    instanceId: `${CONTAINER_ID.slice(0, 12)}@2026-11-26T12:58:00.000Z`,
  };
  const interval = { start: '2026-11-26T12:58:00.000Z', end: '2026-11-26T13:00:00.000Z' };
  return {
    schema: SCHEMA_VERSIONS.usage,
    usageId: usageIdOf({
      tenantId: 'acme',
      resourceKind: resource.kind,
      resourceId: resource.id,
      instanceId: resource.instanceId,
      intervalStart: interval.start,
      intervalEnd: interval.end,
    }),
    tenantId: 'acme',
    resource,
    interval,
    cpuCoreSeconds: '90',
    memoryGibSeconds: '7.5',
    amounts: { currency: 'EUR', cpu: '0.001', memory: '0.0000075', total: '0.0010075' },
    planId: 'std',
    planVersion: 1,
    ratedAt: '2026-11-26T13:00:15.000Z',
  };
}

/** Tenant acme's November invoice made final. */
export function exampleInvoiceFinalized(): InvoiceEventOf<'invoice.finalized'> {
  return {
    schema: SCHEMA_VERSIONS.invoiceEvent,
    eventId: invoiceEventIdOf('invoice.finalized', ['acme', '2026-11']),
    type: 'invoice.finalized',
    occurredAt: '2026-12-03T00:00:05.000Z',
    tenantId: 'acme',
    data: {
      invoice: {
        period: '2026-11',
        number: 'INV-2026-11-000001',
        currency: 'EUR',
        subtotal: '12.34',
        total: '12.34',
        contentHash: 'a'.repeat(64),
      },
    },
  };
}

/** Tenant acme's December draft reached its 100 EUR threshold. */
export function exampleBudgetThresholdReached(): InvoiceEventOf<'budget.threshold_reached'> {
  return {
    schema: SCHEMA_VERSIONS.invoiceEvent,
    eventId: invoiceEventIdOf('budget.threshold_reached', ['acme', 'bt_1', '2026-12']),
    type: 'budget.threshold_reached',
    occurredAt: '2026-12-03T18:00:00.000Z',
    tenantId: 'acme',
    data: {
      budget: {
        thresholdId: 'bt_1',
        threshold: '100.00',
        amount: '100.04',
        currency: 'EUR',
        period: '2026-12',
        crossedAt: '2026-12-03T18:00:00.000Z',
      },
    },
  };
}

/** A resource of a generated sample stream: what a collector on `host` reports for it. */
export interface SteadyResource {
  readonly tenant: string;
  readonly id: string;
  readonly name?: string;
  readonly kind: 'container' | 'vm';
  readonly host: string;
  /** Cores it uses all the time: its CPU counter grows by this many core-ns per ns. */
  readonly cores: number;
  readonly memoryBytes: number;
}

/**
 * The sample of a steadily running resource at `atMs` (instance `<id>-i0`, started at
 * `startedAtMs`; `first`: its start sample), as the generated streams of e2e and the dashboards'
 * tests publish them.
 */
export function steadySample(
  r: SteadyResource,
  at: {
    readonly atMs: number;
    readonly startedAtMs: number;
    readonly first: boolean;
    readonly allocationCores: number;
    readonly allocationBytes: number;
  },
): SampleEvent {
  const instanceId = `${r.id}-i0`;
  const observedAt = new Date(at.atMs).toISOString();
  const source = r.kind === 'vm' ? 'libvirt' : 'docker';
  return {
    schema: SCHEMA_VERSIONS.sample,
    sampleId: sampleIdOf({ source, host: r.host, resourceId: r.id, instanceId, observedAt }),
    source,
    host: r.host,
    resource: {
      kind: r.kind,
      id: r.id,
      name: r.name ?? r.id,
      tenantId: r.tenant,
      instanceId,
      startedAt: new Date(at.startedAtMs).toISOString(),
    },
    observedAt,
    lifecycle: at.first ? 'start' : 'running',
    cpu: {
      usageNs: (BigInt(at.atMs - at.startedAtMs) * BigInt(Math.round(r.cores * 1e6))).toString(),
      allocationCores: at.allocationCores,
    },
    memory: { usageBytes: r.memoryBytes, allocationBytes: at.allocationBytes },
  };
}
