import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type KafkaAdmin } from '../src/index';
import { testKafka } from './kafka.fixtures';

const { factory, topic } = testKafka('ensure');
let admin: KafkaAdmin;

before(async () => {
  admin = factory.createAdmin();
  await admin.connect();
});

after(async () => {
  await admin.disconnect();
});

test('ensureTopics creates a missing topic, then leaves it alone', async () => {
  const first = await admin.ensureTopics([{ topic, numPartitions: 3 }]);
  assert.deepEqual(first, { created: [topic], existing: [] });
  assert.equal((await admin.partitionCounts([topic])).get(topic), 3);

  const second = await factory.ensureTopics([{ topic, numPartitions: 3 }]);
  assert.deepEqual(second, { created: [], existing: [topic] });

  // A different partition count is reported in the log, never applied.
  const third = await admin.ensureTopics([{ topic, numPartitions: 6 }]);
  assert.deepEqual(third, { created: [], existing: [topic] });
  assert.equal((await admin.partitionCounts([topic])).get(topic), 3);
});

test('concurrent ensureTopics calls for the same new topic both succeed', async () => {
  const shared = `${topic}_concurrent`;
  const results = await Promise.all([
    admin.ensureTopics([
      { topic: shared, numPartitions: 2, config: { 'retention.ms': '3600000' } },
    ]),
    factory.ensureTopics([{ topic: shared, numPartitions: 2 }]),
  ]);
  const created = results.flatMap((result) => result.created);
  assert.ok(created.length <= 1, `created by at most one caller: ${JSON.stringify(results)}`);
  assert.equal((await admin.partitionCounts([shared])).get(shared), 2);
});
