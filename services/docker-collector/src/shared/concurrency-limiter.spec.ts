import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConcurrencyLimiter } from './concurrency-limiter';

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
  assert.throws(() => new ConcurrencyLimiter(0), RangeError);
});
