import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shiftPeriod } from './period-math';

test('shiftPeriod moves across year ends both ways', () => {
  const cases: [string, number, string][] = [
    ['2026-11', 1, '2026-12'],
    ['2026-12', 1, '2027-01'],
    ['2026-01', -1, '2025-12'],
    ['2026-11', -12, '2025-11'],
    ['2026-11', 0, '2026-11'],
  ];
  for (const [p, n, want] of cases) assert.equal(shiftPeriod(p, n), want);
  assert.throws(() => shiftPeriod('2026-13', 1), /YYYY-MM/);
});
