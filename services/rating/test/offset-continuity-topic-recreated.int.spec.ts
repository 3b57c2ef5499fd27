import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@metering/testing';
import {
  ZONES,
  stream,
  produceTo,
  runCli,
  health,
  metrics,
  sampleValue,
  startRating,
  waitForStop,
  skippedAsApplied,
} from './offset-continuity.helpers';
import { RatingWorld, expectedLedger } from './rating-harness';

// Offset continuity against the real broker, database and rating process: when the position
// stored in the ledger and the topic disagree, the partition stops and says so (/healthz, the
// metric, the log), nothing of it is rated or skipped as "already applied", and the operator's
// command decides; the running process resumes the partition from the decision.
// This file: the topic deleted and recreated under a running rating.

let world: RatingWorld | undefined;
afterEach(async () => {
  await world?.tearDown();
  world = undefined;
});

describe('rating: offset continuity (real broker, database and process)', () => {
  test('the topic deleted and recreated under a running rating: stops, skips nothing of the new topic; --reset-to-start rates it exactly', async () => {
    world = new RatingWorld();
    await world.setUp(2, ZONES);
    const old0 = stream(51, 3, 20);
    const old1 = stream(52, 2, 10);
    await produceTo(world, 0, old0);
    await produceTo(world, 1, old1);
    const port = await startRating(world, 'recreate');
    await world.waitForCatchUp(90_000);
    const before = await world.ledger();
    assert.deepEqual(before, expectedLedger([...old0, ...old1], ZONES));

    const admin = world.kafka.admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: [world.topic] });
      await waitFor(async () => !(await admin.listTopics()).includes(world!.topic), {
        timeoutMs: 30_000,
        intervalMs: 200,
        description: 'the topic deleted',
      });
      await admin.createTopics({
        topics: [{ topic: world.topic, numPartitions: 2 }],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
    // The new topic: fewer messages than the stored position on partition 0 (60), more on
    // partition 1 (20), where only the fingerprint tells the logs apart.
    const new0 = stream(53, 2, 10);
    const new1 = stream(54, 3, 15);
    await produceTo(world, 0, new0);
    await produceTo(world, 1, new1);

    const stop0 = await waitForStop(port, 0, 'offset_beyond_end');
    assert.equal(stop0.topic, world.topic);
    await waitForStop(port, 1, 'topic_changed');
    const text = await metrics(port);
    for (const [partition, reason] of [
      ['0', 'offset_beyond_end'],
      ['1', 'topic_changed'],
    ] as const) {
      assert.equal(
        sampleValue(text, 'rating_partition_stopped', { topic: world.topic, partition, reason }),
        1,
      );
    }
    // Nothing of the new topic rated or skipped as already applied.
    assert.deepEqual(await world.ledger(), before);
    assert.equal(await skippedAsApplied(port), 0);
    assert.deepEqual([...(await world.storedOffsets())].sort(), [
      [0, String(old0.length)],
      [1, String(old1.length)],
    ]);

    const status = runCli(world, ['status']);
    assert.equal(status.status, 1, status.out);
    assert.match(status.out, /1\s+20\s+0\s+45\s+mismatch\s+STOPPED topic_changed/);
    const done = runCli(world, ['--reset-to-start', '--yes']);
    assert.equal(done.status, 0, done.out);
    await world.waitForCatchUp(90_000);
    assert.deepEqual(
      await world.ledger(),
      expectedLedger([...old0, ...old1, ...new0, ...new1], ZONES),
      'the new topic rated exactly, on top of the old one',
    );
    await waitFor(async () => (await health(port)).code === 200, {
      timeoutMs: 10_000,
      intervalMs: 250,
      description: '/healthz up again',
    });
    assert.equal(await skippedAsApplied(port), 0);
  });
});
