import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSample, encodeSample, type SampleEvent } from '@metering/contracts';
import { CollectorClock } from '@metering/spool';
import { type DomainReading } from './domain-reading';
import { SamplingCycle } from './sampling.cycle';

const URI = 'qemu:///system';
const T0 = Date.parse('2026-12-03T10:00:00.000Z');

/** A host whose wall clock can step; the monotonic clock only runs. */
class FakeHost {
  wallMs = T0;
  monoNs = 1_000_000_000n;
  cpuNs = 0n;

  run(ms: number): void {
    this.wallMs += ms;
    this.monoNs += BigInt(ms) * 1_000_000n;
    this.cpuNs += BigInt(ms) * 1_000_000n; // one vCPU fully busy
  }
}

function reading(host: FakeHost, uuid: string, observedAt: number): DomainReading {
  return {
    uri: URI,
    host: 'kvm-1',
    uuid,
    name: `vm-${uuid.slice(0, 4)}`,
    domainId: 7,
    state: 'running',
    cpuTimeNs: host.cpuNs,
    vcpus: 1,
    memoryBytes: 2 ** 30,
    maxMemoryBytes: 2 ** 30,
    tenantId: 'acme',
    processExpected: false,
    process: null,
    observedAt: new Date(observedAt),
  };
}

const A = '11111111-2222-4333-8444-555555555555';
const B = '66666666-7777-4888-9999-aaaaaaaaaaaa';

/**
 * Polls every 10 s for `polls` polls; the wall clock steps by `stepMs` before poll `stepAt`; the
 * domain B starts after the step; A stops at the end (its final sample). Readings are stamped by
 * `stamp` (the collector clock, or the bare wall clock to show what went wrong without it).
 */
function run(stamp: (host: FakeHost) => () => number, stepMs: number): SampleEvent[] {
  const host = new FakeHost();
  const now = stamp(host);
  const cycle = new SamplingCycle({
    defaultTenant: 'house',
    memoryUsage: 'rss',
    maxProcessWaitPolls: 1,
  });
  const samples: SampleEvent[] = [];
  for (let poll = 0; poll < 40; poll++) {
    if (poll === 10) host.wallMs += stepMs;
    host.run(10_000);
    const at = now();
    const domains = poll < 39 ? [reading(host, A, at)] : [];
    if (poll >= 12) domains.push(reading(host, B, at));
    samples.push(
      ...cycle.poll([{ uri: URI, ok: true, domains, listed: 2, unreadable: [] }], true).samples,
    );
  }
  // Every sample is valid on the wire.
  for (const s of samples) assert.ok(decodeSample(encodeSample(s)).ok, JSON.stringify(s));
  return samples;
}

function of(samples: readonly SampleEvent[], uuid: string): SampleEvent[] {
  return samples.filter((s) => s.resource.id === uuid);
}

const collectorClock = (host: FakeHost): (() => number) => {
  const clock = new CollectorClock({ wall: () => host.wallMs, monotonic: () => host.monoNs });
  return () => clock.now();
};

test('the wall clock stepping back an hour: every instance’s samples still go forward, each interval ≥ 95 % of the elapsed 10 s, and CPU per interval stays plausible', () => {
  const samples = run(collectorClock, -3_600_000);
  for (const uuid of [A, B]) {
    const mine = of(samples, uuid);
    const times = mine.map((s) => Date.parse(s.observedAt));
    for (let i = 1; i < mine.length; i++) {
      const interval = times[i]! - times[i - 1]!;
      assert.ok(interval > 0, `${uuid} sample ${i} goes back: ${mine[i]!.observedAt}`);
      // The final sample repeats the last reading 1 ms later; the others are 10 s apart.
      if (mine[i]!.lifecycle === 'final') continue;
      assert.ok(interval >= 9_500 - 1 && interval <= 10_000 + 1, `interval ${interval}`);
      const cpuMs = Number(BigInt(mine[i]!.cpu.usageNs) - BigInt(mine[i - 1]!.cpu.usageNs)) / 1e6;
      // Rating's rule: CPU ≤ allocation × wall × 1.5 + 1 s.
      assert.ok(cpuMs <= 1 * interval * 1.5 + 1_000, `${cpuMs} ms of CPU in ${interval} ms`);
    }
    // The sequence numbers each instance's samples 0, 1, 2… with no hole.
    assert.deepEqual(
      mine.map((s) => s.sequence),
      mine.map((_, i) => i),
    );
  }
  assert.equal(of(samples, A).at(-1)!.lifecycle, 'final');
});

test('without the collector clock (the bare wall clock) the same step sends samples back in time — what rating ignores', () => {
  const samples = run((host) => () => host.wallMs, -3_600_000);
  const times = of(samples, A).map((s) => Date.parse(s.observedAt));
  assert.ok(times.some((t, i) => i > 0 && t <= times[i - 1]!));
});

test('the wall clock stepping forward an hour: one interval longer by the hour, then 10 s again', () => {
  const samples = of(run(collectorClock, 3_600_000), A);
  const intervals = samples
    .slice(1)
    .map((s, i) => Date.parse(s.observedAt) - Date.parse(samples[i]!.observedAt));
  assert.equal(intervals.filter((d) => d > 10_001).length, 1);
  assert.ok(intervals.some((d) => Math.abs(d - 3_610_000) <= 1));
});
