import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeSample } from '@metering/contracts';
import {
  CollectingPublisher,
  CountingMetrics,
  FakeClock,
  FakeDockerWorld,
  silentLog,
  testSettings,
} from '../../test/fake-docker-world';
import { TenantResolver } from '../discovery/tenant.resolver';
import { ContainerCollector } from './container-collector';

const SEC = 1_000_000_000n;

/**
 * The bytes on the wire for a fixed history of readings: two containers (one under a tenant's
 * parent cgroup, one with limits), cycles, an exit, the parent's residual. Work on the cost of a
 * cycle must not change them: the digest was taken on main (3eed14f, before that work), where
 * `cpu.hostCores` was added to each sample after it was built.
 */
async function wireBytes(): Promise<string[]> {
  const clock = new FakeClock();
  const world = new FakeDockerWorld(clock);
  const publisher = new CollectingPublisher();
  const collector = new ContainerCollector(
    {
      source: world,
      reader: world,
      publisher,
      tenants: new TenantResolver('metering.tenant', 'unassigned'),
      clock,
      metrics: new CountingMetrics(),
      log: silentLog,
    },
    testSettings({ hostCores: 8, dieGraceMs: 1 }),
  );
  await collector.start();
  const a = world.run({
    labels: { 'metering.tenant': 'acme' },
    parent: '/metering/acme',
    id: 'a'.repeat(64),
  });
  collector.handleEvent(world.event('start', a));
  await collector.idle();
  world.burn(a, 1_500_000_000n, 52_428_800);
  clock.advance(10_000);
  await collector.runCycle();
  const b = world.run({
    parent: '/docker',
    id: 'b'.repeat(64),
    limits: { cpuLimitCores: 0.5, memoryLimitBytes: 67_108_864 },
  });
  collector.handleEvent(world.event('start', b));
  await collector.idle();
  world.burn(b, 2n * SEC);
  world.burn(a, 123n);
  clock.advance(10_000);
  await collector.runCycle();
  world.exit(a);
  collector.handleEvent(world.event('die', a));
  await collector.idle();
  for (let i = 0; i < 2; i += 1) {
    clock.advance(10_000);
    await collector.runCycle();
  }
  await collector.stop();
  return publisher.samples.map((s) => encodeSample(s).toString('utf8'));
}

describe('the samples on the wire', () => {
  test('the same readings give exactly the same bytes', async () => {
    const lines = await wireBytes();
    assert.equal(lines[0], FIRST_SAMPLE, 'the first sample, field for field and in the same order');
    assert.equal(lines.length, 11);
    assert.equal(
      createHash('sha256').update(lines.join('\n')).digest('hex'),
      '7234a86c00cea85ec39b32c800fd5bb741b1717d7d60885a42c0fd3aad8bc09e',
      `every sample, byte for byte:\n${lines.join('\n')}`,
    );
  });
});

const FIRST_SAMPLE =
  '{"schema":"metering.sample.v1","sampleId":"c9563541b2aa0e1f1568bb66ecb5295125ef4e6c0f35f4fb2badcc52eef0ae23","source":"docker","host":"node-test","resource":{"kind":"container","id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","name":"fake-1","tenantId":"acme","instanceId":"aaaaaaaaaaaa@2026-11-26T13:00:00.000Z","startedAt":"2026-11-26T13:00:00.000Z"},"observedAt":"2026-11-26T13:00:00.000Z","sequence":0,"lifecycle":"start","intervalMs":10000,"cpu":{"usageNs":"0","allocationCores":null,"hostCores":8},"memory":{"usageBytes":1000000,"allocationBytes":null}}';
