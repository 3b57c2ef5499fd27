import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay } from './backoff';

test('backoff doubles from the initial delay up to the cap, jittered in its upper half', () => {
  const high = (attempt: number): number => backoffDelay(attempt, 200, 10_000, () => 1);
  const low = (attempt: number): number => backoffDelay(attempt, 200, 10_000, () => 0);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(high), [200, 400, 800, 1600, 3200, 6400, 10_000]);
  assert.deepEqual([1, 2, 3].map(low), [100, 200, 400]);
  assert.equal(high(1_000), 10_000, 'no overflow for long outages');
  assert.equal(low(1_000), 5_000);
});
