import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@metering/testing';
import {
  type ConsumedBatch,
  type KafkaAdmin,
  type KafkaConsumer,
  type KafkaProducer,
  readMessagesAt,
} from '../src/index';
import { testKafka, text } from './kafka.fixtures';

// What offset continuity needs of the library, against the real broker: a partition paused
// alone (the others keep going, nothing of it handed out), sought and resumed; each partition's
// log start and end; single messages read at given offsets, with those outside the log as null.
const { factory, topic, group } = testKafka('partctl');

let producer: KafkaProducer;
let admin: KafkaAdmin;
let consumer: KafkaConsumer | undefined;

before(async () => {
  await factory.ensureTopics([{ topic, numPartitions: 2 }]);
  producer = factory.createProducer();
  await producer.connect();
  admin = factory.createAdmin();
  await admin.connect();
});

after(async () => {
  await consumer?.disconnect();
  await producer?.disconnect();
  await admin?.disconnect();
});

async function produce(partition: number, values: readonly string[]): Promise<void> {
  await producer.send(
    topic,
    values.map((value) => ({ key: `k${partition}`, value, partition })),
  );
}

test('watermarks: log start and end per partition, the start moving with deleted records', async () => {
  await produce(0, ['a0', 'a1', 'a2', 'a3']);
  await produce(1, ['b0', 'b1']);
  assert.deepEqual(await admin.watermarks(topic), [
    { partition: 0, logStart: '0', logEnd: '4' },
    { partition: 1, logStart: '0', logEnd: '2' },
  ]);
  const raw = factory.kafka.admin();
  await raw.connect();
  try {
    await raw.fetchTopicMetadata({ topics: [topic] });
    await raw.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '1' }] });
  } finally {
    await raw.disconnect();
  }
  assert.deepEqual((await admin.watermarks(topic))[0], {
    partition: 0,
    logStart: '1',
    logEnd: '4',
  });
});

test('readMessagesAt: the message at each offset; below the log start or at its end: null', async () => {
  const read = await readMessagesAt(factory.kafka, topic, [
    { partition: 0, offset: '2' },
    { partition: 1, offset: '1' },
  ]);
  assert.equal(text(read.get('0@2')?.value ?? null), 'a2');
  assert.equal(text(read.get('1@1')?.value ?? null), 'b1');
  assert.equal(read.get('0@2')?.offset, '2');
  const outside = await readMessagesAt(factory.kafka, topic, [
    { partition: 0, offset: '0' }, // deleted above
    { partition: 1, offset: '2' }, // the log end: not written yet
  ]);
  assert.deepEqual(
    [...outside],
    [
      ['0@0', null],
      ['1@2', null],
    ],
  );
  await assert.rejects(readMessagesAt(factory.kafka, topic, [{ partition: 0, offset: '-1' }]));
  await assert.rejects(readMessagesAt(factory.kafka, topic, [{ partition: 0, offset: '1e3' }]));
});

test('a paused partition hands out nothing while the other goes on; seek and resume continue it', async () => {
  const batches: ConsumedBatch[] = [];
  const c = factory.createConsumer({
    groupId: group,
    topics: [topic],
    autoCommit: false,
    fromBeginning: true,
    shutdownSignals: [],
    onPartitionsAssigned: () => {
      // Paused before the generation's first batch.
      c.pause(topic, [0]);
      return Promise.resolve([]);
    },
  });
  consumer = c;
  await c.start((batch) => {
    batches.push(batch);
  });
  const seen = (partition: number): string[] =>
    batches
      .filter((b) => b.partition === partition)
      .flatMap((b) => b.messages.map((m) => text(m.value) ?? ''));
  await waitFor(() => seen(1).length === 2, {
    timeoutMs: 30_000,
    description: 'partition 1 consumed',
  });
  await produce(1, ['b2']);
  await produce(0, ['a4']);
  await waitFor(() => seen(1).length === 3, {
    timeoutMs: 30_000,
    description: 'partition 1 goes on',
  });
  assert.deepEqual(seen(0), [], 'nothing of the paused partition');
  assert.equal(c.isPaused(topic, 0), true);
  assert.equal(c.isPaused(topic, 1), false);

  c.seek(topic, 0, '3');
  c.resume(topic, [0]);
  await waitFor(() => seen(0).length === 2, {
    timeoutMs: 30_000,
    description: 'partition 0 from offset 3',
  });
  assert.deepEqual(seen(0), ['a3', 'a4']);
  assert.equal(c.isPaused(topic, 0), false);
  assert.throws(() => c.seek(topic, 0, 'x'));
  assert.throws(() => c.seek(topic, 0, '-1'));
});
