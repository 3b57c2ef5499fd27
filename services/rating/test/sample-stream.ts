import { type SampleEvent, sampleIdOf } from '@metering/contracts';
import { prng } from '@metering/testing';

export interface StreamOptions {
  readonly seed: number;
  readonly tenants: readonly string[];
  readonly resources: number;
  readonly samplesPerResource: number;
  /** Start of the stream (epoch ms): the past, so no sample is "in the future". */
  readonly startMs: number;
  readonly intervalMs?: number;
}

/**
 * Realistic samples: per resource a series of instances (restarts give a new instance id and a
 * fresh counter), 10 s apart with jitter, CPU counters that grow (now and then reset within an
 * instance), memory levels that wander, a few long gaps, some allocations. Returned in the order
 * a collector would publish them, resources interleaved.
 */
export function generateSamples(o: StreamOptions): SampleEvent[] {
  const rnd = prng(o.seed);
  const interval = o.intervalMs ?? 10_000;
  const perResource: SampleEvent[][] = [];
  for (let r = 0; r < o.resources; r++) {
    const tenantId = o.tenants[r % o.tenants.length]!;
    const kind = r % 4 === 3 ? 'vm' : 'container';
    const resourceId = `${kind === 'vm' ? 'vm' : 'ctr'}-${o.seed}-${r}`;
    const out: SampleEvent[] = [];
    let t = o.startMs + Math.floor(rnd() * 3_600_000);
    let instance = 0;
    let startedAt = t - Math.floor(rnd() * 60_000);
    let cpu = 0n;
    let memory = Math.floor(rnd() * 2 ** 30);
    const cores = rnd() < 0.5 ? null : [0.5, 1, 2, 0.25][Math.floor(rnd() * 4)]!;
    const memLimit = rnd() < 0.4 ? null : 2 ** 30 * (1 + Math.floor(rnd() * 4));
    for (let i = 0; i < o.samplesPerResource; i++) {
      const restart = i > 0 && rnd() < 0.02;
      const previousT = i === 0 ? startedAt : t;
      if (restart) {
        instance += 1;
        startedAt = t + 1_000;
        t = startedAt + 2_000;
        cpu = 0n;
      } else {
        // Mostly regular; now and then a silence long enough to be a gap.
        t += rnd() < 0.01 ? 900_000 : interval + Math.floor(rnd() * 2_000) - 1_000;
      }
      if (rnd() < 0.01 && i > 0 && !restart) cpu = 0n; // a counter reset within the instance
      // Up to 2 cores' worth (unlimited), or up to the allocation: what a real counter can do.
      const elapsedMs = t - (restart ? startedAt : previousT);
      cpu += BigInt(Math.floor(rnd() * (cores ?? 2) * elapsedMs * 1_000_000));
      memory = Math.max(0, Math.min(2 ** 33, memory + Math.floor((rnd() - 0.5) * 2 ** 26)));
      const instanceId = `${resourceId}-i${instance}`;
      const observedAt = new Date(t).toISOString();
      out.push({
        schema: 'metering.sample.v1',
        sampleId: sampleIdOf({
          source: kind === 'vm' ? 'libvirt' : 'docker',
          host: 'node-1',
          resourceId,
          instanceId,
          observedAt,
        }),
        source: kind === 'vm' ? 'libvirt' : 'docker',
        host: 'node-1',
        resource: {
          kind,
          id: resourceId,
          name: resourceId,
          tenantId,
          instanceId,
          startedAt: new Date(startedAt).toISOString(),
        },
        observedAt,
        lifecycle:
          i === 0 || restart ? 'start' : i === o.samplesPerResource - 1 ? 'final' : 'running',
        cpu: { usageNs: cpu.toString(), allocationCores: cores },
        memory: { usageBytes: memory, allocationBytes: memLimit },
      });
    }
    perResource.push(out);
  }
  // Interleave resources as collectors on several hosts would.
  const merged: SampleEvent[] = [];
  const cursors = perResource.map(() => 0);
  while (merged.length < o.resources * o.samplesPerResource) {
    const r = Math.floor(rnd() * o.resources);
    const c = cursors[r]!;
    if (c < perResource[r]!.length) {
      merged.push(perResource[r]![c]!);
      cursors[r] = c + 1;
    } else {
      const next = cursors.findIndex((x, j) => x < perResource[j]!.length);
      if (next >= 0) {
        merged.push(perResource[next]![cursors[next]!]!);
        cursors[next] = cursors[next]! + 1;
      }
    }
  }
  return merged;
}
