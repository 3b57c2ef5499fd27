import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@metering/testing';
import { ProducerClosedError, type KafkaConsumer } from '../src/index';
import { testKafka, text } from './kafka.fixtures';

const { factory, topic, group } = testKafka('flush');
let consumer: KafkaConsumer | undefined;

before(async () => {
  await factory.ensureTopics([{ topic, numPartitions: 3 }]);
});

after(async () => {
  await consumer?.disconnect();
});

test('disconnect sends a batch still lingering, and its senders see the acknowledgement', async () => {
  // A linger far longer than the test: only disconnect() can make these go out.
  const producer = factory.createProducer({ lingerMs: 600_000, maxBatchSize: 1_000 });
  await producer.connect();
  const sends = Array.from({ length: 25 }, (_, i) =>
    producer.send(topic, [{ key: `k${i % 4}`, value: `m${i}` }]),
  );
  assert.equal(producer.pendingMessages, 25);
  await producer.disconnect();
  await Promise.all(sends);
  await assert.rejects(producer.send(topic, [{ key: 'k', value: 'late' }]), ProducerClosedError);

  const received = new Set<string>();
  consumer = factory.createConsumer({ groupId: group, topics: [topic], shutdownSignals: [] });
  await consumer.start((batch) => {
    for (const message of batch.messages) received.add(text(message.value)!);
  });
  await waitFor(() => received.size >= 25, { timeoutMs: 30_000, description: '25 messages' });
  assert.deepEqual([...received].sort(), Array.from({ length: 25 }, (_, i) => `m${i}`).sort());
});
