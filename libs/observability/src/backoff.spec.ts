import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay } from './backoff';

test('backoff doubles from the initial delay up to the cap, jittered in its upper half', () => {
  const policy = { initialMs: 200, maxMs: 10_000, jitter: 'equal' } as const;
  const high = (attempt: number): number => backoffDelay(attempt, policy, () => 1);
  const low = (attempt: number): number => backoffDelay(attempt, policy, () => 0);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(high), [200, 400, 800, 1600, 3200, 6400, 10_000]);
  assert.deepEqual([1, 2, 3].map(low), [100, 200, 400]);
  assert.equal(high(1_000), 10_000, 'no overflow for long outages');
  assert.equal(low(1_000), 5_000);
});

test('without jitter the delay is exact, whatever random says', () => {
  const policy = { initialMs: 250, maxMs: 5_000, jitter: 'none' } as const;
  const delays = [0, 1, 2, 3, 4, 5, 6, 1_000].map((a) => backoffDelay(a, policy, () => 0.37));
  assert.deepEqual(delays, [250, 250, 500, 1_000, 2_000, 4_000, 5_000, 5_000]);
  assert.equal(backoffDelay(3, { initialMs: 0, maxMs: 1_000, jitter: 'none' }), 0);
  assert.equal(backoffDelay(Number.MAX_SAFE_INTEGER, policy), 5_000);
});

test('equal jitter stays within [half, all] of the capped delay', () => {
  const policy = { initialMs: 100, maxMs: 3_000, jitter: 'equal' } as const;
  for (let attempt = 1; attempt <= 12; attempt++) {
    const ceiling = Math.min(3_000, 100 * 2 ** (attempt - 1));
    for (const r of [0, 0.25, 0.5, 0.999]) {
      const d = backoffDelay(attempt, policy, () => r);
      assert.ok(d >= Math.round(ceiling / 2) && d <= ceiling, `${attempt}/${r}: ${d}`);
    }
  }
});
