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
  stored,
} from './offset-continuity.helpers';
import { RatingWorld, expectedLedger } from './rating-harness';

// Offset continuity against the real broker, database and rating process: when the position
// stored in the ledger and the topic disagree, the partition stops and says so (/healthz, the
// metric, the log), nothing of it is rated or skipped as "already applied", and the operator's
// command decides; the running process resumes the partition from the decision.
// This file: retention deleting past the stored offset while rating was down.

let world: RatingWorld | undefined;
afterEach(async () => {
  await world?.tearDown();
  world = undefined;
});

describe('rating: offset continuity (real broker, database and process)', () => {
  test('retention past the stored offset while rating was stopped: stops, counts the lost messages; --accept-gap goes on and keeps the count', async () => {
    world = new RatingWorld();
    await world.setUp(2, ZONES);
    const all0 = stream(41, 3, 40);
    const p0 = all0.slice(0, 60);
    const p1 = stream(42, 3, 20);
    await produceTo(world, 0, p0);
    await produceTo(world, 1, p1);
    const first = world.startRating('before');
    await world.waitForCatchUp(90_000);
    await world.kill(first, 'SIGTERM');

    // While rating is down: more samples, and retention deletes the first 10 of them.
    const later = all0.slice(60);
    assert.equal(later.length, 60);
    await produceTo(world, 0, later);
    const admin = world.kafka.admin();
    await admin.connect();
    try {
      await admin.fetchTopicMetadata({ topics: [world.topic] }); // deleteTopicRecords needs it
      await admin.deleteTopicRecords({
        topic: world.topic,
        partitions: [{ partition: 0, offset: String(p0.length + 10) }],
      });
    } finally {
      await admin.disconnect();
    }

    const port = await startRating(world, 'after');
    const stop = await waitForStop(port, 0, 'retention_gap');
    assert.equal(stop.messagesLost, '10');
    const text = await metrics(port);
    assert.equal(sampleValue(text, 'rating_messages_lost_to_retention_total'), 10);
    assert.equal(
      sampleValue(text, 'rating_partition_stopped', {
        topic: world.topic,
        partition: '0',
        reason: 'retention_gap',
      }),
      1,
    );
    assert.equal(await stored(world, 0), String(p0.length), 'nothing of partition 0 moved');
    assert.equal(await skippedAsApplied(port), 0);

    const dry = runCli(world, ['--accept-gap']);
    assert.equal(dry.status, 0, dry.out);
    assert.match(
      dry.out,
      /partition 0 \(retention_gap\): position set to 70 .* 50 messages .* will be rated, 0 skipped; 10 messages deleted by retention are recorded as lost/,
    );
    const refused = runCli(world, ['--reset-to-start', '--partition', '0', '--yes']);
    assert.equal(refused.status, 1, refused.out);
    assert.match(refused.out, /use --accept-gap/);
    const done = runCli(world, ['--accept-gap', '--yes']);
    assert.equal(done.status, 0, done.out);

    await world.waitForCatchUp(90_000);
    const survivors = later.slice(10);
    assert.deepEqual(await world.ledger(), expectedLedger([...p0, ...survivors, ...p1], ZONES));
    await waitFor(async () => (await health(port)).code === 200, {
      timeoutMs: 10_000,
      intervalMs: 250,
      description: '/healthz up again',
    });
    assert.equal(
      sampleValue(await metrics(port), 'rating_messages_lost_to_retention_total'),
      10,
      'the loss stays counted',
    );
    assert.equal(await skippedAsApplied(port), 0);
    const audit = await world.ds.query<{ action: string; messages_lost: string }[]>(
      `SELECT action, messages_lost::text FROM consumer_offset_decision WHERE group_id = $1`,
      [world.groupId],
    );
    assert.deepEqual(audit, [{ action: 'accept_gap', messages_lost: '10' }]);
  });
});
