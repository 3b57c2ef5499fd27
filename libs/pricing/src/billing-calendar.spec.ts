import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hourBucketStart, isPeriod, periodBounds, periodOf } from './billing-calendar';

const iso = (ms: number) => new Date(ms).toISOString();

describe('billing calendar', () => {
  const cases: [string, string, string, string][] = [
    ['2026-11', 'UTC', '2026-11-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z'],
    ['2026-11', 'Asia/Kolkata', '2026-10-31T18:30:00.000Z', '2026-11-30T18:30:00.000Z'],
    // New York leaves daylight time on 1 Nov 2026: the month starts at -04:00 and ends at -05:00.
    ['2026-11', 'America/New_York', '2026-11-01T04:00:00.000Z', '2026-12-01T05:00:00.000Z'],
    ['2026-12', 'Pacific/Auckland', '2026-11-30T11:00:00.000Z', '2026-12-31T11:00:00.000Z'],
    ['2026-03', 'Asia/Kathmandu', '2026-02-28T18:15:00.000Z', '2026-03-31T18:15:00.000Z'],
  ];
  for (const [period, zone, start, end] of cases) {
    test(`${period} in ${zone} is [${start}, ${end})`, () => {
      const b = periodBounds(period, zone);
      assert.equal(iso(b.startMs), start);
      assert.equal(iso(b.endMs), end);
      // Month edges are bucket edges.
      assert.equal(hourBucketStart(zone, b.startMs), b.startMs);
      assert.equal(hourBucketStart(zone, b.endMs), b.endMs);
      assert.equal(periodOf(b.startMs, zone), period);
      assert.notEqual(periodOf(b.startMs - 1, zone), period);
    });
  }

  test('period format', () => {
    assert.equal(isPeriod('2026-11'), true);
    for (const bad of ['2026-13', '2026-1', '26-11', '2026-11-01', ''])
      assert.equal(isPeriod(bad), false);
    assert.throws(() => periodBounds('2026-13', 'UTC'), /must be YYYY-MM/);
  });
});
