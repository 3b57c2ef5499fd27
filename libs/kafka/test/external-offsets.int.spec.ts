import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@metering/testing';
import { type Admin } from 'kafkajs';
import {
  type ConsumedMessage,
  type KafkaConsumer,
  type KafkaProducer,
  type PartitionAssignment,
  type PartitionOffset,
} from '../src/index';
import { testKafka, text } from './kafka.fixtures';

const { factory, topic, group } = testKafka('extoffsets');
const PARTITIONS = 3;
const PER_PARTITION = 10;

/** Stands in for the rating service's ledger: positions stored with the results. */
class FakeLedger {
  readonly rows: ConsumedMessage[] = [];
  readonly offsets = new Map<number, string>();
  readonly loads: PartitionAssignment[][] = [];

  /** One "transaction": the batch's rows and the partition's next offset together. */
  commit(messages: readonly ConsumedMessage[], partition: number, next: string): void {
    this.rows.push(...messages);
    this.offsets.set(partition, next);
  }

  load(assignment: readonly PartitionAssignment[]): PartitionOffset[] {
    this.loads.push([...assignment]);
    return assignment.flatMap(({ topic: t, partitions }) =>
      partitions.flatMap((partition) => {
        const offset = this.offsets.get(partition);
        return offset === undefined ? [] : [{ topic: t, partition, offset }];
      }),
    );
  }
}

let producer: KafkaProducer;
let rawAdmin: Admin;
const consumers: KafkaConsumer[] = [];

before(async () => {
  await factory.ensureTopics([{ topic, numPartitions: PARTITIONS }]);
  producer = factory.createProducer();
  await producer.connect();
  rawAdmin = factory.kafka.admin();
  await rawAdmin.connect();
});

after(async () => {
  for (const consumer of consumers) await consumer.disconnect();
  await producer?.disconnect();
  await rawAdmin?.disconnect();
});

/** Writes `count` messages to every partition, values `wave-partition-i`. */
async function produceWave(wave: string, count: number): Promise<void> {
  for (let partition = 0; partition < PARTITIONS; partition++) {
    await producer.send(
      topic,
      Array.from({ length: count }, (_, i) => ({
        key: `p${partition}`,
        value: `${wave}-${partition}-${i}`,
        partition,
      })),
    );
  }
}

/**
 * `loadDelayMs` makes the stored offsets arrive after kafkajs's first fetch of the
 * generation, as a slow database would: that batch must not be handed out.
 */
function startConsumer(ledger: FakeLedger, loadDelayMs = 0): Promise<KafkaConsumer> {
  const consumer = factory.createConsumer({
    groupId: group,
    topics: [topic],
    autoCommit: false,
    shutdownSignals: [],
    onPartitionsAssigned: async (assignment) => {
      await new Promise((resolve) => setTimeout(resolve, loadDelayMs));
      return ledger.load(assignment);
    },
  });
  consumers.push(consumer);
  return consumer
    .start((batch) => {
      ledger.commit(batch.messages, batch.partition, batch.nextOffset);
    })
    .then(() => consumer);
}

test('with autoCommit off, a restarted consumer resumes from the stored offsets only', async () => {
  const ledger = new FakeLedger();
  await produceWave('one', PER_PARTITION);

  const first = await startConsumer(ledger);
  await waitFor(() => ledger.rows.length >= PARTITIONS * PER_PARTITION, {
    timeoutMs: 30_000,
    description: 'the first wave',
  });
  await first.disconnect();
  assert.deepEqual(
    [...ledger.offsets].sort(([a], [b]) => a - b),
    [
      [0, '10'],
      [1, '10'],
      [2, '10'],
    ],
  );

  // Nothing reached Kafka's offset store: the positions live only in the "ledger".
  const committed = await rawAdmin.fetchOffsets({ groupId: group, topics: [topic] });
  for (const { partitions } of committed) {
    for (const { offset } of partitions) assert.equal(offset, '-1');
  }

  // As if the last transaction for partition 1 had rolled back after offset 6.
  ledger.offsets.set(1, '7');
  const rolledBack = new Set(['one-1-7', 'one-1-8', 'one-1-9']);
  const rowsBefore = ledger.rows.length;

  await produceWave('two', 5);
  await startConsumer(ledger, 1_500);
  const expectedNew = rolledBack.size + PARTITIONS * 5;
  await waitFor(() => ledger.rows.length - rowsBefore >= expectedNew, {
    timeoutMs: 30_000,
    description: 'the second wave',
  });
  // Give a wrongly re-delivered batch the time to show up before asserting its absence.
  await new Promise((resolve) => setTimeout(resolve, 1_500));

  const second = ledger.rows.slice(rowsBefore).map((message) => text(message.value)!);
  assert.equal(second.length, expectedNew, `no re-delivery: ${second.join(' ')}`);
  assert.deepEqual(
    second.filter((value) => value.startsWith('one-')).sort(),
    [...rolledBack].sort(),
    'only what was not stored comes again',
  );
  assert.equal(second.filter((value) => value.startsWith('two-')).length, PARTITIONS * 5);
  assert.ok(ledger.loads.length >= 2, 'the hook ran on each join');
});
