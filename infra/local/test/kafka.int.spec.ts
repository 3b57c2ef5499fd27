import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { localInfra, uniqueName, waitFor } from '@metering/testing';

// Smoke test: kafkajs produces to and consumes from a fresh topic on the real broker.
const kafka = new Kafka({
  clientId: 'smoke',
  brokers: [...localInfra.kafkaBrokers],
  logLevel: logLevel.NOTHING,
});
const topic = uniqueName('smoke');
let producer: Producer | undefined;
let consumer: Consumer | undefined;

after(async () => {
  await producer?.disconnect();
  await consumer?.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

test('kafkajs produces keyed messages to a fresh topic and consumes them back in order', async () => {
  const admin = kafka.admin();
  await admin.connect();
  assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }), true);
  await admin.disconnect();

  producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const sent = Array.from({ length: 30 }, (_, i) => ({ key: `res-${i % 3}`, value: String(i) }));
  await producer.send({ topic, messages: sent });

  const received = new Map<string, number[]>();
  let count = 0;
  consumer = kafka.consumer({ groupId: uniqueName('smoke_group') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      const key = message.key?.toString() ?? '';
      received.set(key, [...(received.get(key) ?? []), Number(message.value?.toString())]);
      count += 1;
      return Promise.resolve();
    },
  });
  await waitFor(() => count >= sent.length, { timeoutMs: 60_000, description: '30 messages' });

  assert.equal(count, 30);
  for (const [key, values] of received) {
    const expected = sent.filter((m) => m.key === key).map((m) => Number(m.value));
    assert.deepEqual(values, expected, `per-key order kept for ${key}`);
  }
});
