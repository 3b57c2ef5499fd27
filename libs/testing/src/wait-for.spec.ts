import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './wait-for';
import { uniqueName } from './unique-name';

test('waitFor returns the first truthy probe value', async () => {
  let calls = 0;
  const value = await waitFor(() => (++calls >= 3 ? `done after ${calls}` : undefined), {
    intervalMs: 1,
  });
  assert.equal(value, 'done after 3');
});

test('waitFor names what it waited for and the last error on timeout', async () => {
  await assert.rejects(
    waitFor(
      () => {
        throw new Error('broker unreachable');
      },
      { timeoutMs: 30, intervalMs: 5, description: 'the broker' },
    ),
    /waiting for the broker; last error: broker unreachable/,
  );
});

test('uniqueName gives distinct identifier-safe names', () => {
  const a = uniqueName('Smoke-Topic');
  const b = uniqueName('Smoke-Topic');
  assert.notEqual(a, b);
  assert.match(a, /^smoke_topic_[a-z0-9]+_[0-9a-f]{8}$/);
});
