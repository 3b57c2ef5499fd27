import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { encodeSample, type SampleEvent, sampleKey } from '@metering/contracts';
import { ServicePipeline } from '@metering/pipeline-harness';
import { CollectorClock } from '@metering/spool';
import { localInfra, waitFor } from '@metering/testing';
import type * as LibvirtModule from '@unraid/libvirt' with { 'resolution-mode': 'import' };
import { LibvirtDiscovery } from '../src/discovery';
import { SamplingCycle } from '../src/sampling';

// The vm-collector's sampling path (libvirt's test driver through the real adapter, the cycle)
// stamped by a CollectorClock whose wall clock steps an hour back mid-run and then forward
// again, publishing to a real topic that the real rating process consumes: every sample is
// rated (none ignored as out of order, none dead-lettered), up to the final one.
type Hypervisor = InstanceType<(typeof LibvirtModule)['Hypervisor']>;
type Domain = Awaited<ReturnType<Hypervisor['domainDefineXML']>>;

const URI = 'test:///default';
const HOUR = 3_600_000;

const pipeline = new ServicePipeline('vmclock');
const uuid = randomUUID();
const name = `vmclock_${uuid.slice(0, 8)}`;
let hypervisor: Hypervisor;
let domain: Domain;
let producer: Producer;

before(async () => {
  await pipeline.prepare(1);
  await pipeline.startRating();
  const libvirt = await import('@unraid/libvirt');
  hypervisor = new libvirt.Hypervisor({ uri: URI });
  await hypervisor.connectOpen();
  domain = await hypervisor.domainDefineXML(`<domain type='test'>
  <name>${name}</name>
  <uuid>${uuid}</uuid>
  <metadata><metering:tenant xmlns:metering="urn:metering:1">clock-acme</metering:tenant></metadata>
  <memory unit='MiB'>512</memory>
  <currentMemory unit='MiB'>256</currentMemory>
  <vcpu>2</vcpu>
  <os><type>hvm</type></os>
</domain>`);
  await hypervisor.domainCreate(domain);
  producer = new Kafka({
    clientId: 'vm-collector-clock-test',
    brokers: [...localInfra.kafkaBrokers],
    logLevel: logLevel.NOTHING,
  }).producer({ idempotent: true });
  await producer.connect();
});

after(async () => {
  await producer?.disconnect();
  if (hypervisor !== undefined) {
    await hypervisor.domainDestroy(domain).catch(() => undefined);
    await hypervisor.domainUndefine(domain).catch(() => undefined);
  }
  await pipeline.stop();
});

test('the host clock stepping an hour back and forward: samples go forward, and rating rates every one of them', async () => {
  let wallShift = 0;
  const clock = new CollectorClock({ wall: () => Date.now() + wallShift });
  const discovery = new LibvirtDiscovery(
    {
      uris: [URI],
      hostName: 'clock-host',
      metadataRefreshMs: 60_000,
      qemuRunDir: '/nonexistent',
      procDir: '/proc',
      callTimeoutMs: 5_000,
      concurrency: 2,
    },
    () => clock.now(),
    (wallMs) => clock.fromWall(wallMs),
  );
  const cycle = new SamplingCycle({
    defaultTenant: 'house',
    memoryUsage: 'balloon',
    maxProcessWaitPolls: 1,
  });
  const published: SampleEvent[] = [];
  try {
    for (let poll = 0; poll < 24; poll++) {
      if (poll === 6) wallShift = -HOUR; // the host's clock steps an hour back
      if (poll === 16) wallShift = 0; // …and is put right again
      if (poll === 22) await hypervisor.domainDestroy(domain); // its final sample
      const samples = cycle
        .poll(await discovery.observe(), true)
        .samples.filter((s) => s.resource.id === uuid);
      if (samples.length > 0) {
        await producer.send({
          topic: pipeline.topic,
          messages: pipeline.signed(
            samples.map((s) => ({ key: sampleKey(s), value: encodeSample(s) })),
          ),
        });
        published.push(...samples);
      }
      await sleep(250);
    }
  } finally {
    await discovery.close();
  }

  assert.deepEqual(
    published.map((s) => s.lifecycle),
    ['start', ...Array<string>(21).fill('running'), 'final'],
  );
  const times = published.map((s) => Date.parse(s.observedAt));
  for (let i = 1; i < times.length; i++) {
    assert.ok(times[i]! > times[i - 1]!, `sample ${i} at ${published[i]!.observedAt} goes back`);
  }
  assert.deepEqual(
    published.map((s) => s.sequence),
    published.map((_, i) => i),
  );
  assert.deepEqual(clock.stepCounts, { forward: 1, backward: 1 });

  const ends = await pipeline.sampleTopicEnds();
  await waitFor(() => pipeline.ratedUpTo(ends), {
    timeoutMs: 60_000,
    description: 'rating consumed every sample',
  });
  // The instance ends where its last sample (the final one) says: none was ignored.
  const last = published.at(-1)!;
  const [state] = await pipeline.sql<{ last_observed_at: Date; last_cpu_usage_ns: string }>(
    'SELECT last_observed_at, last_cpu_usage_ns FROM instance_state WHERE resource_id = $1',
    [uuid],
  );
  assert.ok(state !== undefined, 'rating keeps the instance');
  assert.equal(state.last_observed_at.toISOString(), last.observedAt);
  assert.equal(state.last_cpu_usage_ns, last.cpu.usageNs);
  // Every interval was rated: the observed time is the whole span, without a gap.
  const [buckets] = await pipeline.sql<{ observed: string; gap: string }>(
    'SELECT sum(observed_ms)::text AS observed, sum(gap_ms)::text AS gap FROM usage_bucket WHERE resource_id = $1',
    [uuid],
  );
  assert.equal(Number(buckets?.gap), 0);
  assert.equal(Number(buckets?.observed), times.at(-1)! - times[0]!);
  const metrics = await pipeline.metrics('rating');
  assert.match(
    metrics,
    new RegExp(`^rating_messages_total\\{[^}]*outcome="rated"[^}]*\\} ${published.length}$`, 'm'),
  );
  assert.doesNotMatch(metrics, /^rating_messages_total\{[^}]*outcome="out_of_order"[^}]*\} [1-9]/m);
  assert.doesNotMatch(metrics, /^rating_dead_lettered_total\{[^}]*\} [1-9]/m);
});
