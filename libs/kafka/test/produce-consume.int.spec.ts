import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@metering/testing';
import { type ConsumedMessage, type KafkaConsumer, type KafkaProducer } from '../src/index';
import { testKafka, text } from './kafka.fixtures';

const { factory, metrics, topic, group } = testKafka('roundtrip');
const KEYS = ['container-a', 'container-b', 'vm-c', 'vm-d', 'container-e', 'vm-f'];
const PER_KEY = 50;

let producer: KafkaProducer;
let consumer: KafkaConsumer;

before(async () => {
  await factory.ensureTopics([{ topic, numPartitions: 3 }]);
  producer = factory.createProducer({ maxBatchSize: 40, lingerMs: 2 });
  await producer.connect();
});

after(async () => {
  await consumer?.disconnect();
  await producer?.disconnect();
});

test('N keyed messages on 3 partitions come back complete and in per-key order', async () => {
  // Interleaved sends, several in flight at once, as a collector publishes many resources.
  const sends: Promise<void>[] = [];
  for (let i = 0; i < PER_KEY; i++) {
    for (const key of KEYS) {
      sends.push(producer.send(topic, [{ key, value: JSON.stringify({ key, seq: i }) }]));
    }
  }
  await Promise.all(sends);
  const total = KEYS.length * PER_KEY;

  const received: ConsumedMessage[] = [];
  consumer = factory.createConsumer({ groupId: group, topics: [topic], shutdownSignals: [] });
  await consumer.start((batch) => {
    received.push(...batch.messages);
  });
  await waitFor(() => received.length >= total, {
    timeoutMs: 30_000,
    description: `${total} messages on ${topic}`,
  });

  assert.equal(received.length, total, 'no duplicates');
  const partitionsByKey = new Map<string, Set<number>>();
  const seqByKey = new Map<string, number[]>();
  for (const message of received) {
    const key = text(message.key)!;
    const body = JSON.parse(text(message.value)!) as { key: string; seq: number };
    assert.equal(body.key, key);
    partitionsByKey.set(key, (partitionsByKey.get(key) ?? new Set()).add(message.partition));
    seqByKey.set(key, [...(seqByKey.get(key) ?? []), body.seq]);
  }
  const expected = Array.from({ length: PER_KEY }, (_, i) => i);
  for (const key of KEYS) {
    assert.equal(partitionsByKey.get(key)?.size, 1, `${key} stays on one partition`);
    assert.deepEqual(seqByKey.get(key), expected, `${key} in send order`);
  }
  const usedPartitions = new Set(received.map((message) => message.partition));
  assert.ok(usedPartitions.size > 1, 'keys are spread over the partitions');

  const exposition = await metrics.metrics();
  assert.match(
    exposition,
    new RegExp(`kafka_test_kafka_messages_produced_total\\{topic="${topic}"[^}]*\\} ${total}`),
  );
  assert.match(
    exposition,
    new RegExp(
      `kafka_test_kafka_messages_consumed_total\\{topic="${topic}",group="${group}"[^}]*\\} ${total}`,
    ),
  );
  assert.match(exposition, /kafka_test_kafka_batch_duration_seconds_count\{[^}]*role="consumer"/);
  // 300 single-message sends went out as a few batches of at most 40.
  const producerBatches = Number(
    /kafka_test_kafka_batch_duration_seconds_count\{[^}]*role="producer"[^}]*\} (\d+)/.exec(
      exposition,
    )?.[1],
  );
  assert.ok(
    producerBatches >= Math.ceil(total / 40) && producerBatches < total / 4,
    `${producerBatches} produce batches`,
  );
});
