import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { periodBounds, periodOf, zoneOffsetMs } from '@metering/pricing';
import { samePointLastMonth } from './month-to-date';

const iso = (ms: number) => new Date(ms).toISOString();

test('the same local day and time one month earlier, its end when the day does not exist', () => {
  const cases: [string, string, string, string][] = [
    ['2026-12-03T18:05:00Z', 'UTC', '2026-11', '2026-11-03T18:05:00.000Z'],
    ['2026-03-31T10:00:00Z', 'UTC', '2026-02', '2026-03-01T00:00:00.000Z'],
    ['2028-03-29T10:00:00Z', 'UTC', '2028-02', '2028-02-29T10:00:00.000Z'],
    ['2026-01-15T00:30:00Z', 'UTC', '2025-12', '2025-12-15T00:30:00.000Z'],
    // Paris: 1 Dec 00:30 local is 30 Nov 23:30 UTC; last month's 1st at 00:30 local.
    ['2026-11-30T23:30:00Z', 'Europe/Paris', '2026-11', '2026-10-31T23:30:00.000Z'],
    // Across the DST change (25 Oct 2026): the same wall time, another UTC offset.
    ['2026-11-26T09:15:00Z', 'Europe/Paris', '2026-10', '2026-10-26T09:15:00.000Z'],
    ['2026-04-10T12:00:00Z', 'Europe/Paris', '2026-03', '2026-03-10T13:00:00.000Z'],
    // Kolkata's half-hour offset.
    ['2026-12-31T10:00:00Z', 'Asia/Kolkata', '2026-11', '2026-11-30T18:30:00.000Z'],
  ];
  for (const [at, zone, previous, expected] of cases) {
    assert.equal(periodOf(Date.parse(at), zone) > previous, true, at);
    assert.equal(
      iso(samePointLastMonth(Date.parse(at), zone, previous)),
      expected,
      `${at} ${zone}`,
    );
  }
});

test('property: inside last month, at the same local day and time or at its end', () => {
  const zones = fc.constantFrom(
    'UTC',
    'Europe/Paris',
    'America/New_York',
    'Asia/Kolkata',
    'Australia/Lord_Howe',
  );
  fc.assert(
    fc.property(
      fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }),
      zones,
      (at, zone) => {
        const period = periodOf(at, zone);
        const [y, m] = period.split('-').map(Number) as [number, number];
        const previous = m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
        const { startMs, endMs } = periodBounds(previous, zone);
        const point = samePointLastMonth(at, zone, previous);
        assert.ok(point >= startMs && point <= endMs);
        const localAt = new Date(at + zoneOffsetMs(zone, at));
        if (point === endMs) return;
        const localPoint = new Date(point + zoneOffsetMs(zone, point));
        assert.equal(localPoint.getUTCDate(), localAt.getUTCDate());
        // The wall time matches unless a DST gap swallowed it (then within that hour's shift).
        const wall = (d: Date) => d.getUTCHours() * 60 + d.getUTCMinutes();
        assert.ok(
          Math.abs(wall(localPoint) - wall(localAt)) <= 60,
          `${iso(at)} ${zone} → ${iso(point)}`,
        );
      },
    ),
    { numRuns: 400 },
  );
});
