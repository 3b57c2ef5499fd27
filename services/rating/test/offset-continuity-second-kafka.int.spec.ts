import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { SecondKafkaBroker, waitFor } from '@metering/testing';
import {
  ZONES,
  stream,
  produceTo,
  runCli,
  startRating,
  waitForStop,
  skippedAsApplied,
} from './offset-continuity.helpers';
import { RatingWorld, expectedLedger } from './rating-harness';

// Offset continuity against the real broker, database and rating process: when the position
// stored in the ledger and the topic disagree, the partition stops and says so (/healthz, the
// metric, the log), nothing of it is rated or skipped as "already applied", and the operator's
// command decides; the running process resumes the partition from the decision.
// This file: another Kafka with the same topic behind the same database.

let world: RatingWorld | undefined;
let broker: SecondKafkaBroker | undefined;
afterEach(async () => {
  await world?.tearDown();
  world = undefined;
  await broker?.dispose();
  broker = undefined;
});

describe('rating: offset continuity (real broker, database and process)', () => {
  test('a second stack: the same database, another Kafka with the same topic — stopped, not one sample skipped', async () => {
    // The case: a second checkout's stack with a new Kafka log on the same database
    // (123 samples skipped as already applied before).
    world = new RatingWorld();
    await world.setUp(2, ZONES);
    const old0 = stream(61, 3, 10);
    const old1 = stream(62, 2, 10);
    await produceTo(world, 0, old0);
    await produceTo(world, 1, old1);
    const first = world.startRating('first-kafka');
    await world.waitForCatchUp(90_000);
    await world.kill(first, 'SIGTERM');
    const before = await world.ledger();

    broker = await SecondKafkaBroker.create('rating-offsets');
    await broker.start();
    const other = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
    const admin = other.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic: world.topic, numPartitions: 2 }],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
    // Longer than the stored position on partition 0 (30): only the fingerprint tells; shorter on
    // partition 1 (20).
    const new0 = stream(63, 3, 15);
    const new1 = stream(64, 1, 5);
    await produceTo(world, 0, new0, other);
    await produceTo(world, 1, new1, other);

    const brokers = { KAFKA_BROKERS: broker.brokers.join(',') };
    const port = await startRating(world, 'second-kafka', brokers);
    await waitForStop(port, 0, 'topic_changed');
    await waitForStop(port, 1, 'offset_beyond_end');
    assert.deepEqual(await world.ledger(), before, 'nothing of the other Kafka rated');
    assert.equal(await skippedAsApplied(port), 0, 'nothing skipped as already applied');

    const status = runCli(world, ['status', '--json'], broker.brokers);
    assert.equal(status.status, 1, status.out);
    const report = JSON.parse(status.out.trim().split('\n').pop()!) as {
      partitions: { partition: number; fingerprint: string; reason?: string }[];
    };
    assert.deepEqual(
      report.partitions.map((p) => [p.partition, p.fingerprint, p.reason]),
      [
        [0, 'mismatch', 'topic_changed'],
        [1, 'not needed', 'offset_beyond_end'],
      ],
    );
    const done = runCli(world, ['--reset-to-start', '--yes'], broker.brokers);
    assert.equal(done.status, 0, done.out);
    await waitFor(
      async () => {
        const s = await world!.storedOffsets();
        return s.get(0) === String(new0.length) && s.get(1) === String(new1.length);
      },
      { timeoutMs: 90_000, intervalMs: 250, description: 'the other Kafka rated' },
    );
    assert.deepEqual(
      await world.ledger(),
      expectedLedger([...old0, ...old1, ...new0, ...new1], ZONES),
    );
    assert.equal(await skippedAsApplied(port), 0);
  });
});
