import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SampleEvent, validateSample } from '@metering/contracts';
import {
  CollectingPublisher,
  CountingMetrics,
  FakeClock,
  FakeDockerWorld,
  silentLog,
  testSettings,
} from '../../test/fake-docker-world';
import { TenantResolver } from '../discovery/tenant.resolver';
import { FileFollowedStore } from '../persistence/followed-containers.store';
import { ContainerCollector } from './container-collector';

// A container that ends while the collector is down (README, "Across restarts"): the restarted
// collector reads what the previous run followed (a real FileFollowedStore on disk) and ends the
// instances that are gone with a final inferred from their last sample.

const SEC = 1_000_000_000n;
const dirs: string[] = [];
const running: ContainerCollector[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function world() {
  const dir = mkdtempSync(join(tmpdir(), 'followed-containers-'));
  dirs.push(dir);
  const clock = new FakeClock();
  const w = {
    clock,
    world: new FakeDockerWorld(clock),
    publisher: new CollectingPublisher(),
    metrics: new CountingMetrics(),
    store: new FileFollowedStore(join(dir, 'followed')),
    dir,
  };
  return w;
}

function collector(w: ReturnType<typeof world>): ContainerCollector {
  const c = new ContainerCollector(
    {
      source: w.world,
      reader: w.world,
      publisher: w.publisher,
      tenants: new TenantResolver('metering.tenant', 'unassigned'),
      clock: w.clock,
      metrics: w.metrics,
      log: silentLog,
      followedStore: w.store,
    },
    testSettings({ meterResidual: false }),
  );
  running.push(c);
  return c;
}

/** A first run that saw container `id` start and sampled it twice, then went down. */
async function firstRun(w: ReturnType<typeof world>, ids: string[]): Promise<SampleEvent[]> {
  const c = collector(w);
  await c.start();
  for (const id of ids) c.handleEvent(w.world.event('start', id));
  await c.idle();
  for (let i = 0; i < 2; i += 1) {
    for (const id of ids) w.world.burn(id, SEC);
    w.clock.advance(10_000);
    await c.runCycle();
  }
  await c.stop();
  running.splice(running.indexOf(c), 1);
  return ids.map((id) => w.publisher.of(id).at(-1)!);
}

describe('containers that end while the collector is down', () => {
  test('exited (the engine still knows it): a final from the last sample, detected at its exit', async () => {
    const w = world();
    const a = w.world.run({ labels: { 'metering.tenant': 'acme' } });
    const [last] = await firstRun(w, [a]);
    assert.equal(last?.lifecycle, 'running');
    assert.equal(last.intervalMs, 10_000, 'container samples declare their interval');
    w.world.burn(a, 3n * SEC); // unseen
    w.clock.advance(4_000);
    const exitAt = w.clock.t;
    w.world.exit(a);
    w.clock.advance(60_000);
    await collector(w).start();
    const finals = w.publisher.of(a).filter((s) => s.lifecycle === 'final');
    assert.equal(finals.length, 1);
    const final = finals[0]!;
    validateSample(final);
    assert.deepEqual(final.inferred, {
      reason: 'collector-restart',
      lastSeenAt: last.observedAt,
      detectedAt: new Date(exitAt).toISOString(),
    });
    assert.equal(Date.parse(final.observedAt), Date.parse(last.observedAt) + 1);
    assert.equal(final.cpu.usageNs, last.cpu.usageNs, 'the last reading: nothing invented');
    assert.equal(final.resource.instanceId, last.resource.instanceId);
    assert.notEqual(final.sampleId, last.sampleId);
    assert.equal(final.intervalMs, 10_000);
    // Settled: a later listing says nothing more about it.
    await collector(w).start();
    assert.equal(w.publisher.of(a).filter((s) => s.lifecycle === 'final').length, 1);
  });

  test('removed (--rm): detected when the restarted collector listed', async () => {
    const w = world();
    const a = w.world.run({});
    const [last] = await firstRun(w, [a]);
    w.world.remove(a);
    w.clock.advance(30_000);
    const restartAt = w.clock.t;
    await collector(w).start();
    const final = w.publisher.of(a).at(-1)!;
    assert.equal(final.lifecycle, 'final');
    assert.equal(final.inferred?.lastSeenAt, last?.observedAt);
    assert.ok(Date.parse(final.inferred!.detectedAt) >= Math.floor(restartAt));
  });

  test('still running: no final, it goes on as the same instance', async () => {
    const w = world();
    const a = w.world.run({});
    const [last] = await firstRun(w, [a]);
    w.clock.advance(5_000);
    await collector(w).start();
    const after = w.publisher
      .of(a)
      .filter((s) => Date.parse(s.observedAt) > Date.parse(last!.observedAt));
    assert.deepEqual(
      after.map((s) => [s.lifecycle, s.resource.instanceId, s.inferred]),
      [['start', last!.resource.instanceId, undefined]],
    );
  });

  test('restarted while down: the old instance ends inferred, the new one starts', async () => {
    const w = world();
    const a = w.world.run({});
    const [last] = await firstRun(w, [a]);
    w.world.restart(a);
    w.clock.advance(5_000);
    await collector(w).start();
    const after = w.publisher
      .of(a)
      .filter((s) => Date.parse(s.observedAt) > Date.parse(last!.observedAt));
    // Two instances, each in order (rating keys on the instance): the new one's start is
    // published as it is discovered, the old one's final once the listing is settled.
    assert.deepEqual(
      after
        .sort((x, y) => x.lifecycle.localeCompare(y.lifecycle))
        .map((s) => [
          s.lifecycle,
          s.inferred?.reason ?? null,
          s.resource.instanceId === last!.resource.instanceId,
        ]),
      [
        ['final', 'collector-restart', true],
        ['start', null, false],
      ],
    );
  });

  test('an unusable state file is logged and counted, the collector starts without memory', async () => {
    for (const content of [
      Buffer.alloc(1024),
      '{"version":1,"samples":[{"schema":"x"}]}',
      '{"vers',
    ]) {
      const w = world();
      mkdirSync(join(w.dir, 'followed'), { recursive: true });
      writeFileSync(join(w.dir, 'followed', 'containers.json'), content);
      const a = w.world.run({});
      await collector(w).start();
      assert.equal(w.metrics.errors.get('followed_state_failed'), 1);
      assert.deepEqual(
        w.publisher.of(a).map((s) => s.lifecycle),
        ['start'],
      );
      // …and replaced by a good one.
      assert.equal(w.store.load().kind, 'loaded');
    }
  });
});
