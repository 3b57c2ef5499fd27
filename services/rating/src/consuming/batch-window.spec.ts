import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type ConsumedBatch, type ConsumedMessage } from '@metering/kafka';
import { BatchWindow, windowStart } from './batch-window';

// The gathering across fetches, alone: which batches are held, when they are due, what a
// redelivered batch adds, and what an assignment drops. Against the real broker and ledger:
// test/batch-window.int.spec.ts.
function message(offset: number, bytes = 10): ConsumedMessage {
  return {
    topic: 't',
    partition: 0,
    offset: String(offset),
    key: Buffer.alloc(2),
    value: Buffer.alloc(bytes - 2),
    headers: {},
    timestamp: '1764547200000',
  };
}

function batch(from: number, to: number, partition = 0, bytes = 10): ConsumedBatch {
  const messages = [];
  for (let o = from; o <= to; o++) messages.push({ ...message(o, bytes), partition });
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

const offsets = (b: ConsumedBatch | undefined): number[] =>
  (b?.messages ?? []).map((m) => Number(m.offset));

const LIMITS = { windowMs: 3_000, maxBytes: 1_000, maxMessages: 50 };

test('batches are held until the window since the first one ends, then rated as one', () => {
  const w = new BatchWindow(LIMITS);
  assert.deepEqual(w.gather(batch(10, 12), 1_000), {
    kind: 'held',
    dueAtMs: 4_000,
  });
  assert.deepEqual(w.gather(batch(13, 13), 2_000), {
    kind: 'held',
    dueAtMs: 4_000,
  });
  assert.equal(w.dueAt(0), 4_000);
  assert.deepEqual(w.gather(batch(14, 15), 4_000), { kind: 'due' });
  const taken = w.take(0);
  assert.deepEqual(offsets(taken?.batch), [10, 11, 12, 13, 14, 15]);
  assert.deepEqual(
    {
      first: taken?.batch.firstOffset,
      last: taken?.batch.lastOffset,
      next: taken?.batch.nextOffset,
      hw: taken?.batch.highWatermark,
    },
    { first: '10', last: '15', next: '16', hw: '16' },
  );
  assert.equal(w.take(0), null, 'taken: nothing held');
  assert.equal(w.dueAt(0), null);
});

test('a byte cap or a message cap makes the batch due before the window ends', () => {
  const bytes = new BatchWindow({ ...LIMITS, maxBytes: 100 });
  assert.equal(bytes.gather(batch(0, 8), 0).kind, 'held'); // 90 bytes
  assert.equal(bytes.gather(batch(9, 9), 1).kind, 'due'); // 100
  const messages = new BatchWindow({ ...LIMITS, maxMessages: 5 });
  assert.equal(messages.gather(batch(0, 3), 0).kind, 'held');
  assert.equal(messages.gather(batch(4, 4), 1).kind, 'due');
  // One fetch larger than the cap is due at once: a window never delays a full fetch.
  assert.equal(new BatchWindow(LIMITS).gather(batch(0, 99), 0).kind, 'due');
});

test('a batch delivered again after a failed flush adds only what is not held yet', () => {
  const w = new BatchWindow(LIMITS);
  w.gather(batch(0, 4), 0);
  w.gather(batch(5, 7), 100);
  const taken = w.take(0)!;
  w.restore(taken.held); // rating it failed
  // kafkajs fetches the failed batch again; the guard's verification re-reads its last message.
  assert.equal(w.gather(batch(4, 9), 200).kind, 'held');
  assert.deepEqual(offsets(w.take(0)?.batch), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('an offset is never held twice, whatever the redeliveries (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 10 })), {
        minLength: 1,
        maxLength: 30,
      }),
      (fetches) => {
        const w = new BatchWindow({ windowMs: 1_000, maxBytes: 1e9, maxMessages: 1e9 });
        // Fetches in line with the position (each starts at or before the next offset).
        let next = 0;
        for (const [back, size] of fetches) {
          const from = Math.max(0, next - (back % 5));
          const to = Math.max(from, next + size - 1);
          w.gather(batch(from, to), 0);
          next = Math.max(next, to + 1);
        }
        const held = offsets(w.take(0)?.batch);
        assert.deepEqual(
          held,
          Array.from({ length: next }, (_, i) => i),
          'each offset once, in order, none missing',
        );
      },
    ),
  );
});

test('a batch starting before what is held replaces it (the position was sought again)', () => {
  const w = new BatchWindow(LIMITS);
  w.gather(batch(10, 14), 0);
  assert.deepEqual(w.gather(batch(8, 9), 500), { kind: 'held', dueAtMs: 3_500 });
  assert.deepEqual(offsets(w.take(0)?.batch), [8, 9]);
});

test('an assignment drops every partition, and a flush taken before it is not put back', () => {
  const w = new BatchWindow(LIMITS);
  w.gather(batch(0, 2, 0), 0);
  w.gather(batch(5, 6, 1), 0);
  w.gather(batch(7, 7, 2), 0);
  assert.deepEqual(w.partitions().sort(), [0, 1, 2]);
  assert.equal(w.messageCount, 6);
  const inFlight = w.take(2)!;
  w.clear();
  assert.deepEqual(w.partitions(), []);
  assert.equal(w.messageCount, 0);
  w.restore(inFlight.held);
  assert.equal(w.take(2), null, 'a batch taken before the assignment is dropped, not restored');
  // After the assignment the window starts again from what the new position delivers.
  assert.equal(w.gather(batch(0, 1, 0), 10).kind, 'held');
  assert.deepEqual(offsets(w.take(0)?.batch), [0, 1]);
});

test('partitions are held apart; a disabled window and bad limits', () => {
  const w = new BatchWindow(LIMITS);
  w.gather(batch(0, 1, 0), 0);
  w.gather(batch(0, 3, 1), 1_000);
  assert.equal(w.dueAt(0), 3_000);
  assert.equal(w.dueAt(1), 4_000);
  assert.deepEqual(offsets(w.take(1)?.batch), [0, 1, 2, 3]);
  assert.deepEqual(offsets(w.take(0)?.batch), [0, 1]);
  assert.equal(new BatchWindow({ ...LIMITS, windowMs: 0 }).enabled, false);
  assert.equal(w.enabled, true);
  assert.throws(() => new BatchWindow({ ...LIMITS, maxBytes: 0 }), RangeError);
  assert.throws(() => new BatchWindow({ ...LIMITS, windowMs: -1 }), RangeError);
});

// Kafka timestamps: the producer's CreateTime or the broker's LogAppendTime, as kafkajs hands
// them over (a decimal string); -1 when the record has none.
const T = 1_764_547_200_000; // 2025-12-01T00:00:00Z

/** A batch whose messages reached Kafka at `timestamp`, with `behind` more on the broker. */
function stamped(from: number, to: number, timestamp: string, behind = 0): ConsumedBatch {
  const b = batch(from, to);
  return {
    ...b,
    messages: b.messages.map((m) => ({ ...m, timestamp })),
    highWatermark: String(to + 1 + behind),
  };
}

test('a caught-up window runs from its first message reaching Kafka: a backlog is not held again', () => {
  const w = new BatchWindow(LIMITS);
  // Reached Kafka 1 s before it was gathered: due 3 s after the timestamp, not after the gathering.
  assert.deepEqual(w.gather(stamped(0, 1, String(T)), T + 1_000), {
    kind: 'held',
    dueAtMs: T + 3_000,
  });
  // What comes next does not move the window's start, whatever its own timestamps.
  assert.deepEqual(w.gather(stamped(2, 2, String(T - 60_000)), T + 2_000), {
    kind: 'held',
    dueAtMs: T + 3_000,
  });
  assert.equal(w.dueAt(0), T + 3_000);
  assert.equal(w.gather(stamped(3, 3, String(T + 2_500)), T + 3_000).kind, 'due');
  assert.deepEqual(offsets(w.take(0)?.batch), [0, 1, 2, 3]);
  // The end of a backlog older than the window (an outage, a restart): due at once.
  assert.equal(w.gather(stamped(4, 4, String(T)), T + 3_000).kind, 'due');
  assert.equal(w.gather(stamped(5, 5, String(T)), T + 600_000).kind, 'due');
});

test('while the broker has more of the partition, the window runs from the gathering', () => {
  const w = new BatchWindow(LIMITS);
  // A backlog: an hour old, 20 more messages on the broker. Gathered until a cap or the window.
  assert.deepEqual(w.gather(stamped(0, 9, String(T), 20), T + 3_600_000), {
    kind: 'held',
    dueAtMs: T + 3_603_000,
  });
  assert.deepEqual(w.gather(stamped(10, 19, String(T), 10), T + 3_600_100), {
    kind: 'held',
    dueAtMs: T + 3_603_000,
  });
  // The fetch that catches up: the first message is older than the window, so due at once.
  assert.equal(w.gather(stamped(20, 29, String(T)), T + 3_600_200).kind, 'due');
  assert.equal(offsets(w.take(0)?.batch).length, 30);
  // Caught up with fresh messages, then behind again (a burst): the window's end moves back to
  // the gathering's, never later.
  assert.deepEqual(w.gather(stamped(30, 30, String(T + 3_599_000)), T + 3_600_500), {
    kind: 'held',
    dueAtMs: T + 3_602_000,
  });
  assert.deepEqual(w.gather(stamped(31, 31, String(T + 3_600_400), 50), T + 3_600_600), {
    kind: 'held',
    dueAtMs: T + 3_603_500,
  });
  // A high watermark that never closes (a transaction marker's offset): from the gathering.
  const marked = new BatchWindow(LIMITS);
  assert.deepEqual(marked.gather(stamped(0, 0, String(T), 1), T + 600_000), {
    kind: 'held',
    dueAtMs: T + 603_000,
  });
});

test('a timestamp that is no time, or later than the gathering, leaves the window from the gathering', () => {
  const now = T + 10_000;
  const noTime = [
    '',
    '-1', // no timestamp
    '0',
    '-5000',
    String(T + 10_001), // a producer's clock ahead
    '99999999999999999', // 17 digits
    '9007199254740993', // past 2^53: not exact
    '1e12',
    '0x10',
    ' 1764547200000',
    '1764547200000 ',
    '1764547200000.5',
    '+1764547200000',
    'NaN',
    'Infinity',
    '\u0000',
    '1764547200000\u0000',
    '١٧٦٤٥٤٧٢٠٠٠٠٠', // Arabic-Indic digits
    '9'.repeat(1_000_000), // huge
  ];
  for (const timestamp of noTime) {
    assert.equal(windowStart(timestamp, now), now, JSON.stringify(timestamp.slice(0, 40)));
    const w = new BatchWindow(LIMITS);
    assert.deepEqual(w.gather(stamped(0, 0, timestamp), now), {
      kind: 'held',
      dueAtMs: now + 3_000,
    });
  }
  assert.equal(windowStart(String(T), now), T);
  assert.equal(windowStart('1', now), 1);
  assert.equal(windowStart('0001', now), 1);
  assert.equal(windowStart(String(now), now), now);
});

test('a timestamp only ever brings the window forward (property)', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ unit: 'binary' }),
        fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map(String),
        fc.integer({ min: 0, max: 2 * T }).map(String),
      ),
      fc.integer({ min: 1, max: 2 * T }),
      fc.integer({ min: 0, max: 3 }),
      (timestamp, now, behind) => {
        const start = windowStart(timestamp, now);
        assert.ok(start <= now && start >= 1);
        assert.ok(start === now || String(start) === timestamp.replace(/^0+(?=.)/, ''));
        const w = new BatchWindow(LIMITS);
        const g = w.gather(stamped(0, 0, timestamp, behind), now);
        const from = behind === 0 ? start : now;
        if (g.kind === 'held') assert.equal(g.dueAtMs, from + LIMITS.windowMs);
        else assert.ok(from + LIMITS.windowMs <= now, 'due only once the window is over');
        assert.ok(w.dueAt(0) === null || w.dueAt(0)! <= now + LIMITS.windowMs);
      },
    ),
  );
});
