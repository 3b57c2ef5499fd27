import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Lifecycle, type SampleEvent } from '@metering/contracts';
import { SecondKafkaBroker, waitFor } from '@metering/testing';
import { kafkaSpoolProducer, SpooledPublisher, type SpoolHealth } from '../src/index';
import { readBack, testKafka, type TestKafka } from './kafka.fixtures';
import { sampleOf, testLogger } from './spool.fixtures';

// The broker of this file is its own (SecondKafkaBroker): these tests stop it.
const OUTAGE_MS = 30_000;
const RATE_PER_SECOND = 20;
const KEYS = ['outage-a', 'outage-b', 'outage-c', 'outage-d'];

let broker: SecondKafkaBroker | undefined;
let kafka: TestKafka;
/** One topic per test, so each reads back only its own samples. */
let outageTopic: string;
let restartTopic: string;
const dirs: string[] = [];
const publishers: SpooledPublisher[] = [];

before(async () => {
  broker = await SecondKafkaBroker.create('spool');
  await broker.start();
  kafka = testKafka('spool_outage', broker.brokers);
  outageTopic = `${kafka.topic}_outage`;
  restartTopic = `${kafka.topic}_restart`;
  await kafka.factory.ensureTopics([
    { topic: outageTopic, numPartitions: 3 },
    { topic: restartTopic, numPartitions: 3 },
  ]);
});

after(async () => {
  await Promise.allSettled(publishers.map((publisher) => publisher.close(1_000)));
  await broker?.dispose();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function startPublisher(dir: string, topic: string): Promise<SpooledPublisher> {
  const publisher = await SpooledPublisher.start({
    dir,
    topic,
    producer: kafkaSpoolProducer(kafka.factory),
    // A short backoff cap so the test sees the broker's return within a second or two.
    settings: { backoffInitialMs: 100, backoffMaxMs: 1_000, degradedAfterMs: 5_000 },
    logger: testLogger(),
  });
  publishers.push(publisher);
  return publisher;
}

async function spoolDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'spool-outage-'));
  dirs.push(dir);
  return dir;
}

/** Publishes RATE_PER_SECOND samples a second round-robin over `keys` until stopped. */
function publishContinuously(publisher: SpooledPublisher, keys: readonly string[]) {
  const published: SampleEvent[] = [];
  const counts = new Map<string, number>();
  let slowestMs = 0;
  const publish = (key: string, lifecycle: Lifecycle): void => {
    const n = counts.get(key) ?? 0;
    counts.set(key, n + 1);
    const sample = sampleOf(key, n, lifecycle);
    const started = performance.now();
    publisher.publish(sample);
    slowestMs = Math.max(slowestMs, performance.now() - started);
    published.push(sample);
  };
  let next = 0;
  const timer = setInterval(() => {
    const key = keys[next++ % keys.length]!;
    publish(key, counts.has(key) ? 'running' : 'start');
  }, 1_000 / RATE_PER_SECOND);
  return {
    published,
    slowestMs: () => slowestMs,
    stop(): void {
      clearInterval(timer);
      for (const key of keys) publish(key, 'final');
    },
  };
}

function assertAllBack(
  published: readonly SampleEvent[],
  back: Awaited<ReturnType<typeof readBack>>,
  keys: readonly string[],
): void {
  const mine = back.all.filter((s) => keys.includes(s.resourceId));
  assert.equal(mine.length, published.length, 'as many messages as samples published');
  assert.equal(new Set(mine.map((s) => s.sampleId)).size, published.length, 'each sample once');
  for (const key of keys) {
    const expected = published.filter((s) => s.resource.id === key).map((s) => s.sampleId);
    const got = back.byKey.get(key)?.map((s) => s.sampleId);
    assert.deepEqual(got, expected, `${key}: every sample, in publish order`);
  }
}

test('a 30 s broker outage while sampling loses nothing and keeps per-resource order', async () => {
  const publisher = await startPublisher(await spoolDir(), outageTopic);
  const load = publishContinuously(publisher, KEYS);
  await sleep(5_000);
  await waitFor(() => publisher.health().lastSentAt !== null, { description: 'a first send' });

  await broker!.stop();
  const down = performance.now();
  const sawDegraded = await waitFor(
    () => {
      const health = publisher.health();
      return health.status === 'degraded' && health.lastSendError !== null ? health : undefined;
    },
    { timeoutMs: 20_000, description: 'health to report the outage' },
  );
  await sleep(Math.max(0, OUTAGE_MS - (performance.now() - down)));
  const during: SpoolHealth = publisher.health();
  assert.ok(
    during.depth > RATE_PER_SECOND * 20,
    `samples spooled during the outage: ${during.depth}`,
  );
  assert.ok(during.oldestUnsentAgeMs > 20_000, `oldest unsent ${during.oldestUnsentAgeMs} ms`);

  await broker!.start();
  await sleep(5_000);
  load.stop();
  assert.equal(await publisher.flush(60_000), true, 'the spool drains once the broker is back');
  const health = publisher.health();
  assert.equal(health.status, 'up');
  assert.equal(health.depth, 0);
  assert.equal(health.lastSendError, null);
  assert.ok(sawDegraded.consecutiveSendFailures >= 1);
  assert.ok(load.slowestMs() < 100, `publish() took up to ${load.slowestMs().toFixed(1)} ms`);
  // 5 s + outage + restart + 5 s at 20/s.
  assert.ok(load.published.length > RATE_PER_SECOND * 40, `${load.published.length} published`);

  const back = await readBack(kafka.factory, outageTopic, load.published.length);
  assertAllBack(load.published, back, KEYS);
  await publisher.close();
});

test('samples spooled while the broker is down survive a publisher restart', async () => {
  const keys = ['restart-a', 'restart-b'];
  const dir = await spoolDir();
  const first = await startPublisher(dir, restartTopic);
  const warmUp = sampleOf('restart-a', 0, 'start');
  first.publish(warmUp);
  assert.equal(await first.flush(30_000), true);

  await broker!.stop();
  const published: SampleEvent[] = [warmUp];
  for (let n = 1; n <= 100; n++) {
    for (const key of keys) {
      const sample = sampleOf(key, n, key === 'restart-b' && n === 1 ? 'start' : 'running');
      first.publish(sample);
      published.push(sample);
    }
  }
  await waitFor(() => first.health().pending === 0 && first.health().depth === 200, {
    timeoutMs: 10_000,
    description: '200 samples on disk',
  });
  await first.close(2_000);
  assert.equal(first.health().depth, 200, 'closed with the samples still spooled');

  await broker!.start();
  const second = await startPublisher(dir, restartTopic);
  assert.equal(second.health().depth, 200, 'the new publisher found them');
  assert.equal(await second.flush(60_000), true);

  const back = await readBack(kafka.factory, restartTopic, published.length);
  assertAllBack(published, back, keys);
  await second.close();
});
