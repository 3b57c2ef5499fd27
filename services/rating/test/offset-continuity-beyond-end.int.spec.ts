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
  waitForStored,
} from './offset-continuity.helpers';
import { RatingWorld, expectedLedger } from './rating-harness';

// Offset continuity against the real broker, database and rating process: when the position
// stored in the ledger and the topic disagree, the partition stops and says so (/healthz, the
// metric, the log), nothing of it is rated or skipped as "already applied", and the operator's
// command decides; the running process resumes the partition from the decision.
// This file: a stored offset beyond the log end.

let world: RatingWorld | undefined;
afterEach(async () => {
  await world?.tearDown();
  world = undefined;
});

describe('rating: offset continuity (real broker, database and process)', () => {
  test('a stored offset beyond the log end stops that partition only; --reset-to-start rates it exactly', async () => {
    world = new RatingWorld();
    await world.setUp(2, ZONES);
    const p0 = stream(31, 3, 20);
    const p1 = stream(32, 3, 20);
    await produceTo(world, 0, p0);
    await produceTo(world, 1, p1);
    // A position from another log: beyond this partition's end.
    await world.ds.query(
      `INSERT INTO consumer_offset (group_id, topic, partition, next_offset) VALUES ($1, $2, 0, 5000)`,
      [world.groupId, world.topic],
    );

    const port = await startRating(world, 'beyond-end');
    const stop = await waitForStop(port, 0, 'offset_beyond_end');
    assert.equal(stop.topic, world.topic);
    await waitForStored(world, 1, p1.length);
    const text = await metrics(port);
    assert.equal(
      sampleValue(text, 'rating_partition_stopped', {
        topic: world.topic,
        partition: '0',
        reason: 'offset_beyond_end',
      }),
      1,
    );
    assert.equal(
      sampleValue(text, 'rating_partition_stopped', {
        topic: world.topic,
        partition: '1',
        reason: 'offset_beyond_end',
      }),
      0,
    );
    // Nothing of partition 0 rated, nothing skipped: the other partition is exact.
    assert.equal(await stored(world, 0), '5000');
    assert.deepEqual(await world.ledger(), expectedLedger(p1, ZONES));
    assert.equal(await skippedAsApplied(port), 0);

    // The operator looks, then decides.
    const status = runCli(world, ['status']);
    assert.equal(status.status, 1, status.out);
    assert.match(status.out, /0\s+5000\s+0\s+60\s+not needed\s+STOPPED offset_beyond_end/);
    const dry = runCli(world, ['--reset-to-start', '--partition', '0']);
    assert.equal(dry.status, 0, dry.out);
    assert.match(
      dry.out,
      /position set to 0 \(the log start\).*60 messages .* will be rated, 0 skipped/,
    );
    assert.match(dry.out, /run again with --yes/);
    assert.equal(await stored(world, 0), '5000', 'nothing done without --yes');
    const refused = runCli(world, ['--accept-gap', '--partition', '0', '--yes']);
    assert.equal(refused.status, 1, refused.out);
    assert.match(refused.out, /not a retention gap/);
    const inLine = runCli(world, ['--reset-to-start', '--partition', '1', '--yes']);
    assert.equal(inLine.status, 1, 'a partition in line is never moved');
    assert.equal(await stored(world, 1), String(p1.length));

    const done = runCli(world, ['--reset-to-start', '--partition', '0', '--yes', '--json']);
    assert.equal(done.status, 0, done.out);
    const decision = JSON.parse(done.out.trim().split('\n').pop()!) as {
      applied: boolean;
      decisions: { partition: number; previousOffset: string; newOffset: string }[];
    };
    assert.equal(decision.applied, true);
    assert.deepEqual(
      decision.decisions.map((d) => [d.partition, d.previousOffset, d.newOffset]),
      [[0, '5000', '0']],
    );

    // The running process resumes it: no restart.
    await world.waitForCatchUp(90_000);
    assert.deepEqual(await world.ledger(), expectedLedger([...p0, ...p1], ZONES));
    await waitFor(async () => (await health(port)).code === 200, {
      timeoutMs: 10_000,
      intervalMs: 250,
      description: '/healthz up again',
    });
    assert.equal(
      sampleValue(await metrics(port), 'rating_partition_stopped', {
        topic: world.topic,
        partition: '0',
        reason: 'offset_beyond_end',
      }),
      0,
    );
    assert.equal(await skippedAsApplied(port), 0);
    const audit = await world.ds.query<{ action: string; reason: string; decided_by: string }[]>(
      `SELECT action, reason, decided_by FROM consumer_offset_decision WHERE group_id = $1`,
      [world.groupId],
    );
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.action, 'reset_to_start');
    assert.equal(audit[0]!.reason, 'offset_beyond_end');
    assert.match(audit[0]!.decided_by, /.+@.+/);
  });
});
