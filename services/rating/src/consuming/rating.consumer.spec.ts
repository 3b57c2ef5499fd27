import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BatchHandler, type ConsumedBatch, type KafkaConsumer } from '@metering/kafka';
import { MetricsRegistry, createRootLogger } from '@metering/observability';
import { BatchWindow } from './batch-window';
import { BatchFingerprints } from './message-fingerprint';
import { type OffsetContinuityGuard } from './offset-continuity.guard';
import { RatingConsumer } from './rating.consumer';
import { RatingMetrics } from './rating.metrics';
import { type BatchOutcome, type SampleBatchProcessor } from './sample-batch.processor';

// The runner of the batch window with the consumer, the guard and the processor stood in for
// (the real ones: test/batch-window.int.spec.ts): what is held, rated, retried and dropped, and
// which timers exist.
// Messages that reached Kafka `ageMs` ago (the window runs from the first one's timestamp).
function batch(from: number, to: number, partition = 0, ageMs = 0): ConsumedBatch {
  const timestamp = String(Date.now() - ageMs);
  const messages = [];
  for (let o = from; o <= to; o++) {
    messages.push({
      topic: 't',
      partition,
      offset: String(o),
      key: Buffer.from('k'),
      value: Buffer.from(`v${o}`),
      headers: {},
      timestamp,
    });
  }
  return {
    topic: 't',
    partition,
    messages,
    firstOffset: String(from),
    lastOffset: String(to),
    nextOffset: String(to + 1),
    highWatermark: String(to + 1),
  };
}

const OUTCOME: BatchOutcome = {
  applied: 0,
  skipped: 0,
  rated: 0,
  duplicates: 0,
  outOfOrder: 0,
  deadLettered: 0,
  bucketsWritten: 0,
  clipped: 0,
  clippedCoreSeconds: 0,
  repricedMonths: 0,
  pieces: 0,
  unrateable: 0,
};

class Rig {
  handler: BatchHandler | undefined;
  readonly rated: string[] = [];
  readonly committed: string[] = [];
  readonly fatal: Error[] = [];
  failWith: Error | null = null;
  readonly window: BatchWindow;
  readonly consumer: RatingConsumer;

  constructor(windowMs: number, maxMessages = 1_000) {
    this.window = new BatchWindow({ windowMs, maxBytes: 1e9, maxMessages });
    const kafka = {
      start: (handler: BatchHandler) => {
        this.handler = handler;
        return Promise.resolve();
      },
      disconnect: () => Promise.resolve(),
    } as unknown as KafkaConsumer;
    const guard = {
      admit: (b: ConsumedBatch) => Promise.resolve({ kind: 'rate', batch: b }),
      committed: (b: ConsumedBatch) => this.committed.push(`${b.partition}:${b.lastOffset}`),
    } as unknown as OffsetContinuityGuard;
    const processor = {
      process: (b: ConsumedBatch) => {
        if (this.failWith !== null) return Promise.reject(this.failWith);
        this.rated.push(`${b.partition}:${b.firstOffset}-${b.lastOffset}`);
        return Promise.resolve(OUTCOME);
      },
    } as unknown as SampleBatchProcessor;
    const metrics = new MetricsRegistry({ serviceName: 'rating', collectDefaultMetrics: false });
    this.consumer = new RatingConsumer(
      kafka,
      guard,
      processor,
      new BatchFingerprints(),
      new RatingMetrics(metrics, 60_000, Date.now),
      this.window,
      {
        logger: createRootLogger({ level: 'silent' }),
        now: Date.now,
        fatal: (error) => this.fatal.push(error),
      },
    );
  }

  async fetch(b: ConsumedBatch): Promise<unknown> {
    if (this.handler === undefined) await this.consumer.start();
    const signal = new AbortController().signal;
    return this.handler!(b, { signal, heartbeat: () => Promise.resolve() });
  }
}

test('without a window each fetch is rated and committed at once', async () => {
  const rig = new Rig(0);
  await rig.fetch(batch(0, 1));
  await rig.fetch(batch(2, 2));
  assert.deepEqual(rig.rated, ['0:0-1', '0:2-2']);
  assert.deepEqual(rig.committed, ['0:1', '0:2']);
});

test('held fetches move the guard, then one batch is rated by the timer; no timer after', async () => {
  const rig = new Rig(60);
  await rig.fetch(batch(0, 1));
  await rig.fetch(batch(2, 4));
  assert.deepEqual(rig.rated, [], 'held, not rated');
  assert.deepEqual(rig.committed, ['0:1', '0:4'], 'each held fetch re-read from its last message');
  await sleep(150);
  assert.deepEqual(rig.rated, ['0:0-4'], 'rated once, as one batch, by the timer');
  assert.deepEqual(rig.committed, ['0:1', '0:4'], 'the timer does not move the guard again');
  assert.equal(rig.window.partitions().length, 0);
  await sleep(150);
  assert.deepEqual(rig.rated, ['0:0-4'], 'nothing held: no timer, nothing rated again');
});

test('a caught-up fetch whose first message is older than the window is rated at once', async () => {
  const rig = new Rig(60_000);
  await rig.fetch(batch(0, 2, 0, 61_000)); // the end of a backlog: reached Kafka 61 s ago
  assert.deepEqual(rig.rated, ['0:0-2']);
  assert.deepEqual(rig.committed, ['0:2']);
  await rig.fetch(batch(3, 4, 0, 30_000)); // 30 s old: held for the 30 s left
  assert.deepEqual(rig.rated, ['0:0-2'], 'held');
  const due = rig.window.dueAt(0)!;
  assert.ok(
    due <= Date.now() + 30_000 && due > Date.now() + 29_000,
    `due ${due - Date.now()} ms from now`,
  );
  await rig.consumer.disconnect();
  assert.deepEqual(rig.rated, ['0:0-2', '0:3-4']);
});

test('the fetch that fills a cap rates what is held at once and moves the guard', async () => {
  const rig = new Rig(60_000, 5);
  await rig.fetch(batch(0, 2));
  await rig.fetch(batch(3, 4));
  assert.deepEqual(rig.rated, ['0:0-4']);
  assert.deepEqual(rig.committed, ['0:2', '0:4']);
  await rig.consumer.disconnect();
});

test('a failed flush in a fetch is thrown and keeps what is held; the redelivery rates it once', async () => {
  const rig = new Rig(60_000, 5);
  await rig.fetch(batch(0, 2));
  rig.failWith = new Error('PostgreSQL away');
  await assert.rejects(rig.fetch(batch(3, 4)), /PostgreSQL away/);
  assert.deepEqual(rig.committed, ['0:2'], 'the failed fetch did not move the guard');
  rig.failWith = null;
  await rig.fetch(batch(2, 5)); // kafkajs again, from the guard's position
  assert.deepEqual(rig.rated, ['0:0-5'], 'each offset rated once');
  await rig.consumer.disconnect();
});

test('a timer flush that retrying cannot cure ends the application', async () => {
  const rig = new Rig(30);
  rig.failWith = new TypeError('a programming error');
  await rig.fetch(batch(0, 0));
  await sleep(120);
  assert.equal(rig.fatal.length, 1);
  assert.match(rig.fatal[0]!.message, /programming error/);
});

test('disconnect rates what is held; a partition dropped by an assignment is not rated', async () => {
  const rig = new Rig(60_000);
  await rig.fetch(batch(0, 1, 0));
  await rig.fetch(batch(7, 8, 1));
  rig.window.clear(); // an assignment
  await rig.fetch(batch(3, 3, 2));
  await rig.consumer.disconnect();
  assert.deepEqual(rig.rated, ['2:3-3']);
  assert.equal(rig.window.partitions().length, 0);
});
