import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@metering/testing';
import {
  MessageDecodingError,
  isRetriable,
  type ConsumedMessage,
  type DeadLetterEvent,
  type KafkaConsumer,
  type KafkaProducer,
} from '../src/index';
import { testKafka, text } from './kafka.fixtures';

const { factory, metrics, topic, group } = testKafka('dlq');
const dlqTopic = `${topic}_dlq`;
let producer: KafkaProducer;
const consumers: KafkaConsumer[] = [];

before(async () => {
  await factory.ensureTopics([
    { topic, numPartitions: 2 },
    { topic: dlqTopic, numPartitions: 2 },
  ]);
  producer = factory.createProducer();
  await producer.connect();
});

after(async () => {
  for (const consumer of consumers) await consumer.disconnect();
  await producer?.disconnect();
});

test('a rejected message reaches the DLQ with its reason and original bytes', async () => {
  const invalid = Buffer.from([0x7b, 0x22, 0xff, 0x00]); // truncated JSON with binary bytes
  await producer.send(topic, [
    { key: 'container-1', value: JSON.stringify({ ok: true }) },
    { key: 'container-1', value: invalid },
  ]);

  const dlq = factory.createDeadLetterPublisher(producer, { topic: dlqTopic });
  const accepted: ConsumedMessage[] = [];
  const consumer = factory.createConsumer({ groupId: group, topics: [topic], shutdownSignals: [] });
  consumers.push(consumer);
  await consumer.start(async (batch) => {
    for (const message of batch.messages) {
      try {
        JSON.parse(text(message.value) ?? '');
        accepted.push(message);
      } catch (cause) {
        const error = new MessageDecodingError('value is not JSON', '/', { cause });
        assert.equal(isRetriable(error), false);
        await dlq.publish(message, {
          reasonCode: 'DECODING_FAILED',
          message: error.message,
          path: '/',
        });
      }
    }
  });

  const dead: { event: DeadLetterEvent; message: ConsumedMessage }[] = [];
  const dlqConsumer = factory.createConsumer({
    groupId: `${group}_dlq`,
    topics: [dlqTopic],
    shutdownSignals: [],
  });
  consumers.push(dlqConsumer);
  await dlqConsumer.start((batch) => {
    for (const message of batch.messages) {
      dead.push({ event: JSON.parse(text(message.value)!) as DeadLetterEvent, message });
    }
  });
  await waitFor(() => dead.length >= 1 && accepted.length >= 1, {
    timeoutMs: 30_000,
    description: 'one accepted and one dead-lettered message',
  });

  assert.equal(dead.length, 1);
  const { event, message } = dead[0]!;
  assert.equal(event.reasonCode, 'DECODING_FAILED');
  assert.equal(event.message, 'value is not JSON');
  assert.equal(event.path, '/');
  assert.equal(event.originalTopic, topic);
  assert.equal(event.partition, accepted[0]!.partition, 'same key, same partition');
  assert.equal(event.offset, '1');
  assert.equal(Buffer.from(event.key!, 'base64').toString(), 'container-1');
  assert.deepEqual(Buffer.from(event.value, 'base64'), invalid, 'original bytes survive');
  assert.equal(text(message.key), 'container-1', 'the DLQ record keeps the original key');
  assert.equal(event.valueBytes, invalid.length);
  assert.equal(event.valueSha256, createHash('sha256').update(invalid).digest('hex'));
  assert.equal(event.valueTruncated, false);
  assert.equal(String(message.headers['dlq.reason-code']), 'DECODING_FAILED');
  assert.equal(String(message.headers['dlq.original-topic']), topic);
  assert.equal(String(message.headers['dlq.original-partition']), String(event.partition));
  assert.equal(String(message.headers['dlq.original-offset']), '1');
  assert.match(
    await metrics.metrics(),
    new RegExp(
      `kafka_dead_letters_total\\{topic="${topic}",reason_code="DECODING_FAILED"[^}]*\\} 1`,
    ),
  );
});

test('a DLQ topic with a small max.message.bytes: the limit is read and every record of a burst lands', async () => {
  const small = `${topic}_small`;
  await factory.ensureTopics([
    { topic: small, numPartitions: 1, config: { 'max.message.bytes': '65536' } },
  ]);
  const admin = factory.createAdmin();
  await admin.connect();
  let limits: [number | null, number | null];
  try {
    limits = [await admin.maxMessageBytes(small), await admin.maxMessageBytes(dlqTopic)];
  } finally {
    await admin.disconnect();
  }
  assert.deepEqual(limits, [65_536, 1_048_588], "the topic's own setting, else the broker's");

  const dlq = factory.createDeadLetterPublisher(producer, {
    topic: small,
    topicMaxMessageBytes: limits[0]!,
  });
  assert.deepEqual(dlq.limits, { maxRequestBytes: 64_512, maxRecordBytes: 64_512 });
  const huge = Buffer.alloc(200_000, 0x5a);
  const burst = Array.from({ length: 1_001 }, (_, i) => ({
    message: {
      topic,
      partition: 0,
      offset: String(i),
      key: Buffer.from(`vm-${i % 3}`),
      value: i === 500 ? huge : Buffer.from(`{"n":${i},"pad":"${'é'.repeat(200)}`),
      headers: {},
      timestamp: '0',
    },
    reason: { reasonCode: 'INVALID_JSON', message: 'message is not valid JSON' },
  }));
  await dlq.publishAll(burst);

  const consumer = factory.createConsumer({
    groupId: `${group}_small`,
    topics: [small],
    shutdownSignals: [],
  });
  consumers.push(consumer);
  const events: DeadLetterEvent[] = [];
  await consumer.start((batch) => {
    for (const m of batch.messages) events.push(JSON.parse(text(m.value)!) as DeadLetterEvent);
  });
  await waitFor(() => events.length >= burst.length, {
    timeoutMs: 30_000,
    description: 'every dead letter of the burst',
  });
  assert.equal(events.length, burst.length);
  assert.deepEqual(
    events.map((e) => e.offset),
    burst.map((r) => r.message.offset),
    'in order',
  );
  const cut = events[500]!;
  assert.equal(cut.valueTruncated, true);
  assert.equal(cut.valueBytes, huge.length);
  assert.equal(cut.valueSha256, createHash('sha256').update(huge).digest('hex'));
  const kept = Buffer.from(cut.value, 'base64');
  assert.ok(kept.length > 40_000 && huge.subarray(0, kept.length).equals(kept));
  assert.equal(events.filter((e) => e.valueTruncated).length, 1);
});
