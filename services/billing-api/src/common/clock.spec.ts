import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShiftedClock, SystemClock, clockFor } from './clock';

test('a test clock starts at its start instant and then runs at real speed', () => {
  let real = Date.parse('2026-11-26T17:00:00Z');
  const clock = new ShiftedClock(Date.parse('2026-12-03T00:00:00Z'), () => real);
  assert.equal(new Date(clock.now()).toISOString(), '2026-12-03T00:00:00.000Z');
  real += 90_500;
  assert.equal(new Date(clock.now()).toISOString(), '2026-12-03T00:01:30.500Z');
  assert.equal(
    clock.offsetMs,
    Date.parse('2026-12-03T00:00:00Z') - Date.parse('2026-11-26T17:00:00Z'),
  );
});

test('a test clock may also start in the past', () => {
  const real = Date.parse('2026-11-26T17:00:00Z');
  const clock = new ShiftedClock(Date.parse('2026-10-01T00:00:00Z'), () => real);
  assert.equal(new Date(clock.now()).toISOString(), '2026-10-01T00:00:00.000Z');
});

test('clockFor: the system clock unless a test clock start is configured', () => {
  assert.ok(clockFor({ testClockStartMs: null }) instanceof SystemClock);
  const start = Date.parse('2030-01-15T00:00:00Z');
  const clock = clockFor({ testClockStartMs: start });
  assert.ok(clock instanceof ShiftedClock);
  // Made just now: within a generous second of its start.
  assert.ok(Math.abs(clock.now() - start) < 1_000, `${clock.now() - start} ms from the start`);
});
