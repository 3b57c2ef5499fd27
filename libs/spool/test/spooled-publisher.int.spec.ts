import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SampleEvent } from '@metering/contracts';
import { localInfra } from '@metering/testing';
import { kafkaSpoolProducer, SpooledPublisher } from '../src/index';
import { readBack, testKafka } from './kafka.fixtures';
import { sampleOf, testLogger } from './spool.fixtures';

const KEYS = ['container-a', 'container-b', 'vm-c', 'vm-d', 'container-e', 'vm-f'];
const PER_KEY = 100;

const { factory, metrics, topic } = testKafka('spool_roundtrip', localInfra.kafkaBrokers);
let dir: string;
let publisher: SpooledPublisher | undefined;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spool-int-'));
  await factory.ensureTopics([{ topic, numPartitions: 3 }]);
});

after(async () => {
  await publisher?.close(5_000);
  await rm(dir, { recursive: true, force: true });
});

test('samples published through the spool come back complete, once each, in per-resource order', async () => {
  publisher = await SpooledPublisher.start({
    dir,
    topic,
    producer: kafkaSpoolProducer(factory, { maxBatchRecords: 100 }),
    settings: { maxBatchRecords: 100 },
    logger: testLogger(),
    metrics,
  });
  const published: SampleEvent[] = [];
  for (let n = 0; n < PER_KEY; n++) {
    for (const key of KEYS) {
      const lifecycle = n === 0 ? 'start' : n === PER_KEY - 1 ? 'final' : 'running';
      const sample = sampleOf(key, n, lifecycle);
      publisher.publish(sample);
      published.push(sample);
    }
  }
  assert.equal(await publisher.flush(30_000), true, 'drained');
  assert.equal(publisher.health().status, 'up');

  const { byKey, all } = await readBack(factory, topic, published.length);
  assert.equal(all.length, published.length, 'no duplicates, nothing missing');
  assert.equal(new Set(all.map((s) => s.sampleId)).size, published.length);
  for (const key of KEYS) {
    const expected = published.filter((s) => s.resource.id === key).map((s) => s.sampleId);
    assert.deepEqual(
      byKey.get(key)?.map((s) => s.sampleId),
      expected,
      `${key} in publish order`,
    );
  }

  const exposition = await metrics.metrics();
  assert.match(
    exposition,
    new RegExp(`spool_test_spool_samples_sent_total\\{[^}]*\\} ${published.length}`),
  );
  assert.match(exposition, /spool_test_spool_depth_records\{[^}]*\} 0/);
  assert.match(
    exposition,
    new RegExp(
      `spool_test_kafka_messages_produced_total\\{topic="${topic}"[^}]*\\} ${published.length}`,
    ),
  );
});
