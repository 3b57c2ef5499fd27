import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { createRootLogger } from '@metering/observability';
import { type Rejection } from './dead-letter.event';
import {
  DEAD_LETTER_BOUNDS,
  DeadLetterPublisher,
  deadLetterLimits,
  type DeadLetterProducer,
} from './dead-letter.publisher';
import { recordBytes } from './dead-letter.record';
import { KafkaConfigError } from './kafka.errors';
import { KafkaMetrics } from './kafka.metrics';
import { type OutgoingMessage } from './kafka-producer';

/** Records every send; acknowledges them one tick later, or fails the n-th one. */
class RecordingProducer implements DeadLetterProducer {
  readonly sends: { topic: string; messages: readonly OutgoingMessage[] }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  failAt: number | undefined;

  async send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    const n = this.sends.push({ topic, messages });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await tick();
    this.inFlight--;
    if (n === this.failAt) throw new Error(`send ${n} refused`);
  }
}

const logger = createRootLogger({ level: 'silent' });

function publisher(producer: DeadLetterProducer, maxRequestBytes: number): DeadLetterPublisher {
  return new DeadLetterPublisher(
    producer,
    { topic: 'dlq', maxRequestBytes },
    { logger, metrics: new KafkaMetrics() },
  );
}

function rejections(count: number, from = 0, valueBytes = 300): Rejection[] {
  return Array.from({ length: count }, (_, i) => ({
    message: {
      topic: 'samples',
      partition: 0,
      offset: String(from + i),
      key: Buffer.from(`resource-${i % 7}`),
      value: Buffer.alloc(valueBytes, i % 251),
      headers: {},
      timestamp: '0',
    },
    reason: { reasonCode: 'INVALID_JSON', message: `message ${from + i} is not JSON` },
  }));
}

const offsetsOf = (producer: RecordingProducer): string[] =>
  producer.sends.flatMap((s) =>
    s.messages.map((m) => String((m.headers ?? {})['dlq.original-offset'])),
  );

test('a burst goes out in order, in chunks bounded in bytes, one acknowledged before the next', async () => {
  const producer = new RecordingProducer();
  const dlq = publisher(producer, 100_000);
  const burst = rejections(5_000);
  await dlq.publishAll(burst);

  assert.ok(producer.sends.length > 20, `${producer.sends.length} sends`);
  assert.equal(producer.maxInFlight, 1);
  assert.deepEqual(
    offsetsOf(producer),
    burst.map((r) => r.message.offset),
  );
  for (const { topic, messages } of producer.sends) {
    assert.equal(topic, 'dlq');
    const bytes = messages.reduce((sum, m) => sum + recordBytes(m), 0);
    assert.ok(bytes <= 100_000, `${bytes} bytes in one send`);
  }
});

test('a failed chunk fails publishAll and nothing after it is sent; the next call goes out', async () => {
  const producer = new RecordingProducer();
  producer.failAt = 2;
  const dlq = publisher(producer, DEAD_LETTER_BOUNDS.minRecordBytes);
  await assert.rejects(dlq.publishAll(rejections(400)), /send 2 refused/);
  assert.equal(producer.sends.length, 2);

  producer.failAt = undefined;
  await dlq.publishAll(rejections(3, 1_000));
  assert.deepEqual(offsetsOf(producer).slice(-3), ['1000', '1001', '1002']);
});

test('concurrent publishAll calls take turns: their chunks never interleave or overlap', async () => {
  const producer = new RecordingProducer();
  const dlq = publisher(producer, DEAD_LETTER_BOUNDS.minRecordBytes);
  const first = rejections(300, 0);
  const second = rejections(300, 10_000);
  await Promise.all([dlq.publishAll(first), dlq.publishAll(second), dlq.publishAll([])]);
  assert.equal(producer.maxInFlight, 1);
  assert.deepEqual(
    offsetsOf(producer),
    [...first, ...second].map((r) => r.message.offset),
  );
});

test('an original larger than a request is cut to fit one', async () => {
  const producer = new RecordingProducer();
  const dlq = publisher(producer, 50_000);
  await dlq.publishAll([...rejections(1, 0, 2_000_000), ...rejections(200, 1)]);
  const first = producer.sends[0]!.messages[0]!;
  assert.ok(recordBytes(first) <= 50_000);
  const event = JSON.parse(String(first.value)) as { valueTruncated: boolean; valueBytes: number };
  assert.deepEqual([event.valueTruncated, event.valueBytes], [true, 2_000_000]);
  assert.equal(offsetsOf(producer).length, 201);
});

test('limits: defaults, lowered to the topic, checked', () => {
  assert.deepEqual(deadLetterLimits({}), { maxRequestBytes: 900_000, maxRecordBytes: 900_000 });
  assert.deepEqual(deadLetterLimits({ maxRecordBytes: 100_000 }), {
    maxRequestBytes: 900_000,
    maxRecordBytes: 100_000,
  });
  // The broker's default: the bounds stay; a topic with 512 KiB lowers both.
  assert.deepEqual(deadLetterLimits({ topicMaxMessageBytes: 1_048_588 }), {
    maxRequestBytes: 900_000,
    maxRecordBytes: 900_000,
  });
  assert.deepEqual(deadLetterLimits({ topicMaxMessageBytes: 524_288 }), {
    maxRequestBytes: 524_288 - DEAD_LETTER_BOUNDS.topicMarginBytes,
    maxRecordBytes: 524_288 - DEAD_LETTER_BOUNDS.topicMarginBytes,
  });
  const invalid: Parameters<typeof deadLetterLimits>[0][] = [
    { maxRequestBytes: 0 },
    { maxRequestBytes: -1 },
    { maxRequestBytes: 1.5e5 + 0.5 },
    { maxRequestBytes: Number.NaN },
    { maxRequestBytes: Number.POSITIVE_INFINITY },
    { maxRecordBytes: 1_000 },
    { maxRequestBytes: 100_000, maxRecordBytes: 200_000 },
    { topicMaxMessageBytes: 10_000 },
    { topicMaxMessageBytes: Number.NaN },
  ];
  for (const options of invalid) {
    assert.throws(() => deadLetterLimits(options), KafkaConfigError, JSON.stringify(options));
  }
});
