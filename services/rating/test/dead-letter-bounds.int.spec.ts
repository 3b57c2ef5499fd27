import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TOPICS, decodeDlq } from '@metering/contracts';
import { KafkaClientFactory, type KafkaProducer, type Rejection } from '@metering/kafka';
import { MetricsRegistry, createRootLogger } from '@metering/observability';
import { localInfra, prng, uniqueName } from '@metering/testing';
import { contractDeadLetterEncoder } from '../src/consuming/dead-letter.encoder';
import { readTopic } from './topic-reader';

// libs/kafka's DeadLetterPublisher with rating's contract encoder against the real broker: a
// burst far larger than the broker's message.max.bytes, plus one original near that limit.
const factory = new KafkaClientFactory(
  {
    brokers: localInfra.kafkaBrokers,
    clientId: uniqueName('dlq-bounds'),
    retry: { initialRetryTimeMs: 100, maxRetryTimeMs: 2_000, retries: 5 },
  },
  {
    logger: createRootLogger({ level: 'silent' }),
    metrics: new MetricsRegistry({ serviceName: 'dlq_bounds', collectDefaultMetrics: false }),
  },
);
const dlqTopic = uniqueName('dlq_bounds');
let producer: KafkaProducer;

before(async () => {
  await factory.ensureTopics([{ topic: dlqTopic, numPartitions: 3 }]);
  producer = factory.createProducer();
  await producer.connect();
});

after(async () => {
  await producer?.disconnect();
  const admin = factory.kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [dlqTopic] }).catch(() => undefined);
  await admin.disconnect();
});

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Invalid samples of every shape: not JSON, binary, NUL, non-BMP, wrong types; ~300-700 bytes. */
function invalidValue(i: number, rnd: () => number): Buffer {
  const pad = 'x'.repeat(200 + Math.floor(rnd() * 300));
  switch (i % 5) {
    case 0:
      return Buffer.from(`{"schema":"metering.sample.v1","sampleId":"${pad}`); // cut JSON
    case 1:
      return Buffer.from(
        Array.from({ length: 300 + (i % 200) }, (_, j) => (i * 7 + j * 13) & 0xff),
      );
    case 2:
      return Buffer.from(`{"schema":"metering.sample.v1","host":"h\u0000${pad}"}`);
    case 3:
      return Buffer.from(`{"schema":"metering.sample.v1","resource":{"id":"😀𝄞${pad}"}}`);
    default:
      return Buffer.from(JSON.stringify({ schema: 'metering.sample.v1', cpu: [pad], memory: -1 }));
  }
}

test('5,000 rejections in one publishAll plus one of ~1 MB: every record lands and decodes', async () => {
  const rnd = prng(13);
  const rejections: Rejection[] = Array.from({ length: 5_001 }, (_, i) => {
    const value =
      i === 2_500
        ? // ~1,000,000 bytes: as base64 in JSON ~1.37 MB, past the broker's 1,048,588.
          Buffer.concat([Buffer.from('{"sampleId":"'), Buffer.alloc(999_987, 0x41)])
        : invalidValue(i, rnd);
    return {
      message: {
        topic: TOPICS.samples,
        partition: i % 4,
        offset: String(1_000_000 + i),
        key: i % 97 === 0 ? null : Buffer.from(`resource-${i % 40}`),
        value,
        headers: {},
        timestamp: '0',
      },
      reason: {
        reasonCode: i % 2 === 0 ? 'INVALID_JSON' : 'SCHEMA_VIOLATION',
        // An error that quotes its input: bounded in the record, never the cause of a refusal.
        message: `rejected ${i}: ${value.toString('latin1')}`,
        ...(i % 3 === 0 ? { path: 'resource.id' } : {}),
      },
    };
  });
  const total = rejections.reduce((n, r) => n + (r.message.value?.length ?? 0), 0);
  assert.ok(total > 2_500_000, `${total} bytes of originals`);

  const admin = factory.createAdmin();
  await admin.connect();
  const limit = await admin.maxMessageBytes(dlqTopic);
  await admin.disconnect();
  assert.equal(limit, 1_048_588);
  const dlq = factory.createDeadLetterPublisher(producer, {
    topic: dlqTopic,
    encode: contractDeadLetterEncoder('rating', () => new Date()),
    topicMaxMessageBytes: limit,
  });
  await dlq.publishAll(rejections);

  const records = await readTopic(factory.kafka, dlqTopic);
  assert.equal(records.length, rejections.length);
  const byOffset = new Map(rejections.map((r) => [r.message.offset, r]));
  const seen = new Set<string>();
  let truncated = 0;
  for (const record of records) {
    const decoded = decodeDlq(record.value);
    assert.ok(decoded.ok, JSON.stringify(decoded));
    const { original, reason } = decoded.value;
    const sent = byOffset.get(original.offset);
    assert.ok(sent !== undefined, `offset ${original.offset} was published`);
    seen.add(original.offset);
    const value = sent.message.value!;
    assert.equal(original.valueBytes, value.length);
    assert.equal(original.valueSha256, sha256(value));
    const kept = Buffer.from(original.value!, 'base64');
    assert.ok(value.subarray(0, kept.length).equals(kept), 'the value kept is a prefix');
    assert.equal(original.valueTruncated, kept.length < value.length);
    if (original.valueTruncated) truncated++;
    else assert.ok(kept.equals(value));
    assert.equal(original.partition, sent.message.partition);
    assert.equal(reason.code, sent.reason.reasonCode);
    assert.ok(Buffer.byteLength(reason.message) <= 2048);
    assert.ok(reason.message.startsWith(`rejected ${Number(original.offset) - 1_000_000}: `));
    assert.deepEqual(record.key, sent.message.key, 'the record keeps the original key');
    assert.equal(String(record.headers['dlq.original-offset']), original.offset);
    assert.equal(String(record.headers['dlq.reason-code']), reason.code);
  }
  assert.equal(seen.size, rejections.length, 'each rejection exactly once');
  assert.equal(truncated, 1, 'only the ~1 MB original is cut');

  // Per DLQ partition, the order of publishAll.
  for (const partition of new Set(records.map((r) => r.partition))) {
    const offsets = records
      .filter((r) => r.partition === partition)
      .map((r) => Number(String(r.headers['dlq.original-offset'])));
    assert.deepEqual(
      offsets,
      [...offsets].sort((a, b) => a - b),
    );
  }
});
