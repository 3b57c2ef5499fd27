import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { Murmur2Partitioner, murmur2 } from './murmur2.partitioner';

// The 32-bit murmur2 must be kafkajs's (the Java client's) exactly: a key on another partition
// would break per-resource order across a producer upgrade and disagree with other producers.
const kafkajsMurmur2 = createRequire(__filename)(
  'kafkajs/src/producer/partitioners/default/murmur2',
) as (key: Buffer | string) => number;

const keys = fc.oneof(
  fc.uint8Array({ maxLength: 80 }).map((bytes) => Buffer.from(bytes)),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', 'a', 'ab', 'abc', 'abcd', 'b'.repeat(64), '\u00ff\u00ff\u00ff\u00ff'),
);

test('murmur2 equals kafkajs’s murmur2 on every key', () => {
  fc.assert(
    fc.property(keys, (key) => {
      assert.equal(murmur2(key), kafkajsMurmur2(key));
    }),
    { numRuns: 20_000 },
  );
  // Known values of Kafka's murmur2 (the Java client's Utils.murmur2 tests).
  assert.equal(murmur2(Buffer.from('21')), -973932308);
  assert.equal(murmur2(Buffer.from('foobar')), -790332482);
});

test('the partitioner puts every keyed message where kafkajs’s DefaultPartitioner does', () => {
  const ours = Murmur2Partitioner();
  const theirs = Partitioners.DefaultPartitioner();
  fc.assert(
    fc.property(keys, fc.integer({ min: 1, max: 200 }), (key, partitions) => {
      const partitionMetadata = metadata(partitions);
      const args = { topic: 't', partitionMetadata, message: { key, value: null } };
      assert.equal(ours(args), theirs(args));
    }),
    { numRuns: 5_000 },
  );
});

test('a named partition wins; without a key, round-robin over partitions with a leader', () => {
  const partition = Murmur2Partitioner();
  const partitionMetadata = metadata(4).map((p) =>
    p.partitionId === 2 ? { ...p, leader: -1 } : p,
  );
  assert.equal(
    partition({ topic: 't', partitionMetadata, message: { key: 'k', value: null, partition: 3 } }),
    3,
  );
  const seen = new Set<number>();
  for (let i = 0; i < 12; i++) {
    seen.add(partition({ topic: 't', partitionMetadata, message: { key: null, value: null } }));
  }
  assert.deepEqual([...seen].sort(), [0, 1, 3]);
});

function metadata(n: number): PartitionMetadata[] {
  return Array.from({ length: n }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    offlineReplicas: [],
    partitionErrorCode: 0,
  }));
}
