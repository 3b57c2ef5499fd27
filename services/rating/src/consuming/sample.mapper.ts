import { type SampleEvent } from '@metering/contracts';
import { type MeteredSample } from '../domain';

/**
 * Cores arrive as a JSON number; the domain keeps them as a decimal string. Nine decimals hold any
 * quota/period ratio a kernel can express (periods are whole microseconds).
 */
function coresToDecimal(cores: number | null): string | null {
  if (cores === null) return null;
  let text = coreTexts.get(cores);
  if (text === undefined) {
    const fixed = cores.toFixed(9);
    text = fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
    if (coreTexts.size > 10_000) coreTexts.clear();
    coreTexts.set(cores, text);
  }
  return text;
}

// Hosts report a handful of distinct limits: each is converted once.
const coreTexts = new Map<number, string>();

export function toMeteredSample(event: SampleEvent): MeteredSample {
  return {
    sampleId: event.sampleId,
    tenantId: event.resource.tenantId,
    resourceKind: event.resource.kind,
    resourceId: event.resource.id,
    instanceId: event.resource.instanceId,
    host: event.host,
    name: event.resource.name,
    image: event.resource.image ?? null,
    flavour: event.resource.flavour ?? null,
    startedAtMs: Date.parse(event.resource.startedAt),
    observedAtMs: Date.parse(event.observedAt),
    lifecycle: event.lifecycle,
    cpuUsageNs: BigInt(event.cpu.usageNs),
    memoryUsageBytes: BigInt(event.memory.usageBytes),
    cpuAllocationCores: coresToDecimal(event.cpu.allocationCores),
    memoryAllocationBytes:
      event.memory.allocationBytes === null ? null : BigInt(event.memory.allocationBytes),
    hostCores: event.cpu.hostCores ?? null,
    intervalMs: event.intervalMs ?? null,
    thinned: event.thinned ?? 0,
    inferredDetectedAtMs:
      event.inferred === undefined ? null : Date.parse(event.inferred.detectedAt),
  };
}
