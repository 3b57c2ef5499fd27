/* eslint-disable max-lines -- Long because: the collector's behaviour as one table of scenarios
 * on one fake host (fake-docker-world): containers, residuals, restarts and the property tests
 * share its rig and helpers. */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { validateSample } from '@metering/contracts';
import {
  CollectingPublisher,
  CountingMetrics,
  FakeClock,
  FakeDockerWorld,
  silentLog,
  testSettings,
} from '../../test/fake-docker-world';
import { TenantResolver } from '../discovery/tenant.resolver';
import { FileResidualStore } from '../persistence/file-residual.store';
import { type ResidualStore } from './collector.ports';
import { type CollectorSettings } from './collector.ports';
import { ContainerCollector } from './container-collector';

interface Rig {
  clock: FakeClock;
  world: FakeDockerWorld;
  publisher: CollectingPublisher;
  metrics: CountingMetrics;
  collector: ContainerCollector;
}

const running: ContainerCollector[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
});

function rig(settings: Partial<CollectorSettings> = {}, residualStore?: ResidualStore): Rig {
  const clock = new FakeClock();
  const world = new FakeDockerWorld(clock);
  const publisher = new CollectingPublisher();
  const metrics = new CountingMetrics();
  const r: Rig = { clock, world, publisher, metrics, collector: null as never };
  r.collector = collectorOf(r, settings, residualStore);
  return r;
}

/** A collector over the rig's world (a restarted one: a new process with the same store). */
function collectorOf(
  r: Omit<Rig, 'collector'>,
  settings: Partial<CollectorSettings> = {},
  residualStore?: ResidualStore,
): ContainerCollector {
  const collector = new ContainerCollector(
    {
      source: r.world,
      reader: r.world,
      publisher: r.publisher,
      tenants: new TenantResolver('metering.tenant', 'unassigned'),
      clock: r.clock,
      metrics: r.metrics,
      log: silentLog,
      ...(residualStore === undefined ? {} : { residualStore }),
    },
    testSettings(settings),
  );
  running.push(collector);
  return collector;
}

/** Every counter published, per resource instance, never goes down (rating bills increases). */
function assertMonotone(publisher: CollectingPublisher): void {
  const last = new Map<string, bigint>();
  for (const s of publisher.samples) {
    const key = `${s.resource.id}|${s.resource.instanceId}`;
    const value = BigInt(s.cpu.usageNs);
    assert.ok(value >= (last.get(key) ?? 0n), `${key} went back to ${value}`);
    last.set(key, value);
  }
}

const SEC = 1_000_000_000n;
const PARENT = '/metering/acme';

/** What can happen under a tenant's parent cgroup between two looks of the collector. */
type WorldStep =
  | { kind: 'start'; missEvent: boolean }
  | { kind: 'burn'; pick: number; ms: number }
  | { kind: 'exit'; pick: number; missDie: boolean }
  | { kind: 'cycle' }
  | { kind: 'young' }
  | { kind: 'resync' };
const worldStep: fc.Arbitrary<WorldStep> = fc.oneof(
  fc.record({ kind: fc.constant('start' as const), missEvent: fc.boolean() }),
  fc.record({
    kind: fc.constant('burn' as const),
    pick: fc.nat(),
    ms: fc.integer({ min: 1, max: 3000 }),
  }),
  fc.record({ kind: fc.constant('exit' as const), pick: fc.nat(), missDie: fc.boolean() }),
  fc.record({ kind: fc.constant('cycle' as const) }),
  fc.record({ kind: fc.constant('young' as const) }),
  fc.record({ kind: fc.constant('resync' as const) }),
);
/** The parent is known from its first child on: that one is seen starting. */
const FIRST_START: WorldStep = { kind: 'start', missEvent: false };

/** Applies a step, then checks that nothing beyond the kernel's count was metered. */
async function applyStep(r: Rig, live: string[], s: WorldStep): Promise<void> {
  r.clock.advance(300);
  switch (s.kind) {
    case 'start': {
      const id = r.world.run({ parent: PARENT });
      live.push(id);
      if (!s.missEvent) r.collector.handleEvent(r.world.event('start', id));
      break;
    }
    case 'burn': {
      const id = live[s.pick % Math.max(1, live.length)];
      if (id !== undefined) r.world.burn(id, BigInt(s.ms) * 1_000_000n);
      break;
    }
    case 'exit': {
      const [id] = live.splice(s.pick % Math.max(1, live.length), 1);
      if (id === undefined) break;
      r.world.exit(id);
      if (!s.missDie) r.collector.handleEvent(r.world.event('die', id));
      break;
    }
    case 'cycle':
      r.clock.advance(10_000);
      await r.collector.runCycle();
      break;
    case 'young':
      await r.collector.readYoung();
      break;
    case 'resync':
      await r.collector.resync();
      break;
  }
  await r.collector.idle();
  assert.ok(
    r.publisher.meteredCpuNs() <= r.world.parentCpuNs(PARENT),
    'never more than the kernel counted',
  );
}

/** A container runs 5 s under PARENT and exits, all of it metered: the parent's count then. */
async function meterOneContainer(r: Rig): Promise<bigint> {
  const a = r.world.run({ parent: PARENT });
  r.collector.handleEvent(r.world.event('start', a));
  await r.collector.idle();
  r.world.burn(a, 5n * SEC);
  r.world.exit(a);
  r.collector.handleEvent(r.world.event('die', a));
  await quietDown(r, []);
  const before = r.world.parentCpuNs(PARENT);
  assert.equal(r.publisher.meteredCpuNs(), before);
  return before;
}

/**
 * PARENT was created again after `before` was metered, with `b` under it: b burns, a container
 * comes and goes between two cycles; then the new count is metered, once, by a new counter.
 */
async function burnAndCheckNewCounter(r: Rig, b: string, before: bigint): Promise<void> {
  r.world.burn(b, SEC);
  const flash = r.world.run({ parent: PARENT });
  r.world.burn(flash, 700_000_000n);
  r.world.exit(flash);
  await quietDown(r, [b]);
  assert.equal(r.publisher.meteredCpuNs(), before + r.world.parentCpuNs(PARENT));
  const instances = new Set(
    r.publisher.samples
      .filter((x) => x.resource.residualOf === PARENT)
      .map((x) => x.resource.instanceId),
  );
  assert.equal(instances.size, 2, 'a new residual counter for the new cgroup');
  assertMonotone(r.publisher);
}

/** Every container exits (seen), then a few cycles: what is metered is final. */
async function quietDown(r: Rig, live: string[]): Promise<void> {
  for (const id of live.splice(0)) {
    r.world.exit(id);
    r.collector.handleEvent(r.world.event('die', id));
  }
  await r.collector.resync();
  await sleep(3);
  await r.collector.idle();
  for (let i = 0; i < 3; i += 1) {
    r.clock.advance(10_000);
    await r.collector.runCycle();
  }
}

describe('ContainerCollector', () => {
  test('start → running → final, with tenant, limits and a rising counter', async () => {
    const { clock, world, publisher, collector } = rig();
    await collector.start();
    const id = world.run({
      labels: { 'metering.tenant': 'acme' },
      limits: { cpuLimitCores: 1, memoryLimitBytes: 64 * 1024 * 1024 },
    });
    world.burn(id, 50_000_000n);
    collector.handleEvent(world.event('start', id));
    await collector.idle();

    clock.advance(10_000);
    world.burn(id, 9n * SEC, 30_000_000);
    await collector.runCycle();
    clock.advance(3_000);
    world.burn(id, 2n * SEC);
    await collector.readYoung(); // 13 s old: no longer young, not read
    world.exit(id);
    clock.advance(40);
    collector.handleEvent(world.event('die', id));
    await collector.idle();

    const samples = publisher.of(id);
    assert.deepEqual(
      samples.map((s) => s.lifecycle),
      ['start', 'running', 'final'],
    );
    assert.deepEqual(
      samples.map((s) => s.cpu.usageNs),
      ['50000000', '9050000000', '9050000000'],
    );
    for (const s of samples) {
      assert.equal(validateSample(s).ok, true);
      assert.equal(s.resource.tenantId, 'acme');
      assert.equal(s.cpu.allocationCores, 1);
      assert.equal(s.memory.allocationBytes, 64 * 1024 * 1024);
      assert.equal(s.host, 'node-test');
    }
    assert.equal(samples[1]?.memory.usageBytes, 30_000_000);
    const final = samples[2];
    assert.ok(final !== undefined);
    assert.equal(final.observedAt, new Date(Math.floor(clock.t)).toISOString());
    assert.equal(new Set(samples.map((s) => s.sampleId)).size, 3, 'distinct sample ids');
    assert.equal(collector.containerCount, 0);
  });

  test('unlabelled containers go to the default tenant; empty labels too', async () => {
    const { world, publisher, collector } = rig();
    await collector.start();
    const a = world.run({});
    const b = world.run({ labels: { 'metering.tenant': '  ' } });
    collector.handleEvent(world.event('start', a));
    collector.handleEvent(world.event('start', b));
    await collector.idle();
    assert.equal(publisher.of(a)[0]?.resource.tenantId, 'unassigned');
    assert.equal(publisher.of(b)[0]?.resource.tenantId, 'unassigned');
  });

  test('containers running before the collector are found by the first listing', async () => {
    const { world, publisher, collector } = rig();
    const id = world.run({ labels: { 'metering.tenant': 'globex' } });
    world.burn(id, 7n * SEC);
    await collector.start();
    assert.equal(publisher.of(id)[0]?.cpu.usageNs, '7000000000');
    assert.equal(publisher.of(id)[0]?.lifecycle, 'start');
  });

  test('a restart gives a new instance id and ends the old instance', async () => {
    const { clock, world, publisher, collector } = rig();
    await collector.start();
    const id = world.run({});
    world.burn(id, SEC);
    collector.handleEvent(world.event('start', id));
    await collector.idle();
    world.restart(id);
    collector.handleEvent(world.event('die', id));
    collector.handleEvent(world.event('start', id));
    await collector.idle();
    world.burn(id, 2n * SEC);
    clock.advance(10_000);
    await collector.runCycle();

    const samples = publisher.of(id);
    const instances = [...new Set(samples.map((s) => s.resource.instanceId))];
    assert.equal(instances.length, 2);
    assert.deepEqual(
      samples.map(
        (s) => `${s.resource.instanceId === instances[0] ? 'old' : 'new'}:${s.lifecycle}`,
      ),
      ['old:start', 'old:final', 'new:start', 'new:running'],
    );
    assert.equal(samples.at(-1)?.cpu.usageNs, String(2n * SEC));
  });

  test('a restart whose die was missed still ends the old instance', async () => {
    const { world, publisher, collector } = rig();
    await collector.start();
    const id = world.run({});
    collector.handleEvent(world.event('start', id));
    await collector.idle();
    world.restart(id);
    collector.handleEvent(world.event('start', id)); // no die
    await collector.idle();
    assert.deepEqual(
      publisher.of(id).map((s) => s.lifecycle),
      ['start', 'final', 'start'],
    );
  });

  test('a short-lived container: young reads make its final sample carry its CPU', async () => {
    const { clock, world, publisher, metrics, collector } = rig();
    await collector.start();
    const id = world.run({ labels: { 'metering.tenant': 'acme' } });
    world.burn(id, 30_000_000n);
    collector.handleEvent(world.event('start', id));
    await collector.idle();
    for (let i = 0; i < 8; i += 1) {
      clock.advance(250);
      world.burn(id, 250_000_000n);
      await collector.readYoung();
    }
    clock.advance(100);
    world.burn(id, 100_000_000n); // after the last reading: lost to the container, not the tenant
    world.exit(id);
    clock.advance(30);
    collector.handleEvent(world.event('die', id));
    await collector.idle();

    const samples = publisher.of(id);
    assert.deepEqual(
      samples.map((s) => s.lifecycle),
      ['start', 'final'],
    );
    assert.equal(samples[1]?.cpu.usageNs, String(30_000_000n + 8n * 250_000_000n));
    assert.equal(metrics.shortLivedCounts.caught, 1);
  });

  test('a restart with no events at all is found by its counter going back', async () => {
    const { clock, world, publisher, collector } = rig();
    await collector.start();
    const id = world.run({});
    world.burn(id, 5n * SEC);
    collector.handleEvent(world.event('start', id));
    await collector.idle();
    world.restart(id); // same cgroup path, counter from zero, no die/start delivered
    world.burn(id, SEC);
    clock.advance(10_000);
    await collector.runCycle();
    await collector.idle();
    const samples = publisher.of(id);
    assert.deepEqual(
      samples.map((s) => s.lifecycle),
      ['start', 'final', 'start'],
    );
    assert.equal(samples[1]?.cpu.usageNs, String(5n * SEC));
    assert.equal(samples[2]?.cpu.usageNs, String(SEC));
    assert.notEqual(samples[0]?.resource.instanceId, samples[2]?.resource.instanceId);
  });

  test('a cgroup that vanishes without a die event is ended by inspect after the grace time', async () => {
    const { clock, world, publisher, collector } = rig({ dieGraceMs: 10 });
    await collector.start();
    const id = world.run({});
    world.burn(id, SEC);
    collector.handleEvent(world.event('start', id));
    await collector.idle();
    clock.advance(500);
    world.exit(id);
    const exitedAt = new Date(clock.t).toISOString();
    clock.advance(10_000);
    await collector.runCycle(); // the read vanishes
    await sleep(30);
    await collector.idle();
    const final = publisher.of(id).at(-1);
    assert.equal(final?.lifecycle, 'final');
    assert.equal(final?.observedAt, exitedAt, 'exit time from inspect, not when we noticed');
  });

  test('a container gone before it could be inspected is counted as missed', async () => {
    const { world, metrics, publisher, collector } = rig();
    await collector.start();
    const id = world.run({});
    world.burn(id, SEC);
    world.exit(id);
    collector.handleEvent(world.event('start', id));
    collector.handleEvent(world.event('die', id));
    await collector.idle();
    assert.equal(publisher.of(id).length, 0);
    assert.equal(metrics.shortLivedCounts.missed, 1);
  });

  test('duplicate events (a replay after reconnect) change nothing', async () => {
    const { world, publisher, collector } = rig();
    await collector.start();
    const id = world.run({});
    const start = world.event('start', id);
    collector.handleEvent(start);
    collector.handleEvent(start);
    await collector.idle();
    world.exit(id);
    const die = world.event('die', id);
    collector.handleEvent(die);
    await collector.idle();
    collector.handleEvent(start);
    collector.handleEvent(die);
    await collector.idle();
    assert.deepEqual(
      publisher.of(id).map((s) => s.lifecycle),
      ['start', 'final'],
    );
  });

  test('resync finds containers whose events were missed, and ends those gone', async () => {
    const { world, publisher, collector } = rig();
    await collector.start();
    const a = world.run({});
    const b = world.run({});
    collector.handleEvent(world.event('start', a));
    await collector.idle();
    world.exit(a);
    await collector.resync();
    await collector.idle();
    assert.deepEqual(
      publisher.of(a).map((s) => s.lifecycle),
      ['start', 'final'],
    );
    assert.deepEqual(
      publisher.of(b).map((s) => s.lifecycle),
      ['start'],
    );
  });

  test('limits are re-read after an update event', async () => {
    const { clock, world, publisher, collector } = rig();
    await collector.start();
    const id = world.run({ limits: { memoryLimitBytes: 1000 } });
    collector.handleEvent(world.event('start', id));
    await collector.idle();
    world.containers.get(id)!.limits = { cpuLimitCores: 0.5, memoryLimitBytes: 2000 };
    clock.advance(10_000);
    await collector.runCycle();
    assert.equal(publisher.of(id).at(-1)?.memory.allocationBytes, 1000, 'not re-read yet');
    collector.handleEvent(world.event('update', id));
    clock.advance(10_000);
    await collector.runCycle();
    assert.equal(publisher.of(id).at(-1)?.memory.allocationBytes, 2000);
    assert.equal(publisher.of(id).at(-1)?.cpu.allocationCores, 0.5);
  });
});

/** A child of PARENT labelled for the tenant, seen starting, that has burnt 1 s. */
async function longChild(world: FakeDockerWorld, collector: ContainerCollector): Promise<string> {
  const long = world.run({ parent: PARENT, labels: { 'metering.tenant': 'acme' } });
  world.burn(long, SEC);
  collector.handleEvent(world.event('start', long));
  await collector.idle();
  return long;
}

/** A child of PARENT read once at 0.1 s that burns 0.25 s more and exits: a tail of 0.25 s. */
async function childWithTail(world: FakeDockerWorld, collector: ContainerCollector): Promise<void> {
  const tail = world.run({ parent: PARENT });
  world.burn(tail, 100_000_000n);
  collector.handleEvent(world.event('start', tail));
  await collector.idle();
  world.burn(tail, 250_000_000n);
  world.exit(tail);
  collector.handleEvent(world.event('die', tail));
  await collector.idle();
}

describe('the residual of per-tenant parent cgroups', () => {
  test('what exited children used after their last reading is metered for the tenant', async () => {
    const { clock, world, publisher, collector } = rig();
    await collector.start();
    const long = await longChild(world, collector);

    // A container that lives and dies between two readings: never read at all.
    const flash = world.run({ parent: PARENT });
    world.burn(flash, 700_000_000n);
    world.exit(flash);
    collector.handleEvent(world.event('start', flash));
    // One that was read, then burnt more before exiting.
    await childWithTail(world, collector);

    for (let i = 0; i < 3; i += 1) {
      clock.advance(10_000);
      world.burn(long, SEC);
      await collector.runCycle();
    }
    const residual = publisher.samples.filter((s) => s.resource.residualOf === PARENT);
    assert.ok(residual.length >= 2);
    assert.equal(residual[0]?.lifecycle, 'start');
    assert.equal(residual.at(-1)?.resource.tenantId, 'acme');
    assert.equal(residual.at(-1)?.cpu.usageNs, String(700_000_000n + 250_000_000n));
    for (const s of residual) assert.equal(validateSample(s).ok, true);
    // Everything the kernel counted under the parent is metered, once.
    assert.equal(
      publisher.meteredCpuNs((s) => s.resource.id !== long) +
        BigInt(publisher.of(long).at(-2)?.cpu.usageNs ?? '0'),
      world.parentCpuNs(PARENT) - SEC,
      'the last cycle of the long container is evaluated one cycle later',
    );
  });

  test('containers starting all the time elsewhere (a discovery always in flight) do not hold it back', async () => {
    const { clock, world, publisher, collector } = rig();
    await collector.start();
    const long = await longChild(world, collector);
    await childWithTail(world, collector);

    // Meanwhile a container starts under another parent every cycle, and the engine takes
    // longer than a cycle to inspect each: at every cycle's end one is still being discovered.
    let slow: string | null = null;
    try {
      for (let i = 0; i < 6; i += 1) {
        clock.advance(10_000);
        const next = world.run({ parent: '/docker' });
        world.holdInspect(next);
        collector.handleEvent(world.event('start', next));
        world.burn(long, SEC);
        await collector.runCycle();
        if (slow !== null) world.releaseInspect(slow);
        slow = next;
      }
      const residual = publisher.samples.filter((s) => s.resource.residualOf === PARENT).at(-1);
      assert.equal(
        residual?.cpu.usageNs,
        String(250_000_000n),
        'the tail, while the churn goes on',
      );
      assertMonotone(publisher);
    } finally {
      if (slow !== null) world.releaseInspect(slow);
    }
    await collector.idle();
  });

  test('parents outside the tenant pattern are not published', async () => {
    const { clock, world, publisher, collector } = rig();
    await collector.start();
    const id = world.run({ parent: '/docker' });
    collector.handleEvent(world.event('start', id));
    await collector.idle();
    world.burn(id, SEC);
    world.exit(id);
    collector.handleEvent(world.event('die', id));
    for (let i = 0; i < 3; i += 1) {
      clock.advance(10_000);
      await collector.runCycle();
    }
    assert.equal(publisher.samples.filter((s) => s.resource.residualOf !== undefined).length, 0);
  });

  test('children running before the collector started are not counted twice', async () => {
    const { clock, world, publisher, collector } = rig();
    const a = world.run({ parent: PARENT });
    const b = world.run({ parent: PARENT });
    world.burn(a, 100n * SEC);
    world.burn(b, 50n * SEC);
    await collector.start();
    world.burn(a, SEC);
    clock.advance(10_000);
    await collector.runCycle();
    world.burn(b, SEC);
    world.exit(b);
    collector.handleEvent(world.event('die', b));
    await collector.idle();
    for (let i = 0; i < 2; i += 1) {
      clock.advance(10_000);
      await collector.runCycle();
    }
    const residual = publisher.samples.filter((s) => s.resource.residualOf === PARENT).at(-1);
    assert.equal(residual?.cpu.usageNs, String(SEC), "b's last second, after its last reading");
  });

  test('a parent cgroup created again between two cycles gets a new residual counter', async () => {
    const r = rig({ dieGraceMs: 1 });
    await r.collector.start();
    const before = await meterOneContainer(r);
    // Between two cycles: the empty parent is removed, created again by a new container.
    r.world.removeParent(PARENT);
    const b = r.world.run({ parent: PARENT });
    r.collector.handleEvent(r.world.event('start', b));
    await r.collector.idle();
    for (let i = 0; i < 2; i += 1) {
      r.clock.advance(10_000);
      await r.collector.runCycle();
      await r.collector.idle();
    }
    await burnAndCheckNewCounter(r, b, before);
  });

  // A container whose start event was missed burns; cycles read the parent, which counts its
  // CPU while no known child does. Found by a listing later, it was adopted as started after the
  // baseline, so its start sample carried its whole counter: what the residual had published of
  // it was billed twice. Now each cycle lists, and a parent reading is evaluated only once a
  // listing after it has found every child running at it.
  test('a container whose start event was missed, found by a later listing, is not counted twice', async () => {
    const r = rig({ dieGraceMs: 1 });
    await r.collector.start();
    const live: string[] = [];
    await applyStep(r, live, FIRST_START);
    await applyStep(r, live, { kind: 'start', missEvent: true });
    await applyStep(r, live, { kind: 'burn', pick: 1, ms: 1 });
    await applyStep(r, live, { kind: 'cycle' });
    await applyStep(r, live, { kind: 'cycle' });
    await applyStep(r, live, { kind: 'resync' });
    await applyStep(r, live, { kind: 'cycle' });
    await quietDown(r, live);
    assert.equal(r.publisher.meteredCpuNs(), r.world.parentCpuNs(PARENT), 'everything, once');
    assertMonotone(r.publisher);
  });

  test('a listed container that cannot be inspected holds the residual back until it can', async () => {
    const r = rig({ dieGraceMs: 1 });
    const failing = new Set<string>();
    const inspect = r.world.inspect.bind(r.world);
    r.world.inspect = (id) =>
      failing.has(id) ? Promise.reject(new Error('engine busy')) : inspect(id);
    await r.collector.start();
    const live: string[] = [];
    await applyStep(r, live, FIRST_START);
    await applyStep(r, live, { kind: 'cycle' });
    await applyStep(r, live, { kind: 'cycle' });
    const before = r.publisher.meteredCpuNs();
    const hidden = r.world.run({ parent: PARENT }); // its start event missed
    live.push(hidden);
    failing.add(hidden);
    r.world.burn(hidden, SEC);
    for (let i = 0; i < 3; i += 1) await applyStep(r, live, { kind: 'cycle' });
    assert.equal(r.publisher.meteredCpuNs(), before, 'its CPU not in the residual meanwhile');
    failing.delete(hidden);
    await applyStep(r, live, { kind: 'cycle' }); // the listing now finds it
    assert.equal(r.publisher.of(hidden)[0]?.cpu.usageNs, String(SEC), 'its start sample');
    await quietDown(r, live);
    assert.equal(r.publisher.meteredCpuNs(), r.world.parentCpuNs(PARENT), 'everything, once');
    assertMonotone(r.publisher);
  });

  // The invariant that matters for money: whatever happens, what is metered under a parent
  // never exceeds what the kernel counted there; once quiet, it equals it.
  test('property: metered ≤ kernel at every step, = once quiet', async () => {
    await fc.assert(
      // The parent is known from its first child on: that one is seen starting.
      fc.asyncProperty(fc.array(worldStep, { minLength: 1, maxLength: 40 }), async (rest) => {
        const r = rig({ dieGraceMs: 1 });
        await r.collector.start();
        const live: string[] = [];
        for (const s of [FIRST_START, ...rest]) await applyStep(r, live, s);
        await quietDown(r, live);
        assert.equal(r.publisher.meteredCpuNs(), r.world.parentCpuNs(PARENT), 'everything, once');
        await r.collector.stop();
      }),
      { numRuns: 150 },
    );
  });
});

describe('the residuals across restarts of the collector (FileResidualStore)', () => {
  const dirs: string[] = [];
  const stores: FileResidualStore[] = [];
  afterEach(async () => {
    // Snapshots are written in the background: done before their directory goes.
    await Promise.all(stores.splice(0).map((s) => s.flush()));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const store = (): FileResidualStore => {
    const dir = mkdtempSync(join(tmpdir(), 'residual-store-'));
    dirs.push(dir);
    const s = new FileResidualStore(dir, 'boot-1');
    stores.push(s);
    return s;
  };

  test('a container that exits while the collector is down: its tail is in the residual', async () => {
    const s = store();
    const r = rig({}, s);
    await r.collector.start();
    const a = r.world.run({ parent: PARENT });
    r.world.burn(a, SEC);
    r.collector.handleEvent(r.world.event('start', a));
    await r.collector.idle();
    r.clock.advance(10_000);
    await r.collector.runCycle();
    const before = r.publisher.meteredCpuNs();
    await r.collector.stop(); // the collector goes away; `a` burns on, then exits unseen
    r.world.burn(a, 3n * SEC);
    r.world.exit(a);
    // Started and ended while it was down: never seen by any collector.
    const b = r.world.run({ parent: PARENT });
    r.world.burn(b, 2n * SEC);
    r.world.exit(b);
    r.collector = collectorOf(r, {}, s);
    await r.collector.start();
    for (let i = 0; i < 3; i += 1) {
      r.clock.advance(10_000);
      await r.collector.runCycle();
    }
    assert.equal(r.publisher.meteredCpuNs() - before, 5n * SEC, "a's 3 s and b's 2 s");
    assert.equal(r.publisher.meteredCpuNs(), r.world.parentCpuNs(PARENT));
    const residual = r.publisher.samples.filter((x) => x.resource.residualOf === PARENT);
    assert.equal(new Set(residual.map((x) => x.resource.instanceId)).size, 1, 'one counter');
    assertMonotone(r.publisher);
  });

  test('a final sample published just before the collector went down is not counted again', async () => {
    const s = store();
    const r = rig({ dieGraceMs: 1 }, s);
    await r.collector.start();
    const a = r.world.run({ parent: PARENT });
    r.collector.handleEvent(r.world.event('start', a));
    await r.collector.idle();
    r.clock.advance(1_000);
    await r.collector.runCycle(); // the snapshot (a is still young)
    r.world.burn(a, SEC);
    await r.collector.readYoung(); // read, not published: the final sample will carry it
    r.world.exit(a);
    r.collector.handleEvent(r.world.event('die', a));
    await r.collector.idle();
    assert.equal(r.publisher.of(a).at(-1)?.cpu.usageNs, String(SEC), 'the final sample');
    await r.collector.stop();
    r.collector = collectorOf(r, { dieGraceMs: 1 }, s);
    await r.collector.start();
    for (let i = 0; i < 3; i += 1) {
      r.clock.advance(10_000);
      await r.collector.runCycle();
    }
    assert.equal(r.publisher.meteredCpuNs(), r.world.parentCpuNs(PARENT), 'once');
  });

  test('a parent removed and created again while the collector was down starts afresh', async () => {
    const s = store();
    const r = rig({ dieGraceMs: 1 }, s);
    await r.collector.start();
    const before = await meterOneContainer(r);
    await r.collector.stop();
    r.world.removeParent(PARENT); // its counter starts again at zero
    const b = r.world.run({ parent: PARENT });
    r.collector = collectorOf(r, { dieGraceMs: 1 }, s);
    await r.collector.start();
    r.clock.advance(10_000);
    await r.collector.runCycle();
    await burnAndCheckNewCounter(r, b, before);
  });

  test('after a reboot (another boot id) the saved residuals are not used', async () => {
    const s = store();
    const r = rig({}, s);
    await r.collector.start();
    const a = r.world.run({ parent: PARENT });
    r.collector.handleEvent(r.world.event('start', a));
    await r.collector.idle();
    r.clock.advance(10_000);
    await r.collector.runCycle();
    await r.collector.stop();
    const dir = dirs.at(-1)!;
    assert.notEqual(new FileResidualStore(dir, 'boot-1').load(), null);
    assert.equal(new FileResidualStore(dir, 'boot-2').load(), null);
  });

  // Found by the property below (seed -130128325): a container whose start event was missed
  // burns; cycles put its CPU in the residual (its parent counts it, no known child does); after
  // a restart the first listing found it and adopted it as started after the baseline, so its
  // start sample carried its whole counter again.
  test('a container found only after a restart: what the residual carried of it is not counted again', async () => {
    const s = store();
    const r = rig({ dieGraceMs: 1 }, s);
    await r.collector.start();
    const live: string[] = [];
    await applyStep(r, live, FIRST_START);
    await applyStep(r, live, { kind: 'start', missEvent: true });
    await applyStep(r, live, { kind: 'burn', pick: 1, ms: 1 });
    await applyStep(r, live, { kind: 'cycle' });
    await applyStep(r, live, { kind: 'cycle' });
    await r.collector.stop();
    r.clock.advance(5_000);
    r.collector = collectorOf(r, { dieGraceMs: 1 }, s);
    await r.collector.start();
    assert.ok(r.publisher.meteredCpuNs() <= r.world.parentCpuNs(PARENT), 'after the restart');
    await quietDown(r, live);
    assert.equal(r.publisher.meteredCpuNs(), r.world.parentCpuNs(PARENT), 'everything, once');
    assertMonotone(r.publisher);
  });

  // The money invariant again, now with the collector stopping and starting anywhere, and
  // containers burning, exiting and starting while it is down.
  test('property: metered ≤ kernel at every step, = once quiet, across restarts', async () => {
    type Restart = {
      kind: 'restart';
      exitPick: number | null;
      burnMs: number;
      flashMs: number | null;
    };
    const restart: fc.Arbitrary<Restart> = fc.record({
      kind: fc.constant('restart' as const),
      exitPick: fc.option(fc.nat()),
      burnMs: fc.integer({ min: 0, max: 3000 }),
      flashMs: fc.option(fc.integer({ min: 1, max: 3000 })),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(worldStep, restart), { minLength: 1, maxLength: 40 }),
        async (rest) => {
          const s = store();
          const r = rig({ dieGraceMs: 1 }, s);
          await r.collector.start();
          const live: string[] = [];
          for (const st of [FIRST_START, ...rest]) {
            if (st.kind !== 'restart') {
              await applyStep(r, live, st);
              continue;
            }
            await r.collector.stop();
            // While it is down: the first live container burns, one may exit, and a container
            // may come and go unseen.
            if (live[0] !== undefined) r.world.burn(live[0], BigInt(st.burnMs) * 1_000_000n);
            if (st.exitPick !== null && live.length > 0) {
              const [id] = live.splice(st.exitPick % live.length, 1);
              r.world.exit(id!);
            }
            if (st.flashMs !== null) {
              const flash = r.world.run({ parent: PARENT });
              r.world.burn(flash, BigInt(st.flashMs) * 1_000_000n);
              r.world.exit(flash);
            }
            r.clock.advance(5_000);
            r.collector = collectorOf(r, { dieGraceMs: 1 }, s);
            await r.collector.start();
            assert.ok(r.publisher.meteredCpuNs() <= r.world.parentCpuNs(PARENT));
          }
          await quietDown(r, live);
          assert.equal(r.publisher.meteredCpuNs(), r.world.parentCpuNs(PARENT), 'everything, once');
          assertMonotone(r.publisher);
          await r.collector.stop();
        },
      ),
      {
        numRuns: 150,
        // The counterexample of seed -130128325 (see the table test above), always run.
        examples: [
          [
            [
              { kind: 'start', missEvent: true },
              { kind: 'burn', pick: 673259151, ms: 1 },
              { kind: 'cycle' },
              { kind: 'cycle' },
              { kind: 'restart', exitPick: null, burnMs: 0, flashMs: null },
            ],
          ],
        ],
      },
    );
  });
});
