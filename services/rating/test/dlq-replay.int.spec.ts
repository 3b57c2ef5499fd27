import { createHash } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type DlqEvent,
  type SampleEvent,
  dlqEventOf,
  encode,
  sampleIdOf,
} from '@metering/contracts';
import { type CliRun, RatingWorld, expectedLedger } from './rating-harness';

// `npm run rating -- dlq list|replay` as the real binary, against the real rating process, Kafka
// and PostgreSQL: rating dead-letters samples, the command lists them with filters, a dry run
// changes nothing, a replay re-publishes the fixable ones exactly once, rating rates them, and the
// ledger holds every sample once (also when a replay is repeated after a lost commit).
const ZONES = { acme: 'UTC', globex: 'UTC' };
const START = Date.UTC(2026, 10, 20, 8, 0, 0);
const GIB = 2 ** 30;

let world: RatingWorld | undefined;
afterEach(async () => {
  await world?.tearDown();
  world = undefined;
});

/** One resource's samples, 10 s apart from `fromMs`: 0.2 cores of 1, 100 MiB of 1 GiB. */
function series(
  tenantId: string,
  resourceId: string,
  fromMs: number,
  count: number,
): SampleEvent[] {
  const instanceId = `${resourceId}-i0`;
  const startedAt = new Date(fromMs - 10_000).toISOString();
  return Array.from({ length: count }, (_, i) => {
    const observedAt = new Date(fromMs + i * 10_000).toISOString();
    return {
      schema: 'metering.sample.v1',
      sampleId: sampleIdOf({
        source: 'docker',
        host: 'node-1',
        resourceId,
        instanceId,
        observedAt,
      }),
      source: 'docker',
      host: 'node-1',
      resource: {
        kind: 'container',
        id: resourceId,
        name: resourceId,
        tenantId,
        instanceId,
        startedAt,
      },
      observedAt,
      lifecycle: 'running',
      cpu: { usageNs: String(BigInt(i + 1) * 2_000_000_000n), allocationCores: 1 },
      memory: { usageBytes: 100 * 2 ** 20 + i * 4096, allocationBytes: GIB },
    } satisfies SampleEvent;
  });
}

/** Runs `node services/rating/dist/src/cli/rating.cli.js ...args` with the world's settings. */
const runCli = (w: RatingWorld, args: string[]): Promise<CliRun> => w.runCli(args);

async function runJson(
  w: RatingWorld,
  args: string[],
  expectedCode = 0,
): Promise<Record<string, unknown>[]> {
  const r = await runCli(w, [...args, '--json']);
  assert.equal(r.code, expectedCode, `rating ${args.join(' ')}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

interface RecordLine {
  type: 'record';
  reason: { code: string };
  tenant: string | null;
  resourceId: string | null;
  replayable: boolean;
  notReplayable: string | null;
  replayedAt: string | null;
  failedAt: string;
}

const recordsOf = (lines: Record<string, unknown>[]): RecordLine[] =>
  lines.filter((l) => l.type === 'record') as unknown as RecordLine[];

function lineOf<T>(lines: Record<string, unknown>[], type: string): T {
  const line = lines.find((l) => l.type === type);
  assert.ok(line, `a ${type} line in ${JSON.stringify(lines)}`);
  return line as T;
}

async function endOffsets(w: RatingWorld, topic: string): Promise<string[]> {
  const admin = w.kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.sort((a, b) => a.partition - b.partition).map((o) => o.high);
  } finally {
    await admin.disconnect();
  }
}

async function groups(w: RatingWorld): Promise<string[]> {
  const admin = w.kafka.admin();
  await admin.connect();
  try {
    return (await admin.listGroups()).groups.map((g) => g.groupId);
  } finally {
    await admin.disconnect();
  }
}

/** The `dlq.replayed-from` headers on the samples topic (a throwaway group, deleted after). */
async function replayedFromHeaders(w: RatingWorld): Promise<string[]> {
  const ends = new Map(
    (await endOffsets(w, w.topic)).map((high, partition) => [partition, BigInt(high)]),
  );
  for (const [p, high] of ends) if (high === 0n) ends.delete(p);
  const groupId = `${w.name}-headers`;
  const consumer = w.kafka.consumer({ groupId });
  const headers: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: w.topic, fromBeginning: true });
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  await consumer.run({
    autoCommit: false,
    eachBatch: ({ batch }) => {
      for (const m of batch.messages) {
        const h = m.headers?.['dlq.replayed-from'];
        if (h !== undefined) headers.push(String(h));
        if (BigInt(m.offset) >= (ends.get(batch.partition) ?? 0n) - 1n)
          ends.delete(batch.partition);
      }
      if (ends.size === 0) done();
      return Promise.resolve();
    },
  });
  await Promise.race([
    finished,
    new Promise((_, reject) => setTimeout(() => reject(new Error('headers: timeout')), 60_000)),
  ]);
  await consumer.disconnect();
  return headers;
}

async function replayRows(w: RatingWorld): Promise<{ reason: string; n: number }[]> {
  return w.ds.query(
    `SELECT reason_code AS reason, count(*)::int AS n FROM dlq_replay GROUP BY 1 ORDER BY 1`,
  );
}

describe('rating dlq list|replay (the real binary, the real rating process)', () => {
  test('lists with filters, a dry run changes nothing, replays the fixable ones once, the ledger is exact', async () => {
    world = new RatingWorld();
    const w = world;
    await w.setUp(2, ZONES);
    const testStart = new Date(Date.now() - 1_000).toISOString();

    // Valid samples in the past; samples 40-80 s ahead of the clock (rejected while rating allows
    // 1 s of skew: a collector whose clock runs ahead, say); a schema violation.
    const valid = [
      ...series('acme', 'ctr-a1', START, 12),
      ...series('acme', 'ctr-a2', START + 5_000, 12),
      ...series('globex', 'ctr-g1', START, 12),
      ...series('globex', 'vm-g2', START + 3_000, 12),
    ];
    const now = Date.now();
    const future = [
      ...series('acme', 'ctr-future-a', now + 40_000, 3),
      ...series('globex', 'ctr-future-g', now + 60_000, 2),
    ];
    const invalid = encode({ ...valid[0]!, memory: { usageBytes: -1, allocationBytes: null } });
    const values = [...valid.map((s) => encode(s)), ...future.map((s) => encode(s)), invalid];
    const keys = [...valid, ...future].map((s) => s.resource.id).concat('ctr-a1');
    await w.produce(values, (i) => keys[i]!);

    // Dead letters written before this rating version (the contract has no KEY_MISMATCH check
    // here yet): a producer that keyed by host, and one record whose value was truncated.
    const keyFix = series('acme', 'ctr-keyfix', START + 7_000, 3);
    const longSample = encode(series('acme', 'ctr-long', START, 1)[0]!);
    const oldFailedAt = new Date('2026-11-15T00:00:00Z');
    const built: DlqEvent[] = [
      ...keyFix.map((s, i) =>
        dlqEventOf({
          reason: { code: 'KEY_MISMATCH', message: 'key "node-1" is not resource.id', path: null },
          original: {
            topic: w.topic,
            partition: 1,
            offset: String(1000 + i),
            key: Buffer.from('node-1'),
            value: encode(s),
          },
          service: 'rating',
          failedAt: oldFailedAt,
        }),
      ),
      {
        ...dlqEventOf({
          reason: { code: 'UNRATEABLE', message: 'too large', path: null },
          original: {
            topic: w.topic,
            partition: 0,
            offset: '2000',
            key: Buffer.from('ctr-long'),
            value: longSample.subarray(0, 64),
          },
          service: 'rating',
          failedAt: oldFailedAt,
        }),
      },
    ];
    const truncated = built[3]!;
    Object.assign(truncated.original, {
      valueBytes: longSample.length,
      valueSha256: createHash('sha256').update(longSample).digest('hex'),
      valueTruncated: true,
    });
    const producer = w.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({
      topic: w.dlqTopic,
      messages: built.map((e) => ({ key: null, value: JSON.stringify(e) })),
    });
    await producer.disconnect();

    const first = w.startRating('skew-1s', { MAX_FUTURE_SKEW_MS: '1000' });
    await w.waitForCatchUp(60_000);
    assert.deepEqual(await w.ledger(), expectedLedger(valid, ZONES));
    assert.deepEqual(await endOffsets(w, w.dlqTopic), [String(built.length + future.length + 1)]);

    // list: every record, with its reason, tenant and whether it can be replayed.
    const all = await runJson(w, ['dlq', 'list']);
    const records = recordsOf(all);
    assert.equal(records.length, 10);
    assert.deepEqual(lineOf<{ byReason: unknown }>(all, 'summary').byReason, {
      KEY_MISMATCH: { selected: 3, replayable: 0, replayed: 0, notReplayable: 3 },
      SAMPLE_IN_FUTURE: { selected: 5, replayable: 5, replayed: 0, notReplayable: 0 },
      SCHEMA_VIOLATION: { selected: 1, replayable: 0, replayed: 0, notReplayable: 1 },
      UNRATEABLE: { selected: 1, replayable: 0, replayed: 0, notReplayable: 1 },
    });
    const byReason = (code: string): RecordLine[] => records.filter((r) => r.reason.code === code);
    assert.match(byReason('UNRATEABLE')[0]!.notReplayable ?? '', /prefix of the value/);
    assert.match(byReason('KEY_MISMATCH')[0]!.notReplayable ?? '', /--key-from-resource/);
    assert.match(byReason('SCHEMA_VIOLATION')[0]!.notReplayable ?? '', /bytes themselves/);
    assert.deepEqual(
      byReason('SAMPLE_IN_FUTURE')
        .map((r) => `${r.tenant}|${r.resourceId}`)
        .sort(),
      future.map((s) => `${s.resource.tenantId}|${s.resource.id}`).sort(),
    );

    // Filters: reason and tenant, time (failedAt), limit.
    const globexFuture = recordsOf(
      await runJson(w, ['dlq', 'list', '--reason', 'SAMPLE_IN_FUTURE', '--tenant', 'globex']),
    );
    assert.deepEqual(
      globexFuture.map((r) => [r.reason.code, r.tenant]),
      [
        ['SAMPLE_IN_FUTURE', 'globex'],
        ['SAMPLE_IN_FUTURE', 'globex'],
      ],
    );
    const twoReasons = recordsOf(
      await runJson(w, ['dlq', 'list', '--reason', 'KEY_MISMATCH', '--reason', 'UNRATEABLE']),
    );
    assert.equal(twoReasons.length, 4);
    const old = recordsOf(await runJson(w, ['dlq', 'list', '--to', '2026-11-16T00:00:00Z']));
    assert.deepEqual(
      old.map((r) => r.failedAt),
      Array(4).fill(oldFailedAt.toISOString()),
    );
    const recent = recordsOf(await runJson(w, ['dlq', 'list', '--from', testStart]));
    assert.equal(recent.length, 6);
    assert.ok(recent.every((r) => r.failedAt >= testStart));
    assert.equal(recordsOf(await runJson(w, ['dlq', 'list', '--limit', '2'])).length, 2);
    assert.equal(recordsOf(await runJson(w, ['dlq', 'list', '--tenant', 'initech'])).length, 0);

    // The table for humans, and bad arguments refused before anything is read.
    const table = await runCli(w, ['dlq', 'list', '--reason', 'SAMPLE_IN_FUTURE']);
    assert.equal(table.code, 0, table.stderr);
    // Without a terminal the progress is a status line on stderr, never mixed into the results.
    assert.match(table.stderr, new RegExp(`reading ${w.dlqTopic} .*\\| 10/10 records`));
    assert.match(
      table.stdout,
      /^DLQ +FAILED AT +REASON +ORIGINAL +TENANT +RESOURCE +REPLAY +MESSAGE/,
    );
    assert.match(table.stdout, /5 dead letters selected/);
    assert.match(table.stdout, /SAMPLE_IN_FUTURE +5 +5 +0 +0/);
    const bad = await runCli(w, ['dlq', 'list', '--from', 'last tuesday']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--from: "last tuesday" is not an ISO-8601 time/);

    // Reading left no consumer group behind (each read's throwaway group is deleted).
    assert.deepEqual(
      (await groups(w)).filter((g) => g.startsWith(`${w.name}-cli-dlq-cli-`)),
      [],
    );

    // The fix: rating allows the usual skew again. Then a dry run: the plan, nothing else.
    await w.kill(first, 'SIGTERM');
    w.startRating('skew-default');
    const samplesEnd = await endOffsets(w, w.topic);
    const dry = await runJson(w, ['dlq', 'replay', '--dry-run']);
    assert.deepEqual(
      (({ toReplay, alreadyReplayed, selected }) => ({ toReplay, alreadyReplayed, selected }))(
        lineOf<{ toReplay: number; alreadyReplayed: number; selected: number }>(dry, 'plan'),
      ),
      { toReplay: 5, alreadyReplayed: 0, selected: 10 },
    );
    assert.equal(
      dry.some((l) => l.type === 'result'),
      false,
    );
    const unconfirmed = await runCli(w, ['dlq', 'replay']);
    assert.equal(unconfirmed.code, 2);
    assert.match(unconfirmed.stderr, /add --yes/);
    assert.deepEqual(await endOffsets(w, w.topic), samplesEnd);
    assert.deepEqual(await replayRows(w), []);

    // Replay: the five future samples (now within the skew), then the wrong-keyed ones keyed
    // by resource.id.
    // Two operators at once: each DLQ record is published by one of them only.
    const both = await Promise.all([
      runJson(w, ['dlq', 'replay', '--yes']),
      runJson(w, ['dlq', 'replay', '--yes']),
    ]);
    const results = both.map((lines) =>
      lineOf<{ replayed: number; skipped: number }>(lines, 'result'),
    );
    assert.equal(results[0]!.replayed + results[1]!.replayed, 5, JSON.stringify(results));
    const keyed = await runJson(w, [
      'dlq',
      'replay',
      '--yes',
      '--reason',
      'KEY_MISMATCH',
      '--key-from-resource',
    ]);
    assert.equal(lineOf<{ replayed: number }>(keyed, 'result').replayed, 3);
    assert.deepEqual(await replayRows(w), [
      { reason: 'KEY_MISMATCH', n: 3 },
      { reason: 'SAMPLE_IN_FUTURE', n: 5 },
    ]);
    await w.waitForCatchUp(60_000);
    const expected = expectedLedger([...valid, ...future, ...keyFix], ZONES);
    assert.deepEqual(await w.ledger(), expected);
    assert.deepEqual(
      await endOffsets(w, w.dlqTopic),
      ['10'],
      'rating dead-lettered none of the replayed samples',
    );
    const headers = await replayedFromHeaders(w);
    assert.equal(headers.length, 8);
    assert.ok(
      headers.every((h) => h.startsWith(`${w.dlqTopic}/0/`) && /\/0\/\d+$/.test(h)),
      headers.join(),
    );
    assert.equal(new Set(headers).size, 8);

    // Again, everything: nothing left to replay; the list shows what was replayed.
    const again = await runJson(w, ['dlq', 'replay', '--yes', '--key-from-resource']);
    assert.equal(lineOf<{ toReplay: number }>(again, 'plan').toReplay, 0);
    assert.equal(lineOf<{ replayed: number }>(again, 'result').replayed, 0);
    const after = recordsOf(await runJson(w, ['dlq', 'list']));
    assert.equal(after.filter((r) => r.replayedAt !== null).length, 8);
    assert.equal(after.find((r) => r.reason.code === 'UNRATEABLE')?.replayedAt, null);

    // A commit lost after Kafka's acknowledgement (a crash between the two): the next replay
    // publishes those records again, and rating ignores samples it has already rated.
    await w.ds.query(`DELETE FROM dlq_replay WHERE reason_code = 'SAMPLE_IN_FUTURE'`);
    const repeated = await runJson(w, ['dlq', 'replay', '--yes']);
    assert.equal(lineOf<{ replayed: number }>(repeated, 'result').replayed, 5);
    await w.waitForCatchUp(60_000);
    assert.deepEqual(await w.ledger(), expected);
  });
});
