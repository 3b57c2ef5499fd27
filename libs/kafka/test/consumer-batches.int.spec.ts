import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@metering/testing';
import { MessageDecodingError, type KafkaConsumer, type KafkaProducer } from '../src/index';
import { testKafka, text } from './kafka.fixtures';

const cleanups: (() => Promise<void>)[] = [];

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function setup(name: string, values: readonly string[]) {
  const context = testKafka(name);
  await context.factory.ensureTopics([{ topic: context.topic, numPartitions: 1 }]);
  const producer: KafkaProducer = context.factory.createProducer();
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  await producer.send(
    context.topic,
    values.map((value) => ({ key: 'k', value })),
  );
  const track = (consumer: KafkaConsumer): KafkaConsumer => {
    cleanups.push(() => consumer.disconnect());
    return consumer;
  };
  return { ...context, track };
}

test('heartbeats continue while a batch takes longer than the session timeout', async () => {
  const { factory, topic, group, track } = await setup('heartbeat', ['a', 'b', 'c']);
  let joins = 0;
  const handled: string[] = [];
  const consumer = track(
    factory.createConsumer({
      groupId: group,
      topics: [topic],
      shutdownSignals: [],
      // The broker's minimum; without heartbeats the member is dropped after 6 s.
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 500,
      onPartitionsAssigned: () => {
        joins++;
        return Promise.resolve();
      },
    }),
  );
  await consumer.start(async (batch) => {
    if (handled.length === 0) await sleep(9_000);
    handled.push(...batch.messages.map((message) => text(message.value)!));
  });
  await waitFor(() => handled.length >= 3, { timeoutMs: 30_000, description: 'the slow batch' });
  // Long enough for a dropped member to notice, rejoin and be handed the batch again.
  await sleep(2_000);
  assert.deepEqual(handled, ['a', 'b', 'c'], 'handled once');
  assert.equal(joins, 1, 'the member never left the group');
  assert.equal(consumer.state, 'running');
});

test('a retriable handler error re-delivers the same batch after a backoff', async () => {
  const { factory, topic, group, track } = await setup('retry', ['x1', 'x2']);
  const attempts: string[][] = [];
  const consumer = track(
    factory.createConsumer({
      groupId: group,
      topics: [topic],
      shutdownSignals: [],
      retry: { initialRetryTime: 100, retries: 3 },
    }),
  );
  await consumer.start((batch) => {
    attempts.push(batch.messages.map((message) => text(message.value)!));
    if (attempts.length === 1) {
      throw Object.assign(new Error('could not serialize access'), { code: 'ECONNRESET' });
    }
  });
  await waitFor(() => attempts.length >= 2, { timeoutMs: 30_000, description: 'a second attempt' });
  await sleep(1_000);
  assert.deepEqual(attempts, [
    ['x1', 'x2'],
    ['x1', 'x2'],
  ]);
  assert.equal(consumer.state, 'running');
});

test('a fatal handler error stops the consumer without moving its position', async () => {
  const { factory, topic, group, track } = await setup('fatal', ['poison']);
  const crashes: Error[] = [];
  let calls = 0;
  const consumer = track(
    factory.createConsumer({
      groupId: group,
      topics: [topic],
      shutdownSignals: [],
      onCrash: (error) => crashes.push(error),
    }),
  );
  await consumer.start(() => {
    calls++;
    return Promise.reject(new MessageDecodingError('not a sample'));
  });
  await waitFor(() => crashes.length > 0, { timeoutMs: 30_000, description: 'the crash' });
  await sleep(500);
  assert.equal(calls, 1, 'not retried');
  assert.equal(consumer.state, 'crashed');
  assert.ok(crashes[0] instanceof MessageDecodingError, 'onCrash gets the handler error');
  assert.equal(crashes[0].message, 'not a sample');
  assert.equal((await consumer.healthIndicator()).status, 'down');

  const admin = factory.kafka.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  assert.equal(offsets?.partitions[0]?.offset, '-1', 'the poison message was not committed');
});
