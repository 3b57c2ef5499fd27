import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidatePeriods, periodPhase } from './close-schedule';

test('the months looked at: the lookback before the current month, oldest first', () => {
  const now = Date.UTC(2026, 11, 3, 12);
  assert.deepEqual(candidatePeriods(now, 2, null), ['2026-10', '2026-11']);
  assert.deepEqual(candidatePeriods(now, 1, null), ['2026-11']);
  assert.deepEqual(candidatePeriods(Date.UTC(2027, 0, 1), 3, null), [
    '2026-10',
    '2026-11',
    '2026-12',
  ]);
  assert.deepEqual(candidatePeriods(now, 3, '2026-11'), ['2026-11'], 'none before fromPeriod');
  assert.deepEqual(candidatePeriods(now, 3, '2027-01'), []);
});

test('open, in grace, due', () => {
  const closable = 1_000_000;
  assert.equal(periodPhase(closable - 101, closable, 100), 'open');
  assert.equal(periodPhase(closable - 100, closable, 100), 'in-grace');
  assert.equal(periodPhase(closable, closable, 100), 'due');
  assert.equal(periodPhase(closable, closable, 0), 'due');
});
