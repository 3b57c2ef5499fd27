import { type SampleEvent } from '@metering/contracts';
import { type MeteredSample } from '../domain';
import { BoundedStrings } from './bounded-strings';

/**
 * Cores arrive as a JSON number; the domain keeps them as a decimal string. Nine decimals hold any
 * quota/period ratio a kernel can express (periods are whole microseconds).
 */
export function coresToDecimal(cores: number | null): string | null {
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

/**
 * One string for each distinct tenant, resource, instance, host, name, image and flavour: JSON.parse
 * makes a new string of every value of every message, and a batch keeps its samples until they
 * are rated, so a fleet's few thousand names would be kept once per sample (tens of bytes each)
 * instead of once. Bounded: started over past 200,000 strings or 8 million characters.
 */
const interned = new BoundedStrings<string>(200_000, 8_000_000);

function intern(text: string): string {
  const known = interned.get(text);
  if (known !== undefined) return known;
  interned.set(text, text);
  return text;
}

/** The domain's sample (the sample's id is the collector's and the dead letters': not kept). */
export function toMeteredSample(event: SampleEvent): MeteredSample {
  const { resource } = event;
  return {
    tenantId: intern(resource.tenantId),
    resourceKind: resource.kind,
    resourceId: intern(resource.id),
    instanceId: intern(resource.instanceId),
    host: intern(event.host),
    name: intern(resource.name),
    image: resource.image === undefined ? null : intern(resource.image),
    flavour: resource.flavour === undefined ? null : intern(resource.flavour),
    startedAtMs: Date.parse(resource.startedAt),
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
