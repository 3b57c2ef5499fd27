import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConcurrencyLimiter, mapConcurrent } from './concurrency-limiter';

test('never more than the limit at once, all tasks run, failures release their slot', async () => {
  const limiter = new ConcurrencyLimiter(3);
  let active = 0;
  let peak = 0;
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) =>
      limiter.run(async () => {
        active += 1;
        peak = Math.max(peak, active);
        await sleep(1 + (i % 3));
        active -= 1;
        if (i % 5 === 0) throw new Error(`task ${i}`);
        return i;
      }),
    ),
  );
  assert.equal(peak, 3);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 16);
  assert.equal(limiter.pending, 0);
  for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => new ConcurrencyLimiter(bad), RangeError, String(bad));
  }
});

test('tasks start in arrival order', async () => {
  const limiter = new ConcurrencyLimiter(1);
  const started: number[] = [];
  await Promise.all(
    [0, 1, 2, 3, 4].map((i) =>
      limiter.run(async () => {
        started.push(i);
        await sleep(5 - i);
      }),
    ),
  );
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
});

test('mapConcurrent keeps the items order within its limit, and rejects with the first failure', async () => {
  let active = 0;
  let peak = 0;
  const items = Array.from({ length: 12 }, (_, i) => i);
  const doubled = await mapConcurrent(items, 4, async (n, index) => {
    active += 1;
    peak = Math.max(peak, active);
    await sleep((n * 7) % 5);
    active -= 1;
    return [n * 2, index];
  });
  assert.deepEqual(
    doubled,
    items.map((n) => [n * 2, n]),
  );
  assert.equal(peak, 4);
  assert.deepEqual(await mapConcurrent([], 2, () => Promise.resolve(1)), []);
  let ran = 0;
  await assert.rejects(
    mapConcurrent(items, 3, async (n) => {
      ran += 1;
      await sleep(1);
      if (n === 4) throw new Error('item 4');
      return n;
    }),
    /item 4/,
  );
  await sleep(20);
  assert.equal(ran, items.length, 'the other items still ran');
});
