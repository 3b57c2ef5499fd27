import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type ConsumedBatch,
  type ConsumedMessage,
  type PartitionWatermarks,
} from '@metering/kafka';
import { MetricsRegistry, createRootLogger } from '@metering/observability';
import { type StoredPosition } from '../ledger/offset-position.store';
import { messageFingerprint } from './message-fingerprint';
import { OffsetContinuityGuard, type PartitionControl } from './offset-continuity.guard';

// The guard's bookkeeping with the ledger and the broker stood in for (the real ones are in
// test/offset-continuity-*.int.spec.ts): which verdict leads to which seek, pause or resume, and
// what a batch out of line does.
const TOPIC = 'samples';

function message(offset: number, value = `v${offset}`): ConsumedMessage {
  return {
    topic: TOPIC,
    partition: 0,
    offset: String(offset),
    key: Buffer.from('k'),
    value: Buffer.from(value),
    headers: {},
    timestamp: '1764547200000',
  };
}

function batch(
  offsets: readonly number[],
  value?: (o: number) => string,
  highWatermark?: number,
): ConsumedBatch {
  const messages = offsets.map((o) => message(o, value?.(o)));
  const last = offsets[offsets.length - 1]!;
  return {
    topic: TOPIC,
    partition: 0,
    messages,
    firstOffset: String(offsets[0]),
    lastOffset: String(last),
    nextOffset: String(last + 1),
    highWatermark: String(highWatermark ?? last + 1),
  };
}

const fp = (offset: number, value?: string) =>
  messageFingerprint(message(offset, value)).toString('hex');

class World {
  position: StoredPosition | null = null;
  marks: PartitionWatermarks = { partition: 0, logStart: '0', logEnd: '0' };
  readonly calls: string[] = [];
  clock = 1_000_000;
  readonly metrics = new MetricsRegistry({ serviceName: 'rating', collectDefaultMetrics: false });
  readonly guard = new OffsetContinuityGuard(
    {
      positions: () => Promise.resolve(new Map(this.position === null ? [] : [[0, this.position]])),
    },
    { watermarks: () => Promise.resolve([this.marks]) },
    this.metrics,
    createRootLogger({ level: 'silent' }),
    { groupId: 'g', topic: TOPIC, pollMs: 60_000 },
    () => this.clock,
  );
  readonly control: PartitionControl = {
    pause: (_t, p) => void this.calls.push(`pause ${p.join()}`),
    resume: (_t, p) => void this.calls.push(`resume ${p.join()}`),
    seek: (_t, p, o) => void this.calls.push(`seek ${p}@${o}`),
  };

  constructor() {
    this.guard.attach(this.control);
  }

  store(next: number, fingerprint: string | null, revision = `r${next}`): void {
    this.position = { partition: 0, nextOffset: BigInt(next), fingerprint, revision };
  }

  async assign(): Promise<string[]> {
    const seeks = await this.guard.onAssigned([{ topic: TOPIC, partitions: [0] }]);
    return seeks.map((s) => `${s.partition}@${s.offset}`);
  }

  async stopped(): Promise<number | undefined> {
    const text = await this.metrics.metrics();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('rating_partition_stopped{') && / 1$/.test(l));
    return line === undefined ? undefined : 1;
  }
}

test('assignment with a fingerprint: seek to stored - 1; the same message there: rate from stored', async () => {
  const w = new World();
  w.store(10, fp(9));
  w.marks = { partition: 0, logStart: '0', logEnd: '15' };
  assert.deepEqual(await w.assign(), ['0@9']);
  const admitted = await w.guard.admit(batch([9, 10, 11]));
  assert.equal(admitted.kind, 'rate');
  assert.deepEqual(
    admitted.kind === 'rate' ? admitted.batch.messages.map((m) => m.offset) : [],
    ['10', '11'],
    'the message read to verify is not rated again',
  );
  w.guard.committed(batch([10, 11]));
  assert.equal(w.calls.at(-1), 'seek 0@11', 'the next fetch starts at the last message rated');
  w.store(12, fp(11));
  const next = await w.guard.admit(batch([11, 12, 13]));
  assert.deepEqual(next.kind === 'rate' ? next.batch.messages.map((m) => m.offset) : next.kind, [
    '12',
    '13',
  ]);
  w.guard.committed(batch([12, 13]));
  // Only the message read to verify comes back, at the end of a record batch with more in the
  // log: no seek back (it would fetch the same record batch in a loop)...
  const calls = w.calls.length;
  assert.equal((await w.guard.admit(batch([13], undefined, 30))).kind, 'verified');
  assert.equal(w.calls.length, calls);
  // ...and the next record batch, fetched right after the check, is in line.
  assert.equal((await w.guard.admit(batch([14], undefined, 30))).kind, 'rate');
  w.guard.committed(batch([14]));
  // Caught up: the next batch, whenever it comes, is held and read again from the one before.
  assert.equal((await w.guard.admit(batch([14]))).kind, 'verified');
  assert.equal((await w.guard.admit(batch([15, 16]))).kind, 'hold');
  assert.equal(w.calls.at(-1), 'seek 0@14');
  const resumed = await w.guard.admit(batch([14, 15, 16]));
  assert.deepEqual(
    resumed.kind === 'rate' ? resumed.batch.messages.map((m) => m.offset) : resumed.kind,
    ['15', '16'],
  );
  assert.equal((await w.guard.healthIndicator()).status, 'up');
});

test('another message at stored - 1: stopped as topic_changed, held, reported', async () => {
  const w = new World();
  w.store(10, fp(9));
  w.marks = { partition: 0, logStart: '0', logEnd: '15' };
  await w.assign();
  const admitted = await w.guard.admit(batch([9, 10], (o) => `other${o}`));
  assert.equal(admitted.kind, 'hold');
  assert.ok(w.calls.includes('pause 0'));
  const health = await w.guard.healthIndicator();
  assert.equal(health.status, 'down');
  assert.match(JSON.stringify(health.detail), /"reason":"topic_changed"/);
  assert.equal(await w.stopped(), 1);
  // Further batches of it (fetched before the pause) are held too.
  assert.equal((await w.guard.admit(batch([11]))).kind, 'hold');
});

test('kafkajs reset the position to the log start: the batch is held, the partition stopped', async () => {
  const w = new World();
  w.store(40, null);
  w.marks = { partition: 0, logStart: '0', logEnd: '40' };
  assert.deepEqual(await w.assign(), ['0@40']);
  // The log was replaced by a shorter one; kafkajs read from its start.
  w.marks = { partition: 0, logStart: '0', logEnd: '5' };
  assert.equal((await w.guard.admit(batch([0, 1, 2]))).kind, 'hold');
  assert.match(JSON.stringify((await w.guard.healthIndicator()).detail), /offset_beyond_end/);
});

test('a batch below the position (no check possible) is held and the position sought again', async () => {
  const w = new World();
  w.store(40, null);
  w.marks = { partition: 0, logStart: '0', logEnd: '60' };
  await w.assign();
  assert.equal((await w.guard.admit(batch([30, 31]))).kind, 'hold');
  assert.deepEqual(w.calls.at(-1), 'seek 0@40');
  const straddling = await w.guard.admit(batch([38, 39, 40, 41]));
  assert.deepEqual(
    straddling.kind === 'rate' ? straddling.batch.messages.map((m) => m.offset) : straddling.kind,
    ['40', '41'],
  );
});

test('no message at stored - 1 (a control record): resumed unverified, no seek loop', async () => {
  const w = new World();
  w.store(10, fp(9));
  w.marks = { partition: 0, logStart: '0', logEnd: '15' };
  assert.deepEqual(await w.assign(), ['0@9']);
  const admitted = await w.guard.admit(batch([10, 11]));
  assert.equal(admitted.kind, 'rate');
  assert.ok(!w.calls.some((c) => c.startsWith('seek')), w.calls.join());
});

test('retention past the position at assignment: stopped with the count, nothing sought', async () => {
  const w = new World();
  w.store(10, fp(9));
  w.marks = { partition: 0, logStart: '25', logEnd: '30' };
  assert.deepEqual(await w.assign(), []);
  assert.ok(w.calls.includes('pause 0'));
  const detail = JSON.stringify((await w.guard.healthIndicator()).detail);
  assert.match(detail, /"reason":"retention_gap"/);
  assert.match(detail, /"messagesLost":"15"/);
  const text = await w.metrics.metrics();
  assert.match(text, /rating_messages_lost_to_retention_total{service="rating"} 15\n/);
  // The same gap seen again (a rebalance) is not counted twice.
  await w.assign();
  assert.match(
    await w.metrics.metrics(),
    /rating_messages_lost_to_retention_total{service="rating"} 15\n/,
  );
});

test('a topic replaced between two batches (refilled past the position) is stopped before rating', async () => {
  const w = new World();
  w.store(10, fp(9));
  w.marks = { partition: 0, logStart: '0', logEnd: '15' };
  await w.assign();
  assert.equal((await w.guard.admit(batch([9, 10, 11]))).kind, 'rate');
  w.guard.committed(batch([10, 11]));
  w.store(12, fp(11));
  // The topic was deleted and recreated with more messages than the position: the message
  // at 11 is another one.
  w.marks = { partition: 0, logStart: '0', logEnd: '40' };
  assert.equal((await w.guard.admit(batch([11, 12, 13], (o) => `new${o}`))).kind, 'hold');
  assert.match(JSON.stringify((await w.guard.healthIndicator()).detail), /topic_changed/);
});

test('the record batch after a check is followed only right after it', async () => {
  const w = new World();
  w.store(10, fp(9));
  w.marks = { partition: 0, logStart: '0', logEnd: '30' };
  await w.assign();
  // The check ends a record batch, with more in the log.
  assert.equal((await w.guard.admit(batch([9], undefined, 30))).kind, 'verified');
  w.clock += 1_500;
  // Too long after the check to vouch for this batch: held and read again from 9.
  assert.equal((await w.guard.admit(batch([10, 11], undefined, 30))).kind, 'hold');
  assert.equal(w.calls.at(-1), 'seek 0@9');
});

test("an assignment learns the topic's partition count from the broker's watermarks (pass affinity reads it)", async () => {
  const w = new World();
  assert.equal(w.guard.topicPartitions, null, 'none before an assignment');
  w.store(10, fp(9));
  w.marks = { partition: 0, logStart: '0', logEnd: '15' };
  await w.assign();
  assert.equal(w.guard.topicPartitions, 1);
});
