import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byteSeconds } from './memory-integral';

test('a constant level times the window', () => {
  const readings = [1_000, 2_000, 3_000].map((atMs) => ({ atMs, bytes: 100 }));
  assert.equal(byteSeconds(readings, 0, 10_000), 1_000);
});

test('linear between readings, flat beyond the first and the last', () => {
  const readings = [
    { atMs: 1_000, bytes: 0 },
    { atMs: 3_000, bytes: 200 },
  ];
  // 0..1 s: 0; 1..3 s: ramp to 200 (200 B·s); 3..5 s: 200 (400 B·s).
  assert.equal(byteSeconds(readings, 0, 5_000), 600);
  // A window inside the ramp: 2..3 s averages 150.
  assert.equal(byteSeconds(readings, 2_000, 3_000), 150);
});

test('no readings or an empty window integrate to zero', () => {
  assert.equal(byteSeconds([], 0, 1_000), 0);
  assert.equal(byteSeconds([{ atMs: 0, bytes: 5 }], 1_000, 1_000), 0);
});
