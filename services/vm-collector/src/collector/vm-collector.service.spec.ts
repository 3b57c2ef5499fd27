import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type SampleEvent } from '@metering/contracts';
import {
  createRootLogger,
  HealthRegistry,
  type HealthIndicator,
  MetricsRegistry,
} from '@metering/observability';
import { type SamplePublisher } from '@metering/spool';
import { loadConfig } from '../config';
import { type ConnectionStatus, type DomainReadError, type DomainSource } from '../discovery';
import { type DomainReading, type HostObservation } from '../sampling';
import { CollectorMetrics } from './collector.metrics';
import { VmCollectorService } from './vm-collector.service';

const URI = 'qemu:///system';

class FakeSource implements DomainSource {
  next: HostObservation[] = [];
  readErrors: DomainReadError[] = [];
  lastOkAt: Date | null = null;
  lastError: string | null = null;
  closed = false;
  /** What settled() answers; `changed` is what watch() was given. */
  quiet = false;
  changed: (() => void) | undefined;
  observed = 0;

  observe(): Promise<HostObservation[]> {
    this.observed += 1;
    for (const o of this.next) {
      this.lastError = o.ok ? null : o.error;
      if (o.ok) this.lastOkAt = new Date();
    }
    return Promise.resolve(this.next);
  }
  errors(): readonly DomainReadError[] {
    return this.readErrors;
  }
  watch(changed: () => void): string | null {
    this.changed = changed;
    return null;
  }
  settled(): boolean {
    return this.quiet;
  }
  connections(): ConnectionStatus[] {
    return [{ uri: URI, connected: true, lastError: this.lastError, lastOkAt: this.lastOkAt }];
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

class FakePublisher implements SamplePublisher {
  published: SampleEvent[] = [];
  failNext = false;
  flushedWith: number | undefined;
  closed = false;

  publish(sample: SampleEvent): void {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('spool closed');
    }
    this.published.push(sample);
  }
  flush(timeoutMs: number): Promise<boolean> {
    this.flushedWith = timeoutMs;
    return Promise.resolve(true);
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
  depth(): number {
    return 7;
  }
  livenessIndicator(): HealthIndicator {
    return () => Promise.resolve({ status: 'up' });
  }
  healthIndicator(): HealthIndicator {
    return () => Promise.resolve({ status: 'up' });
  }
}

function reading(uuid: string, cpuSeconds: number): DomainReading {
  return {
    uri: URI,
    host: 'kvm-1',
    uuid,
    name: `vm-${uuid.slice(0, 4)}`,
    domainId: 3,
    state: 'running',
    cpuTimeNs: BigInt(cpuSeconds) * 1_000_000_000n,
    vcpus: 1,
    memoryBytes: 2 ** 27,
    maxMemoryBytes: 2 ** 27,
    tenantId: null,
    processExpected: false,
    process: null,
    observedAt: new Date(),
  };
}

function setup(overrides: Partial<ReturnType<typeof loadConfig>> = {}) {
  const config = {
    ...loadConfig({ KAFKA_BROKERS: '127.0.0.1:9092', SPOOL_DIR: '/tmp/unused' }),
    sampleIntervalMs: 60_000,
    shutdownFlushMs: 1234,
    ...overrides,
  };
  const source = new FakeSource();
  const publisher = new FakePublisher();
  const registry = new MetricsRegistry({
    serviceName: 'vm-collector',
    collectDefaultMetrics: false,
  });
  const health = new HealthRegistry();
  const service = new VmCollectorService(
    config,
    source,
    publisher,
    new CollectorMetrics(registry, () => publisher.depth()),
    health,
    createRootLogger({ level: 'silent' }),
  );
  return { service, source, publisher, registry, health };
}

const A = '11111111-2222-4333-8444-555555555555';
const B = '66666666-7777-4888-9999-aaaaaaaaaaaa';

test('each poll publishes the cycle’s samples and counts them by lifecycle', async () => {
  const { service, source, publisher, registry } = setup();
  source.next = [
    { uri: URI, ok: true, domains: [reading(A, 1), reading(B, 2)], listed: 3, unreadable: [] },
  ];
  await service.pollOnce();
  // Running samples are due once per sample interval (60 s here): none on the next poll.
  source.next = [{ uri: URI, ok: true, domains: [reading(A, 2)], listed: 2, unreadable: [] }];
  await service.pollOnce();
  assert.deepEqual(
    publisher.published.map((s) => `${s.resource.id.slice(0, 1)}:${s.lifecycle}`),
    ['1:start', '6:start', '6:final'],
  );
  assert.equal(publisher.published[0]?.resource.tenantId, 'default');
  const metrics = await registry.metrics();
  assert.match(metrics, /vm_collector_samples_published_total\{lifecycle="start",[^}]*\} 2/);
  assert.match(metrics, /vm_collector_samples_published_total\{lifecycle="final",[^}]*\} 1/);
  assert.match(metrics, /vm_collector_domains_listed\{uri="qemu:\/\/\/system",[^}]*\} 2/);
  assert.match(metrics, /vm_collector_domains_active\{uri="qemu:\/\/\/system",[^}]*\} 1/);
  assert.match(metrics, /vm_collector_instances_tracked\{[^}]*\} 1/);
  assert.match(metrics, /vm_collector_publisher_depth\{[^}]*\} 7/);
});

test('a publish failure is counted and the other samples still go out', async () => {
  const { service, source, publisher, registry } = setup();
  publisher.failNext = true;
  source.next = [
    { uri: URI, ok: true, domains: [reading(A, 1), reading(B, 1)], listed: 2, unreadable: [] },
  ];
  const published = await service.pollOnce();
  assert.deepEqual(
    published.map((s) => s.resource.id),
    [B],
  );
  assert.match(await registry.metrics(), /vm_collector_errors_total\{kind="publish",[^}]*\} 1/);
});

test('a failed connection and unreadable domains are counted; libvirt health goes down', async () => {
  const { service, source, registry } = setup();
  source.next = [{ uri: URI, ok: false, error: 'Cannot recv data: Connection reset by peer' }];
  source.readErrors = [{ uri: URI, domain: 'vm-x', stage: 'metadata', message: 'timeout' }];
  await service.pollOnce();
  const down = service.libvirtHealth();
  assert.equal(down.status, 'down');
  assert.match(JSON.stringify(down.detail), /Connection reset by peer/);
  const metrics = await registry.metrics();
  assert.match(metrics, /vm_collector_errors_total\{kind="connection",[^}]*\} 1/);
  assert.match(metrics, /vm_collector_errors_total\{kind="metadata",[^}]*\} 1/);
  assert.match(metrics, /vm_collector_libvirt_connection_up\{uri="qemu:\/\/\/system",[^}]*\} 0/);

  source.next = [{ uri: URI, ok: true, domains: [], listed: 0, unreadable: [] }];
  source.readErrors = [];
  await service.pollOnce();
  assert.equal(service.libvirtHealth().status, 'up');
});

test('libvirt down: not ready, still alive', async () => {
  const { service, source, health } = setup();
  service.onApplicationBootstrap();
  try {
    source.next = [{ uri: URI, ok: false, error: 'Failed to connect socket: No such file' }];
    await service.pollOnce();
    const ready = await health.readiness();
    assert.equal(ready.status, 'down');
    assert.equal(ready.checks.libvirt?.status, 'down');
    const live = await health.liveness();
    assert.equal(live.status, 'up');
    assert.equal(live.checks.libvirt, undefined);
  } finally {
    await service.beforeApplicationShutdown();
  }
});

test('the health indicators are registered at start and removed at shutdown', async () => {
  const { service, health } = setup();
  service.onApplicationBootstrap();
  assert.deepEqual(health.names().sort(), ['libvirt', 'publisher', 'publisher-forwarder']);
  // libvirt is a dependency: its outage makes the collector not ready, never restarts it.
  assert.deepEqual(health.names('liveness'), ['publisher-forwarder']);
  await service.beforeApplicationShutdown();
  assert.deepEqual(health.names(), []);
});

test('shutdown stops polling, flushes the publisher within the bound and closes everything', async () => {
  const { service, source, publisher } = setup();
  service.onApplicationBootstrap();
  await service.beforeApplicationShutdown();
  assert.equal(publisher.flushedWith, 1234);
  assert.ok(publisher.closed);
  assert.ok(source.closed);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, done: () => boolean, withinMs: number): Promise<void> {
  const end = performance.now() + withinMs;
  while (!done()) {
    if (performance.now() > end) assert.fail(`not within ${withinMs} ms: ${what}`);
    await sleep(5);
  }
}

test('settled, the collector sleeps between samples; a change is polled at once, then watched a while', async () => {
  const { service, source } = setup({ sampleIntervalMs: 5_000, pollIntervalMs: 100 });
  source.quiet = true;
  source.next = [{ uri: URI, ok: true, domains: [reading(A, 1)], listed: 1, unreadable: [] }];
  service.onApplicationBootstrap();
  try {
    await until('the first poll', () => source.observed === 1, 1_000);
    assert.ok(source.changed, 'the service asked the source to watch');
    await sleep(600);
    assert.equal(source.observed, 1, 'no poll between samples while settled');
    const changedAt = performance.now();
    source.changed?.();
    await until('a poll after the change', () => source.observed === 2, 1_000);
    assert.ok(performance.now() - changedAt < 1_000, 'looked at before the next sample');
    // Polls each poll interval for two intervals after a change, then sleeps again.
    await until('the polls after a change', () => source.observed >= 3, 1_000);
    await sleep(400);
    const after = source.observed;
    await sleep(600);
    assert.equal(source.observed, after, 'asleep again until the sample');
  } finally {
    await service.beforeApplicationShutdown();
  }
});

test('not settled (a young domain, a failing connection, no watch), it polls every poll interval', async () => {
  const { service, source } = setup({ sampleIntervalMs: 5_000, pollIntervalMs: 100 });
  source.quiet = false;
  service.onApplicationBootstrap();
  try {
    await sleep(700);
    assert.ok(source.observed >= 4, `${source.observed} polls in 700 ms`);
  } finally {
    await service.beforeApplicationShutdown();
  }
});

test('LIFECYCLE_WATCH=poll: no watch, a poll every poll interval even when settled', async () => {
  const { service, source } = setup({
    sampleIntervalMs: 5_000,
    pollIntervalMs: 100,
    lifecycleWatch: 'poll',
  });
  source.quiet = true;
  service.onApplicationBootstrap();
  try {
    await sleep(700);
    assert.equal(source.changed, undefined);
    assert.ok(source.observed >= 4, `${source.observed} polls in 700 ms`);
  } finally {
    await service.beforeApplicationShutdown();
  }
});
