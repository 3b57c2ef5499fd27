import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { type SampleEvent, encode } from '@metering/contracts';
import { Kafka, logLevel } from 'kafkajs';
import { SecondKafkaBroker, freePort, localInfra, waitFor } from '@metering/testing';
import { RatingWorld, expectedLedger } from './rating-harness';
import { generateSamples } from './sample-stream';

// Offset continuity against the real broker, database and rating process: when the position
// stored in the ledger and the topic disagree, the partition stops and says so (/healthz, the
// metric, the log), nothing of it is rated or skipped as "already applied", and the operator's
// command decides; the running process resumes the partition from the decision.
const ZONES = { acme: 'UTC', globex: 'Europe/Berlin' };
const START = Date.UTC(2026, 10, 2, 8, 0, 0);
const cli = join(__dirname, '..', 'src', 'cli', 'rating.cli.js');

let world: RatingWorld | undefined;
let broker: SecondKafkaBroker | undefined;
afterEach(async () => {
  await world?.tearDown();
  world = undefined;
  await broker?.dispose();
  broker = undefined;
});

/** Samples of their own resources (the seed is in the resource ids). */
function stream(seed: number, resources: number, samplesPerResource: number): SampleEvent[] {
  return generateSamples({
    seed,
    tenants: Object.keys(ZONES),
    resources,
    samplesPerResource,
    startMs: START,
  }).sort((a, b) => Date.parse(a.observedAt) - Date.parse(b.observedAt));
}

async function produceTo(
  w: RatingWorld,
  partition: number,
  samples: readonly SampleEvent[],
  kafka: Kafka = w.kafka,
) {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < samples.length; i += 200) {
    await producer.send({
      topic: w.topic,
      messages: samples
        .slice(i, i + 200)
        .map((s) => ({ key: s.resource.id, value: encode(s), partition })),
    });
  }
  await producer.disconnect();
}

function runCli(
  w: RatingWorld,
  args: string[],
  brokers: readonly string[] = localInfra.kafkaBrokers,
): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [cli, 'offsets', ...args], {
    env: {
      ...process.env,
      KAFKA_BROKERS: brokers.join(','),
      DATABASE_URL: localInfra.postgresUrl,
      DATABASE_SCHEMA: w.schema,
      SAMPLES_TOPIC: w.topic,
      RATING_GROUP_ID: w.groupId,
      OFFSET_DECISION_POLL_MS: '500',
    },
    encoding: 'utf8',
    timeout: 90_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

interface Stopped {
  topic: string;
  partition: number;
  reason: string;
  messagesLost?: string;
}

async function health(port: number): Promise<{ code: number; stopped: Stopped[] }> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`);
  const body = (await response.json()) as {
    checks?: Record<string, { detail?: { stopped?: Stopped[] } }>;
    message?: { checks?: Record<string, { detail?: { stopped?: Stopped[] } }> };
  };
  // 503 carries the report as the exception's body.
  const checks = body.checks ?? body.message?.checks ?? {};
  return { code: response.status, stopped: checks.offsets?.detail?.stopped ?? [] };
}

async function metrics(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** The value of the series of `name` carrying every label given (others, e.g. service, too). */
function sampleValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text
    .split('\n')
    .find(
      (l) =>
        (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) &&
        wanted.every((pair) => l.includes(pair)),
    );
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

async function startRating(
  w: RatingWorld,
  label: string,
  env: Record<string, string> = {},
): Promise<number> {
  const port = await freePort();
  w.startRating(label, { PORT: String(port), OFFSET_DECISION_POLL_MS: '500', ...env });
  await waitFor(
    async () => {
      try {
        await fetch(`http://127.0.0.1:${port}/healthz`);
        return true;
      } catch {
        return false;
      }
    },
    { timeoutMs: 60_000, intervalMs: 250, description: 'rating answering /healthz' },
  );
  return port;
}

async function waitForStop(port: number, partition: number, reason: string): Promise<Stopped> {
  let found: Stopped | undefined;
  await waitFor(
    async () => {
      const h = await health(port);
      found = h.stopped.find((s) => s.partition === partition && s.reason === reason);
      return h.code === 503 && found !== undefined;
    },
    { timeoutMs: 90_000, intervalMs: 250, description: `partition ${partition}: ${reason}` },
  );
  return found!;
}

async function skippedAsApplied(port: number): Promise<number> {
  return (
    sampleValue(await metrics(port), 'rating_messages_total', { outcome: 'already_applied' }) ?? 0
  );
}

async function stored(w: RatingWorld, partition: number): Promise<string | undefined> {
  return (await w.storedOffsets()).get(partition);
}

async function waitForStored(w: RatingWorld, partition: number, offset: number): Promise<void> {
  await waitFor(async () => (await stored(w, partition)) === String(offset), {
    timeoutMs: 90_000,
    intervalMs: 250,
    description: `partition ${partition} stored at ${offset}`,
  });
}

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
