import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { originalKafkajsModule } from '../test/kafkajs-original';
import { kafkajsBatch, offsetNumber } from './kafkajs-batch.patch';

// The patched Batch must be kafkajs's, field for field and method for method, for every fetch:
// offsets of every size (past 2^53, up to the largest a Long holds), non-canonical ones kafkajs's
// Long still reads (a leading zero, a sign, spaces), messages before the fetched offset, control
// records and aborted transactions.

type BatchClass = new (
  topic: string,
  fetchedOffset: unknown,
  data: object,
) => Record<string, unknown>;

/** kafkajs's Batch as it ships, beside the patched one. */
const Original = originalKafkajsModule<BatchClass>('kafkajs/src/consumer/batch');
const Patched = kafkajsBatch() as unknown as BatchClass;

const METHODS = [
  'isEmpty',
  'isEmptyIncludingFiltered',
  'isEmptyDueToFiltering',
  'isEmptyControlRecord',
  'firstOffset',
  'lastOffset',
  'offsetLag',
  'offsetLagLow',
] as const;

/** A batch's own fields (in order) and its methods' answers, or the error it threw. */
function view(make: () => Record<string, unknown>): unknown {
  let batch: Record<string, unknown>;
  try {
    batch = make();
  } catch (e) {
    return { threw: String(e) };
  }
  const answers = METHODS.map((m) => {
    try {
      return (batch[m] as () => unknown).call(batch);
    } catch (e) {
      return { threw: String(e) };
    }
  });
  return { fields: Object.entries(batch), answers };
}

function same(fetchedOffset: unknown, data: object): void {
  const patched = view(() => new Patched('t', fetchedOffset, data));
  assert.deepEqual(
    patched,
    view(() => new Original('t', fetchedOffset, data)),
  );
}

const safeOffset = fc.nat({ max: Number.MAX_SAFE_INTEGER }).map(String);
const anyOffset = fc.oneof(
  safeOffset,
  safeOffset,
  fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }).map(String),
  fc.constantFrom(
    '0',
    '9007199254740991',
    '9007199254740992',
    '9007199254740993',
    '007',
    '-1',
    ' 5',
  ),
);

test('the Batch with number offsets is kafkajs’s, field for field and method for method', () => {
  fc.assert(
    fc.property(
      anyOffset,
      fc.array(
        fc.record({
          offset: anyOffset,
          isControlRecord: fc.oneof(fc.boolean(), fc.constant(undefined), fc.constant(1)),
        }),
        { maxLength: 12 },
      ),
      fc.string(),
      (fetched, messages, highWatermark) => {
        same(fetched, { partition: 3, highWatermark, messages });
        // In offset order, as fetched: some before the fetched offset, the rest at or after.
        const ordered = [...messages].sort((a, b) =>
          BigInt(a.offset.trim()) < BigInt(b.offset.trim()) ? -1 : 1,
        );
        same(fetched, { partition: 3, highWatermark, messages: ordered, abortedTransactions: [] });
        // Every message kept: the batch's arrays are the fetched one (no copy), as kafkajs's
        // copies hold.
        const kept = ordered.filter((m) => BigInt(m.offset.trim()) >= BigInt(fetched.trim()));
        const plain = kept.map((m) => ({ offset: m.offset }));
        const batch = new Patched('t', fetched, { partition: 3, highWatermark, messages: plain });
        if (
          offsetNumber(fetched) === offsetNumber(fetched) &&
          plain.every((m) => offsetNumber(m.offset) >= 0)
        )
          assert.equal(batch['messages'], plain);
      },
    ),
    { numRuns: 3_000 },
  );
});

test('aborted transactions are dropped as kafkajs drops them', () => {
  const context = (producerId: string) => ({ producerId, inTransaction: true });
  const messages = [
    { offset: '10', key: null, batchContext: context('7'), isControlRecord: false },
    { offset: '11', key: null, batchContext: context('8'), isControlRecord: false },
    // The abort marker ending producer 7's transaction (a control record).
    {
      offset: '12',
      key: Buffer.from([0, 0, 0, 0]),
      batchContext: context('7'),
      isControlRecord: true,
    },
    { offset: '13', key: null, batchContext: context('7'), isControlRecord: false },
  ];
  const data = {
    partition: 0,
    highWatermark: '14',
    messages,
    abortedTransactions: [{ producerId: '7', firstOffset: '10' }],
  };
  same('10', data);
  same('11', data);
  const batch = new Patched('t', '10', data);
  assert.deepEqual(
    (batch['messages'] as { offset: string }[]).map((m) => m.offset),
    ['11', '13'],
  );
});

test('a fetched offset kafkajs cannot read throws as kafkajs throws, even with no message', () => {
  for (const fetched of [undefined, null, 'x', '1e3', {}]) {
    same(fetched, { partition: 0, highWatermark: '0', messages: [] });
    same(fetched, { partition: 0, highWatermark: '0', messages: [{ offset: '1' }] });
  }
});

test('offsetNumber: canonical decimals below 2^53 only', () => {
  assert.equal(offsetNumber('0'), 0);
  assert.equal(offsetNumber('9007199254740991'), Number.MAX_SAFE_INTEGER);
  for (const no of ['', '9007199254740992', '01', '-1', '+1', ' 1', '1 ', '1e3', '0x1', '1.0', 1])
    assert.ok(Number.isNaN(offsetNumber(no)), String(no));
});

test('libs/kafka puts the Batch in place before kafkajs’s consumer group requires it', () => {
  // The consumer group requires its Batch once, when it loads: in a process of its own, the
  // order in which libs/kafka's index starts loading the patch and kafkajs its consumer group.
  const script = `
    const Module = require('node:module');
    const load = Module._load;
    const order = [];
    Module._load = function (request, parent, isMain) {
      const file = Module._resolveFilename(request, parent, isMain);
      if (/kafkajs-batch\\.patch\\.js$|consumer\\/consumerGroup\\.js$/.test(file)) order.push(file);
      return load.apply(this, arguments);
    };
    require(${JSON.stringify(join(__dirname, 'index.js'))});
    const Batch = require('kafkajs/src/consumer/batch');
    const marker = Symbol.for('metering.kafkajs.batch.numbers');
    process.stdout.write(JSON.stringify({ order, patched: Batch[marker] === true }));
  `;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: __dirname, encoding: 'utf8' });
  const { order, patched } = JSON.parse(out) as { order: string[]; patched: boolean };
  assert.ok(patched);
  const patch = order.findIndex((f) => f.endsWith('kafkajs-batch.patch.js'));
  const group = order.findIndex((f) => f.endsWith('consumerGroup.js'));
  assert.ok(patch >= 0 && group >= 0 && patch < group, order.join(' '));
  // Its methods are kafkajs's own.
  assert.equal(typeof (Patched.prototype as Record<string, unknown>)['offsetLag'], 'function');
});
