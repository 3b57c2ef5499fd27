import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hourBucketStart, periodOf } from '@metering/pricing';
import { ZoneCalendar } from './zone-calendar';

// Whole, half and quarter hour offsets, both hemispheres' DST, and Lord Howe's 30-minute DST.
const ZONES = [
  'UTC',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'America/New_York',
  'America/St_Johns',
  'Europe/Berlin',
  'Australia/Lord_Howe',
  'Pacific/Chatham',
  'Pacific/Auckland',
];
const FROM = Date.UTC(2025, 0, 1);
const TO = Date.UTC(2028, 0, 1);

describe('ZoneCalendar (memoised) agrees with libs/pricing', () => {
  test('hour buckets and periods at any instant, in any order', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        fc.array(fc.integer({ min: FROM, max: TO }), { minLength: 1, maxLength: 50 }),
        (zone, instants) => {
          const calendar = new ZoneCalendar(zone);
          for (const at of instants) {
            assert.equal(calendar.hourBucketStart(at), hourBucketStart(zone, at));
            assert.equal(calendar.periodOf(at), periodOf(at, zone));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('every minute around DST changes, where an offset moves within an hour', () => {
    for (const [zone, iso] of [
      ['Australia/Lord_Howe', '2026-04-05T00:00:00Z'], // 02:00 +11 → 01:30 +10:30
      ['Australia/Lord_Howe', '2026-10-04T00:00:00Z'],
      ['America/New_York', '2026-11-01T04:00:00Z'],
      ['Europe/Berlin', '2026-03-29T00:00:00Z'],
    ] as const) {
      const calendar = new ZoneCalendar(zone);
      const start = Date.parse(iso) - 3 * 3_600_000;
      for (let at = start; at < start + 6 * 3_600_000; at += 60_000 - 1) {
        assert.equal(calendar.hourBucketStart(at), hourBucketStart(zone, at), `${zone} ${at}`);
        assert.equal(calendar.periodOf(at), periodOf(at, zone));
      }
    }
  });
});
