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
  assert.equal(String(message.headers['dlq.reason-code']), 'DECODING_FAILED');
  assert.match(
    await metrics.metrics(),
    new RegExp(
      `kafka_dead_letters_total\\{topic="${topic}",reason_code="DECODING_FAILED"[^}]*\\} 1`,
    ),
  );
});
