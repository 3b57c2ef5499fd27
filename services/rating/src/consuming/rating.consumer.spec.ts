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
  /** Batches handed to the processor, and those it finished rating. */
  readonly started: string[] = [];
  readonly rated: string[] = [];
  /** While set, the processor waits for it before rating (hold()). */
  private gate: Promise<void> | null = null;
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
      process: async (b: ConsumedBatch) => {
        const name = `${b.partition}:${b.firstOffset}-${b.lastOffset}`;
        this.started.push(name);
        if (this.gate !== null) await this.gate;
        if (this.failWith !== null) throw this.failWith;
        this.rated.push(name);
        return OUTCOME;
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

  /** Holds every rating until the returned function is called. */
  hold(): () => void {
    let open = (): void => undefined;
    this.gate = new Promise<void>((resolve) => (open = resolve));
    return () => {
      this.gate = null;
      open();
    };
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
  await sleep(5); // rated beside the next fetch
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

test('the fetch that fills a cap hands what is held to be rated beside the next fetch', async () => {
  const rig = new Rig(60_000, 5);
  await rig.fetch(batch(0, 2));
  const open = rig.hold();
  await rig.fetch(batch(3, 4)); // returns while its batch is being rated
  assert.deepEqual(rig.started, ['0:0-4'], 'what is held, rated as one batch');
  assert.deepEqual(rig.rated, [], 'not finished when the fetch returned');
  assert.deepEqual(rig.committed, ['0:2', '0:4'], 'the guard reads on from the batch');
  let next = false;
  const nextFetch = rig.fetch(batch(5, 5)).then(() => (next = true));
  await sleep(20);
  assert.equal(next, false, "the partition's next fetch waits for its batch in flight");
  open();
  await nextFetch;
  assert.deepEqual(rig.rated, ['0:0-4']);
  await rig.consumer.disconnect();
  assert.deepEqual(rig.rated, ['0:0-4', '0:5-5'], 'each offset rated once, in order');
});

test('one batch at a time is rated beside a fetch: another due meanwhile is rated in its fetch', async () => {
  const rig = new Rig(60_000, 2);
  const open = rig.hold();
  await rig.fetch(batch(0, 1, 0)); // due: rated beside the next fetch
  let returned = false;
  const second = rig.fetch(batch(0, 1, 1)).then(() => (returned = true));
  await sleep(20);
  assert.deepEqual(rig.started, ['0:0-1', '1:0-1']);
  assert.equal(returned, false, "partition 1's batch is rated in its fetch: the handler waits");
  open();
  await second;
  await sleep(5);
  assert.deepEqual([...rig.rated].sort(), ['0:0-1', '1:0-1']);
  await rig.consumer.disconnect();
});

test('a batch rated beside a fetch that fails is held; the next is rated in its fetch', async () => {
  const rig = new Rig(60_000, 2);
  rig.failWith = new Error('PostgreSQL away');
  await rig.fetch(batch(0, 1)); // due: rated beside the next fetch, and fails
  await sleep(5);
  assert.deepEqual(rig.window.partitions(), [0], 'what failed is held again');
  assert.equal(rig.fatal.length, 0, 'retriable: not the end of the application');
  // Rated in the fetch now: the failure reaches kafkajs, which holds up the fetches.
  await assert.rejects(rig.fetch(batch(2, 2)), /PostgreSQL away/);
  assert.deepEqual(rig.committed, ['0:1'], 'the failed fetch did not move the guard');
  rig.failWith = null;
  await rig.fetch(batch(1, 3)); // kafkajs again, from the guard's position
  assert.deepEqual(rig.rated, ['0:0-3'], 'each offset rated once');
  // One passed: the partition's batches are rated beside the fetches again.
  const open = rig.hold();
  await rig.fetch(batch(4, 5));
  assert.deepEqual(rig.rated, ['0:0-3'], 'the fetch returned before its batch was rated');
  open();
  await rig.consumer.disconnect();
  assert.deepEqual(rig.rated, ['0:0-3', '0:4-5']);
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
