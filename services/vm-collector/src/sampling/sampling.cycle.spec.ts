import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type SampleEvent, decodeSample, encodeSample } from '@metering/contracts';
import { type DomainReading, type HostObservation } from './domain-reading';
import { SamplingCycle, type SamplingCycleOptions } from './sampling.cycle';

const URI = 'qemu:///system';
const UUID_A = '11111111-2222-4333-8444-555555555555';
const UUID_B = '66666666-7777-4888-9999-aaaaaaaaaaaa';
const T0 = Date.parse('2026-11-26T13:00:00.000Z');

const options: SamplingCycleOptions = {
  defaultTenant: 'house',
  memoryUsage: 'rss',
  maxProcessWaitPolls: 2,
};

function reading(overrides: Partial<DomainReading> & { atSeconds: number }): DomainReading {
  const { atSeconds, ...rest } = overrides;
  return {
    uri: URI,
    host: 'kvm-1',
    uuid: UUID_A,
    name: 'vm-a',
    domainId: 5,
    state: 'running',
    cpuTimeNs: BigInt(atSeconds) * 250_000_000n,
    vcpus: 2,
    memoryBytes: 128 * 2 ** 20,
    maxMemoryBytes: 256 * 2 ** 20,
    tenantId: 'acme',
    processExpected: true,
    process: {
      pid: 4242,
      bootKey: 'boot-1:1000',
      startedAt: new Date(T0 - 60_000),
      memoryBytes: 40 * 2 ** 20,
    },
    observedAt: new Date(T0 + atSeconds * 1000),
    ...rest,
  };
}

const ok = (...domains: DomainReading[]): Extract<HostObservation, { ok: true }> => ({
  uri: URI,
  ok: true,
  domains,
  listed: domains.length,
  unreadable: [],
});

function lifecycles(samples: readonly SampleEvent[]): string[] {
  return samples.map((s) => `${s.resource.name}:${s.lifecycle}`);
}

test('a domain reads start, running at each sample tick, then final when it is gone', () => {
  const cycle = new SamplingCycle(options);
  const first = cycle.poll([ok(reading({ atSeconds: 0 }))], true);
  assert.deepEqual(lifecycles(first.samples), ['vm-a:start']);
  assert.deepEqual(lifecycles(cycle.poll([ok(reading({ atSeconds: 1 }))], false).samples), []);
  const tick = cycle.poll([ok(reading({ atSeconds: 2 }))], true);
  assert.deepEqual(lifecycles(tick.samples), ['vm-a:running']);
  cycle.poll([ok(reading({ atSeconds: 3 }))], false);
  const gone = cycle.poll([ok()], false);
  assert.deepEqual(lifecycles(gone.samples), ['vm-a:final']);
  // The final sample carries the last reading: its counter and its time.
  const final = gone.samples[0]!;
  assert.equal(final.cpu.usageNs, (3n * 250_000_000n).toString());
  assert.equal(final.observedAt, new Date(T0 + 3000).toISOString());
  assert.equal(gone.tracked, 0);
  // All samples of the boot share one instance id and startedAt (the QEMU process start).
  const all = [...first.samples, ...tick.samples, final];
  assert.equal(new Set(all.map((s) => s.resource.instanceId)).size, 1);
  assert.ok(all.every((s) => s.resource.startedAt === new Date(T0 - 60_000).toISOString()));
});

test('samples are valid metering.samples.v1 events with the VM facts', () => {
  const cycle = new SamplingCycle(options);
  const [sample] = cycle.poll([ok(reading({ atSeconds: 4 }))], true).samples;
  assert.ok(sample);
  const decoded = decodeSample(encodeSample(sample));
  assert.ok(decoded.ok, JSON.stringify(decoded));
  assert.equal(sample.source, 'libvirt');
  assert.equal(sample.host, 'kvm-1');
  assert.deepEqual(
    { kind: sample.resource.kind, id: sample.resource.id, tenant: sample.resource.tenantId },
    { kind: 'vm', id: UUID_A, tenant: 'acme' },
  );
  assert.deepEqual(sample.cpu, { usageNs: '1000000000', allocationCores: 2 });
  assert.deepEqual(sample.memory, {
    usageBytes: 40 * 2 ** 20,
    allocationBytes: 128 * 2 ** 20,
    maxBytes: 256 * 2 ** 20,
  });
});

test('memory usage: the QEMU process RSS, else the balloon; balloon mode always the balloon', () => {
  const rss = new SamplingCycle(options);
  const noRss = reading({ atSeconds: 0 });
  const withoutRss: DomainReading = {
    ...noRss,
    process: { ...noRss.process!, memoryBytes: null },
  };
  assert.equal(rss.poll([ok(withoutRss)], true).samples[0]?.memory.usageBytes, 128 * 2 ** 20);
  const balloon = new SamplingCycle({ ...options, memoryUsage: 'balloon' });
  const [sample] = balloon.poll([ok(reading({ atSeconds: 0 }))], true).samples;
  assert.equal(sample?.memory.usageBytes, 128 * 2 ** 20);
});

test('a domain without tenant metadata is metered under the default tenant', () => {
  const cycle = new SamplingCycle(options);
  const [sample] = cycle.poll([ok(reading({ atSeconds: 0, tenantId: null }))], true).samples;
  assert.equal(sample?.resource.tenantId, 'house');
});

test('a restart between two polls ends the old instance and starts a new one', () => {
  const cycle = new SamplingCycle(options);
  const [start] = cycle.poll([ok(reading({ atSeconds: 0 }))], true).samples;
  cycle.poll([ok(reading({ atSeconds: 1 }))], false);
  const rebooted = reading({
    atSeconds: 2,
    domainId: 6,
    cpuTimeNs: 10_000_000n,
    process: {
      pid: 5151,
      bootKey: 'boot-1:1180',
      startedAt: new Date(T0 + 1800),
      memoryBytes: 30 * 2 ** 20,
    },
  });
  const { samples } = cycle.poll([ok(rebooted)], false);
  assert.deepEqual(lifecycles(samples), ['vm-a:final', 'vm-a:start']);
  const [final, next] = samples as [SampleEvent, SampleEvent];
  assert.equal(final.resource.instanceId, start?.resource.instanceId);
  assert.equal(final.cpu.usageNs, '250000000');
  assert.notEqual(next.resource.instanceId, final.resource.instanceId);
  assert.equal(next.resource.startedAt, new Date(T0 + 1800).toISOString());
  assert.equal(next.cpu.usageNs, '10000000');
});

test('the instance id is derived, so a restarted collector gives the same one', () => {
  const a = new SamplingCycle(options).poll([ok(reading({ atSeconds: 0 }))], true);
  const b = new SamplingCycle(options).poll([ok(reading({ atSeconds: 30 }))], true);
  assert.equal(a.samples[0]?.resource.instanceId, b.samples[0]?.resource.instanceId);
  assert.match(a.samples[0]!.resource.instanceId, new RegExp(`^${UUID_A}@[0-9a-f]{16}$`));
  // Same domain id after a host reboot, another process: another instance.
  const afterReboot = reading({
    atSeconds: 0,
    process: { pid: 1, bootKey: 'boot-2:1000', startedAt: new Date(T0), memoryBytes: 1 },
  });
  const c = new SamplingCycle(options).poll([ok(afterReboot)], true);
  assert.notEqual(c.samples[0]?.resource.instanceId, a.samples[0]?.resource.instanceId);
});

test('sample ids are deterministic and distinct per reading', () => {
  const run = () => {
    const cycle = new SamplingCycle(options);
    return [0, 1, 2, 3].flatMap((s) => cycle.poll([ok(reading({ atSeconds: s }))], true).samples);
  };
  const ids = run().map((s) => s.sampleId);
  assert.deepEqual(
    ids,
    run().map((s) => s.sampleId),
  );
  assert.equal(new Set(ids).size, ids.length);
});

test('a final right after a published reading is stamped 1 ms later, as a reading of its own', () => {
  const cycle = new SamplingCycle(options);
  cycle.poll([ok(reading({ atSeconds: 0 }))], true);
  const [running] = cycle.poll([ok(reading({ atSeconds: 10 }))], true).samples;
  const [final] = cycle.poll([ok()], false).samples;
  assert.ok(running && final);
  assert.equal(final.lifecycle, 'final');
  assert.equal(Date.parse(final.observedAt) - Date.parse(running.observedAt), 1);
  assert.notEqual(final.sampleId, running.sampleId);
  assert.equal(final.cpu.usageNs, running.cpu.usageNs);
});

test('a counter that drops within an instance (a domain being torn down) is not a reading', () => {
  const cycle = new SamplingCycle(options);
  cycle.poll([ok(reading({ atSeconds: 0 }))], true);
  cycle.poll([ok(reading({ atSeconds: 4 }))], false);
  // libvirt reports cpuTime 0 for a domain whose QEMU is gone but which is still listed.
  const dying = cycle.poll([ok(reading({ atSeconds: 5, cpuTimeNs: 0n, process: null }))], true);
  assert.deepEqual(dying.samples, []);
  const [final] = cycle.poll([ok()], false).samples;
  assert.equal(final?.lifecycle, 'final');
  assert.equal(final?.cpu.usageNs, (4n * 250_000_000n).toString());
  assert.equal(final?.observedAt, new Date(T0 + 4000).toISOString());
  assert.equal(final?.memory.usageBytes, 40 * 2 ** 20);
});

test('a connection that cannot be read neither finalises nor samples its domains', () => {
  const cycle = new SamplingCycle(options);
  cycle.poll([ok(reading({ atSeconds: 0 }))], true);
  const down = cycle.poll([{ uri: URI, ok: false, error: 'socket closed' }], true);
  assert.deepEqual(down.samples, []);
  assert.equal(down.tracked, 1);
  const back = cycle.poll([ok(reading({ atSeconds: 20 }))], true);
  assert.deepEqual(lifecycles(back.samples), ['vm-a:running']);
});

test('a domain that could not be read this poll is kept, not finalised', () => {
  const cycle = new SamplingCycle(options);
  cycle.poll([ok(reading({ atSeconds: 0 }))], true);
  const blind = cycle.poll([{ ...ok(), unreadable: [UUID_A] }], true);
  assert.deepEqual(blind.samples, []);
  assert.equal(blind.tracked, 1);
  assert.deepEqual(lifecycles(cycle.poll([ok()], true).samples), ['vm-a:final']);
});

test('domains of one connection do not affect another connection', () => {
  const cycle = new SamplingCycle(options);
  const other: DomainReading = {
    ...reading({ atSeconds: 0, uuid: UUID_B, name: 'vm-b', processExpected: false }),
    uri: 'test:///default',
    process: null,
  };
  cycle.poll(
    [
      ok(reading({ atSeconds: 0 })),
      { uri: 'test:///default', ok: true, domains: [other], listed: 1, unreadable: [] },
    ],
    true,
  );
  const { samples } = cycle.poll(
    [ok(reading({ atSeconds: 1 })), { uri: 'test:///default', ok: false, error: 'down' }],
    true,
  );
  assert.deepEqual(lifecycles(samples), ['vm-a:running']);
  const gone = cycle.poll(
    [ok(), { uri: 'test:///default', ok: true, domains: [], listed: 0, unreadable: [] }],
    true,
  );
  assert.deepEqual(lifecycles(gone.samples).sort(), ['vm-a:final', 'vm-b:final']);
});

test('a starting domain waits a few polls for its QEMU process, then goes without', () => {
  const cycle = new SamplingCycle(options);
  const starting = reading({ atSeconds: 0, process: null });
  const first = cycle.poll([ok(starting)], true);
  assert.deepEqual(first.samples, []);
  assert.equal(first.waiting, 1);
  const second = cycle.poll([ok(reading({ atSeconds: 1 }))], false);
  assert.deepEqual(lifecycles(second.samples), ['vm-a:start']);
  assert.equal(second.waiting, 0);
  // The instance id is the one derived from the process, as a restarted collector would.
  const fresh = new SamplingCycle(options).poll([ok(reading({ atSeconds: 9 }))], true);
  assert.equal(second.samples[0]?.resource.instanceId, fresh.samples[0]?.resource.instanceId);

  const never = new SamplingCycle(options);
  const polls = [0, 1, 2].map(
    (s) => never.poll([ok(reading({ atSeconds: s, process: null }))], false).samples,
  );
  assert.deepEqual(polls.map(lifecycles), [[], [], ['vm-a:start']]);
  assert.equal(polls[2]?.[0]?.resource.startedAt, new Date(T0 + 2000).toISOString());
});

test('a process that cannot be read at one poll does not split the instance', () => {
  const cycle = new SamplingCycle(options);
  cycle.poll([ok(reading({ atSeconds: 0 }))], true);
  const blind = cycle.poll([ok(reading({ atSeconds: 1, process: null }))], true);
  assert.deepEqual(lifecycles(blind.samples), ['vm-a:running']);
  // Without the process, memory falls back to the balloon for that reading.
  assert.equal(blind.samples[0]?.memory.usageBytes, 128 * 2 ** 20);
  assert.deepEqual(lifecycles(cycle.poll([ok(reading({ atSeconds: 2 }))], true).samples), [
    'vm-a:running',
  ]);
});

test('a domain where processes are not expected starts at first sight, from first seen', () => {
  const cycle = new SamplingCycle(options);
  const remote = reading({ atSeconds: 5, processExpected: false, process: null });
  const [start] = cycle.poll([ok(remote)], false).samples;
  assert.equal(start?.lifecycle, 'start');
  assert.equal(start?.resource.startedAt, new Date(T0 + 5000).toISOString());
});

test('CPU counters beyond 2^53 ns stay exact decimal strings', () => {
  const cycle = new SamplingCycle(options);
  const big = reading({ atSeconds: 0, cpuTimeNs: 1_795_702_103_235_266_048n });
  assert.equal(cycle.poll([ok(big)], true).samples[0]?.cpu.usageNs, '1795702103235266048');
});

test('without its process the counter is rebased at first sight, and a restart is a new instance', () => {
  // A remote URI: no process, cpuTime since a boot long before the collector saw the domain.
  const remote = (atSeconds: number): DomainReading =>
    reading({
      atSeconds,
      processExpected: false,
      process: null,
      cpuTimeNs: 3_600_000_000_000n + BigInt(atSeconds) * 250_000_000n,
    });
  const cycle = new SamplingCycle(options);
  const [start] = cycle.poll([ok(remote(0))], true).samples;
  const [running] = cycle.poll([ok(remote(10))], true).samples;
  assert.ok(start && running);
  // Nothing is claimed for the hour before first sight; what follows is counted from it.
  assert.equal(start.cpu.usageNs, '0');
  assert.equal(start.resource.startedAt, start.observedAt);
  assert.equal(running.cpu.usageNs, (10n * 250_000_000n).toString());
  assert.equal(running.resource.instanceId, start.resource.instanceId);
  // A restarted collector rebases anew: another instance, whose counter starts at zero again.
  const [restarted] = new SamplingCycle(options).poll([ok(remote(20))], true).samples;
  assert.ok(restarted);
  assert.notEqual(restarted.resource.instanceId, start.resource.instanceId);
  assert.equal(restarted.cpu.usageNs, '0');
  // With its process, the counter is the QEMU process's own and the id survives a restart.
  const a = new SamplingCycle(options).poll([ok(reading({ atSeconds: 0 }))], true).samples[0];
  const b = new SamplingCycle(options).poll([ok(reading({ atSeconds: 30 }))], true).samples[0];
  assert.equal(a?.resource.instanceId, b?.resource.instanceId);
  assert.equal(b?.cpu.usageNs, (30n * 250_000_000n).toString());
});

test('a Nova flavour rides on the samples when the contract accepts it, and is left out otherwise', () => {
  const flavourOf = (flavour: string | null) => {
    const cycle = new SamplingCycle(options);
    const [sample] = cycle.poll([ok(reading({ atSeconds: 0, flavour }))], true).samples;
    assert.ok(sample);
    assert.ok(decodeSample(encodeSample(sample)).ok, JSON.stringify(flavour));
    return sample.resource.flavour;
  };
  assert.equal(flavourOf('m1.small'), 'm1.small');
  assert.equal(flavourOf('株'.repeat(85)), '株'.repeat(85));
  for (const bad of [null, '', 'm1\u0000small', '株'.repeat(86), 'f'.repeat(256)]) {
    assert.equal(flavourOf(bad), undefined, JSON.stringify(bad));
  }
});
