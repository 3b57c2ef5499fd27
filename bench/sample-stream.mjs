// The benchmarks' samples: what collectors publish for a fleet, deterministic for a seed.
import { sampleIdOf } from '@metering/contracts';
import { prng } from '@metering/testing';

/**
 * `samples` samples of `resources` resources of `tenants` tenants (`tenant-<i>`), as JSON text
 * with their Kafka key (the resource id), in the order collectors publish them: every 10 s
 * (with jitter) one reading of every resource, ending about now; a restart now and then (new
 * instance, counter from 0), a rare counter reset, rare silences long enough to be gaps; CPU
 * limits and memory limits on some; one in four resources a VM. `resource`: the resource's index
 * (of tenant `resource % tenants`); `host`: the host that measured it.
 */
export function* fleetSamples({ samples, resources, tenants, seed = 42 }) {
  const rnd = prng(seed);
  const ticks = Math.ceil(samples / resources);
  const start = Math.floor((Date.now() - (ticks * 12 + 3_600) * 1000) / 1000) * 1000;
  const fleet = Array.from({ length: resources }, (_, r) => {
    const kind = r % 4 === 3 ? 'vm' : 'container';
    return {
      index: r,
      id: `${kind === 'vm' ? 'vm' : 'ctr'}-${r.toString(16).padStart(6, '0')}`,
      kind,
      host: `node-${r % 20}`,
      tenant: `tenant-${r % tenants}`,
      instance: 0,
      startedAt: start - Math.floor(rnd() * 3_600_000),
      cpu: 0n,
      memory: Math.floor(rnd() * 2 ** 31),
      cores: rnd() < 0.5 ? null : [0.5, 1, 2, 4][Math.floor(rnd() * 4)],
      limit: rnd() < 0.4 ? null : 2 ** 30 * (1 + Math.floor(rnd() * 8)),
      silentUntil: 0,
    };
  });
  let count = 0;
  // Gaps skip readings: more ticks than samples / resources may be needed.
  for (let tick = 0; count < samples; tick++) {
    const base = start + tick * 10_000;
    for (const r of fleet) {
      if (count >= samples) break;
      if (base < r.silentUntil) continue;
      const at = base + Math.floor(rnd() * 1_000);
      let lifecycle = 'running';
      if (tick === 0) lifecycle = 'start';
      else if (rnd() < 0.002) {
        r.instance += 1;
        r.startedAt = at - 2_000;
        r.cpu = 0n;
        lifecycle = 'start';
      } else if (rnd() < 0.0005) {
        r.silentUntil = base + 900_000; // a gap
      }
      if (rnd() < 0.0005) r.cpu = 0n; // a counter reset within the instance
      // CPU since the last reading (10 s), or since a restart's start (2 s): at most its cores.
      const sinceMs = lifecycle === 'start' && tick > 0 ? 2_000 : 10_000;
      r.cpu += BigInt(Math.floor(rnd() * (r.cores ?? 1) * sinceMs * 1_000_000));
      r.memory = Math.max(0, Math.min(2 ** 33, r.memory + Math.floor((rnd() - 0.5) * 2 ** 25)));
      const instanceId = `${r.id}-i${r.instance}`;
      const observedAt = new Date(at).toISOString();
      const source = r.kind === 'vm' ? 'libvirt' : 'docker';
      const value = JSON.stringify({
        schema: 'metering.sample.v1',
        sampleId: sampleIdOf({ source, host: r.host, resourceId: r.id, instanceId, observedAt }),
        source,
        host: r.host,
        resource: {
          kind: r.kind,
          id: r.id,
          name: r.id,
          tenantId: r.tenant,
          instanceId,
          startedAt: new Date(r.startedAt).toISOString(),
        },
        observedAt,
        lifecycle,
        cpu: { usageNs: r.cpu.toString(), allocationCores: r.cores },
        memory: { usageBytes: r.memory, allocationBytes: r.limit },
      });
      count += 1;
      yield { key: r.id, value, resource: r.index, host: r.host };
    }
  }
}
