import { type MeteredSample } from './metered-sample';

/** Builds samples for domain specs; times are given in seconds after T0 for readability. */
export const T0 = Date.UTC(2026, 10, 26, 12, 0, 0); // 2026-11-26T12:00:00Z

export function sampleAt(
  seconds: number,
  cpuNs: bigint,
  over: Partial<MeteredSample> = {},
): MeteredSample {
  return {
    tenantId: 'acme',
    resourceKind: 'container',
    resourceId: 'r1',
    instanceId: 'i1',
    host: 'node-1',
    startedAtMs: T0,
    observedAtMs: T0 + seconds * 1000,
    lifecycle: 'running',
    cpuUsageNs: cpuNs,
    memoryUsageBytes: 1n << 30n,
    cpuAllocationCores: null,
    memoryAllocationBytes: null,
    ...over,
  };
}
