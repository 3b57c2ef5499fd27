import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type SampleEvent, decodeSample, encodeSample } from '@metering/contracts';
import { type DomainReading, type HostObservation } from './domain-reading';
import { decodeFollowed, encodeFollowed } from './followed-instances';
import { SamplingCycle, type SamplingCycleOptions } from './sampling.cycle';

// A restarted collector settles the instances its previous run followed (the state file): still
// there, they go on; gone or rebooted while it was down, they get a final marked inferred.

const URI = 'qemu:///system';
const UUID_A = '11111111-2222-4333-8444-555555555555';
const UUID_B = '66666666-7777-4888-9999-aaaaaaaaaaaa';
const T0 = Date.parse('2026-11-26T13:00:00.000Z');
const at = (seconds: number): Date => new Date(T0 + seconds * 1000);

const options: SamplingCycleOptions = {
  defaultTenant: 'house',
  memoryUsage: 'rss',
  maxProcessWaitPolls: 2,
  intervalMs: 10_000,
};

function reading(seconds: number, overrides: Partial<DomainReading> = {}): DomainReading {
  return {
    uri: URI,
    host: 'kvm-1',
    uuid: UUID_A,
    name: 'vm-a',
    domainId: 5,
    state: 'running',
    cpuTimeNs: BigInt(seconds) * 250_000_000n,
    vcpus: 2,
    memoryBytes: 128 * 2 ** 20,
    maxMemoryBytes: 256 * 2 ** 20,
    tenantId: 'acme',
    flavour: 'm1.tiny',
    processExpected: true,
    process: {
      pid: 4242,
      bootKey: 'boot-1:1000',
      startedAt: new Date(T0 - 60_000),
      memoryBytes: 40 * 2 ** 20,
    },
    observedAt: at(seconds),
    ...overrides,
  };
}

const ok = (...domains: DomainReading[]): HostObservation => ({
  uri: URI,
  ok: true,
  domains,
  listed: domains.length,
  unreadable: [],
});
const down: HostObservation = { uri: URI, ok: false, error: 'libvirtd is restarting' };

/** A first run that followed domains, "killed" after `lastPoll` (its state through the file). */
function previousRun(polls: [seconds: number, emitRunning: boolean, ...DomainReading[]][]) {
  const cycle = new SamplingCycle(options);
  const samples: SampleEvent[] = [];
  for (const [seconds, emitRunning, ...domains] of polls) {
    samples.push(...cycle.poll([ok(...domains)], emitRunning, at(seconds)).samples);
  }
  const decoded = decodeFollowed(encodeFollowed(cycle.followed()));
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.problem);
  return { samples, followed: decoded.instances };
}

const valid = (s: SampleEvent): SampleEvent => {
  const d = decodeSample(encodeSample(s));
  assert.ok(d.ok, JSON.stringify(d));
  return s;
};

test('a domain gone while the collector was down gets a final inferred from its last reading', () => {
  const first = previousRun([
    [0, true, reading(0)],
    [1, false, reading(1)],
    [2, false, reading(2)],
  ]);
  const restarted = new SamplingCycle(options);
  restarted.restore(first.followed, at(300));
  const { samples, tracked } = restarted.poll([ok()], true, at(301));
  assert.equal(tracked, 0);
  assert.equal(samples.length, 1);
  const final = valid(samples[0]!);
  assert.equal(final.lifecycle, 'final');
  // The last reading's counters and time (not the restart's): the last moment it was seen.
  assert.equal(final.cpu.usageNs, (2n * 250_000_000n).toString());
  assert.equal(final.observedAt, at(2).toISOString());
  assert.equal(final.memory.usageBytes, 40 * 2 ** 20);
  assert.equal(final.resource.instanceId, first.samples[0]!.resource.instanceId);
  assert.equal(final.resource.startedAt, first.samples[0]!.resource.startedAt);
  assert.equal(final.resource.flavour, 'm1.tiny');
  assert.equal(final.intervalMs, 10_000);
  assert.deepEqual(final.inferred, {
    reason: 'collector-restart',
    lastSeenAt: at(2).toISOString(),
    detectedAt: at(301).toISOString(),
  });
  // Settled: the next poll has nothing to say about it, nor does the state.
  assert.deepEqual(restarted.poll([ok()], true, at(302)).samples, []);
  assert.deepEqual(restarted.followed(), []);
});

test('a last reading already published is repeated 1 ms later: another sample id', () => {
  const first = previousRun([
    [0, true, reading(0)],
    [10, true, reading(10)],
  ]);
  const restarted = new SamplingCycle(options);
  restarted.restore(first.followed, at(60));
  const [final] = restarted.poll([ok()], false, at(61)).samples;
  assert.ok(final);
  valid(final);
  assert.equal(final.observedAt, new Date(T0 + 10_001).toISOString());
  assert.equal(final.inferred?.lastSeenAt, at(10).toISOString());
  assert.notEqual(final.sampleId, first.samples[1]!.sampleId);
  assert.equal(final.cpu.usageNs, first.samples[1]!.cpu.usageNs);
});

test('a domain still running goes on as the same instance: start, no final, no inference', () => {
  const first = previousRun([
    [0, true, reading(0)],
    [1, false, reading(1)],
  ]);
  const restarted = new SamplingCycle(options);
  restarted.restore(first.followed, at(30));
  const { samples } = restarted.poll([ok(reading(31))], false, at(31));
  assert.deepEqual(
    samples.map((s) => [s.lifecycle, s.inferred, s.resource.instanceId, s.sequence]),
    [['start', undefined, first.samples[0]!.resource.instanceId, 0]],
  );
  const later = restarted.poll([ok()], false, at(32)).samples;
  assert.equal(later.length, 1);
  // Seen by this run: its end is observed, not inferred.
  assert.equal(later[0]!.inferred, undefined);
  assert.equal(later[0]!.observedAt, new Date(T0 + 31_001).toISOString());
});

test('a domain without a readable process keeps its counter baseline across the restart', () => {
  const rebased = (s: number): DomainReading =>
    reading(s, {
      process: null,
      processExpected: false,
      cpuTimeNs: 5_000_000_000n + BigInt(s) * 1_000_000n,
    });
  const first = previousRun([
    [0, true, rebased(0)],
    [10, true, rebased(10)],
  ]);
  assert.equal(first.samples[1]!.cpu.usageNs, '10000000');
  const restarted = new SamplingCycle(options);
  restarted.restore(first.followed, at(40));
  const [start] = restarted.poll([ok(rebased(40))], true, at(40)).samples;
  assert.equal(start?.resource.instanceId, first.samples[0]!.resource.instanceId);
  assert.equal(start?.cpu.usageNs, '40000000');
});

test('a domain rebooted while the collector was down: the old boot is inferred, the new one starts', () => {
  const first = previousRun([[0, true, reading(0)]]);
  const restarted = new SamplingCycle(options);
  restarted.restore(first.followed, at(100));
  const rebooted = reading(100, {
    domainId: 9,
    cpuTimeNs: 7_000_000n,
    process: { pid: 9, bootKey: 'boot-1:9000', startedAt: at(90), memoryBytes: 1 },
  });
  const { samples } = restarted.poll([ok(rebooted)], false, at(100));
  assert.deepEqual(
    samples.map((s) => [s.lifecycle, s.inferred?.reason ?? null]),
    [
      ['final', 'collector-restart'],
      ['start', null],
    ],
  );
  assert.equal(samples[0]!.observedAt, new Date(T0 + 1).toISOString());
  assert.notEqual(samples[1]!.resource.instanceId, samples[0]!.resource.instanceId);
});

test('while its connection fails nothing is inferred; detectedAt is the poll that could tell', () => {
  const first = previousRun([[0, true, reading(0), reading(0, { uuid: UUID_B, name: 'vm-b' })]]);
  const restarted = new SamplingCycle(options);
  restarted.restore(first.followed, at(20));
  assert.deepEqual(restarted.poll([down], true, at(21)).samples, []);
  assert.equal(restarted.followed().length, 2, 'kept while the connection cannot tell');
  const { samples } = restarted.poll(
    [ok(reading(50, { uuid: UUID_B, name: 'vm-b' }))],
    true,
    at(50),
  );
  assert.deepEqual(
    samples.map((s) => [s.resource.name, s.lifecycle, s.inferred?.detectedAt ?? null]),
    [
      ['vm-b', 'start', null],
      ['vm-a', 'final', at(50).toISOString()],
    ],
  );
});

test('an unreadable domain is not inferred gone; without a poll time, the restart time is used', () => {
  const first = previousRun([[0, true, reading(0)]]);
  const restarted = new SamplingCycle(options);
  restarted.restore(first.followed, at(70));
  const unreadable: HostObservation = {
    uri: URI,
    ok: true,
    domains: [],
    listed: 1,
    unreadable: [UUID_A],
  };
  assert.deepEqual(restarted.poll([unreadable], true).samples, []);
  const [final] = restarted.poll([ok()], true).samples;
  assert.equal(final?.inferred?.detectedAt, at(70).toISOString());
});

test('the state round-trips every field a final needs', () => {
  const first = previousRun([[0, true, reading(0, { tenantId: null, flavour: null })]]);
  assert.deepEqual(decodeFollowed(encodeFollowed(first.followed)), {
    ok: true,
    instances: first.followed,
  });
  assert.equal(first.followed[0]!.last.tenantId, null);
  assert.equal(first.followed[0]!.cpuBaselineNs, 0n);
});
