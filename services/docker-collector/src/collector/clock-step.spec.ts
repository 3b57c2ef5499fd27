import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { type SampleEvent, validateSample } from '@metering/contracts';
import { CollectorClock } from '@metering/spool';
import {
  CollectingPublisher,
  CountingMetrics,
  FakeClock,
  FakeDockerWorld,
  silentLog,
  testSettings,
} from '../../test/fake-docker-world';
import { TenantResolver } from '../discovery/tenant.resolver';
import { type Clock } from './collector.ports';
import { ContainerCollector } from './container-collector';

const SEC = 1_000_000_000n;
const HOUR = 3_600_000;

/**
 * A host: `wall` is its wall clock, which the engine stamps its events and start/exit times with
 * (the fake world reads it); `monoNs` its monotonic clock. `run` lets time pass; `step` moves
 * only the wall clock (settimeofday).
 */
class Host {
  readonly wall = new FakeClock(Date.parse('2026-12-03T10:00:00.000Z'));
  monoNs = 7_000_000_000n;

  run(ms: number): void {
    this.wall.advance(ms);
    this.monoNs += BigInt(ms) * 1_000_000n;
  }

  step(ms: number): void {
    this.wall.advance(ms);
  }
}

const running: ContainerCollector[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
});

function collector(world: FakeDockerWorld, publisher: CollectingPublisher, clock: Clock) {
  const c = new ContainerCollector(
    {
      source: world,
      reader: world,
      publisher,
      tenants: new TenantResolver('metering.tenant', 'unassigned'),
      clock,
      metrics: new CountingMetrics(),
      log: silentLog,
    },
    testSettings({ meterResidual: false }),
  );
  running.push(c);
  return c;
}

/**
 * Container A (1 core, fully busy) runs for a while; the wall clock steps by `stepMs`; container
 * B starts, lives 2 s (read young) and exits; A runs on and exits. Returns the samples of A and B.
 */
async function scenario(
  stepMs: number,
  clockOf: (host: Host) => Clock,
): Promise<{ a: SampleEvent[]; b: SampleEvent[] }> {
  const host = new Host();
  const world = new FakeDockerWorld(host.wall);
  const publisher = new CollectingPublisher();
  const c = collector(world, publisher, clockOf(host));
  await c.start();
  const limits = { cpuLimitCores: 1, memoryLimitBytes: 2 ** 30 };
  const a = world.run({ limits });
  c.handleEvent(world.event('start', a));
  await c.idle();
  const cycle = async (): Promise<void> => {
    host.run(10_000);
    world.burn(a, 10n * SEC);
    await c.runCycle();
  };
  for (let i = 0; i < 5; i++) await cycle();

  host.step(stepMs);
  host.run(1_000);
  world.burn(a, SEC);
  const b = world.run({ limits });
  c.handleEvent(world.event('start', b));
  await c.idle();
  for (let i = 0; i < 10; i++) {
    host.run(200);
    world.burn(a, SEC / 5n);
    world.burn(b, SEC / 5n);
    await c.readYoung();
  }
  world.exit(b);
  host.run(30);
  c.handleEvent(world.event('die', b));
  await c.idle();

  for (let i = 0; i < 5; i++) await cycle();
  host.run(2_000);
  world.burn(a, 2n * SEC);
  await c.readYoung(); // A is not young: not read, so its final carries the last cycle's reading
  world.exit(a);
  host.run(20);
  c.handleEvent(world.event('die', a));
  await c.idle();
  for (const s of publisher.samples) assert.equal(validateSample(s).ok, true);
  return { a: publisher.of(a), b: publisher.of(b) };
}

const collectorClock = (host: Host): Clock =>
  new CollectorClock({ wall: () => host.wall.t, monotonic: () => host.monoNs });

/** What rating checks per instance: time goes forward, CPU within allocation × wall × 1.5 + 1 s. */
function assertRateable(samples: readonly SampleEvent[]): void {
  for (let i = 1; i < samples.length; i++) {
    const prev = samples[i - 1]!;
    const s = samples[i]!;
    const ms = Date.parse(s.observedAt) - Date.parse(prev.observedAt);
    assert.ok(
      ms > 0,
      `${s.lifecycle} sample ${i} at ${s.observedAt} is not after ${prev.observedAt}`,
    );
    const cpuMs = Number(BigInt(s.cpu.usageNs) - BigInt(prev.cpu.usageNs)) / 1e6;
    assert.ok(cpuMs <= ms * 1.5 + 1_000, `${cpuMs} ms of CPU in ${ms} ms`);
  }
  assert.deepEqual(
    samples.map((s) => s.sequence),
    samples.map((_, i) => i),
    'sequence 0, 1, 2…',
  );
}

for (const [name, stepMs] of [
  ['back an hour', -HOUR],
  ['back 30 s', -30_000],
  ['forward an hour', HOUR],
] as const) {
  test(`the host's wall clock steps ${name}: every sample rateable, a young container metered from its true start`, async () => {
    const { a, b } = await scenario(stepMs, collectorClock);
    assert.deepEqual(
      a.map((s) => s.lifecycle),
      ['start', ...Array<string>(10).fill('running'), 'final'],
    );
    assertRateable(a);
    assertRateable(b);
    // Running samples 10 s apart in true time: ≥ 9.5 s on the collector's time line.
    const times = a.map((s) => Date.parse(s.observedAt));
    for (let i = 1; i < 10; i++) {
      const d = times[i]! - times[i - 1]!;
      if (stepMs > 0 && i === 6) {
        assert.ok(Math.abs(d - (10_000 + 1_000 + 2_000 + 30 + stepMs)) <= 2, String(d));
      } else if (i !== 6) {
        assert.ok(d >= 9_500 && d <= 10_001, `interval ${d}`);
      }
    }
    // B: started and ended after the step; its samples span its true 2 s life, not the step.
    assert.deepEqual(
      b.map((s) => s.lifecycle),
      ['start', 'final'],
    );
    const life = Date.parse(b[1]!.observedAt) - Date.parse(b[0]!.resource.startedAt);
    assert.ok(life >= 1_900 && life <= 2_100, `B lived ${life} ms on the samples' time line`);
    assert.equal(b[1]!.cpu.usageNs, String(2n * SEC), 'young reads carried its CPU');
    // A's final: its exit (the engine's time) just after its last reading, not an hour away.
    const last = Date.parse(a.at(-1)!.observedAt) - Date.parse(a.at(-2)!.observedAt);
    assert.ok(last > 0 && last <= 2_100, `final ${last} ms after the last running sample`);
  });
}

test('without the collector clock (the bare wall clock), a step back loses the readings until the wall clock catches up', async () => {
  const bare = await scenario(-HOUR, (host) => ({
    now: () => host.wall.t,
    fromWall: (ms) => ms,
  }));
  const kept = await scenario(-HOUR, collectorClock);
  const runningOf = (samples: readonly SampleEvent[]): number =>
    samples.filter((s) => s.lifecycle === 'running').length;
  // Readings older than the last one are refused: no running sample after the step.
  assert.equal(runningOf(bare.a), 5);
  assert.equal(runningOf(kept.a), 10);
  // …so A's final carries the counter from before the step: the 53 s it used since are not in it.
  assert.equal(BigInt(kept.a.at(-1)!.cpu.usageNs) - BigInt(bare.a.at(-1)!.cpu.usageNs), 53n * SEC);
});
