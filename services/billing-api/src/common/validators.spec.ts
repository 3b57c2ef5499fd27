import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isInstant, isSupportedPeriod } from './validators';

test('instants must name a real time of 1970-2199, with a zone', () => {
  for (const good of [
    '2026-02-28T23:59:59Z',
    '2028-02-29T00:00:00Z',
    '2000-02-29T12:00:00.123456789+05:30',
    '2026-12-31T23:00-01:00',
    '1970-01-01T00:00:00Z',
    '2199-12-31T23:59:59Z',
  ]) {
    assert.equal(isInstant(good), true, good);
  }
  for (const bad of [
    '2026-02-29T00:00:00Z', // not a leap year
    '2026-02-31T00:00:00Z', // Date.parse would say 3 March
    '1900-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-00-10T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-01-00T00:00:00Z',
    '2026-01-01T24:00:00Z', // Date.parse would say the next day
    '2026-01-01T23:60:00Z',
    '2026-01-01T23:59:60Z',
    '2026-01-01T00:00:00+24:00',
    '2026-01-01T00:00:00+05:60',
    '2026-01-01T00:00:00',
    '2026-01-01',
    '1969-12-31T23:59:59Z',
    '2200-01-01T00:00:00Z',
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
    '+002026-01-01T00:00:00Z',
    ' 2026-01-01T00:00:00Z',
    '2026-01-01T00:00:00Z\u0000',
    '２０２６-01-01T00:00:00Z',
    20260101,
    null,
  ]) {
    assert.equal(isInstant(bad), false, String(bad));
  }
});

test('periods are months from 1970-01 to 2199-12', () => {
  for (const good of ['1970-01', '2026-11', '2199-12']) assert.equal(isSupportedPeriod(good), true);
  for (const bad of [
    '1969-12',
    '2200-01',
    '0001-01',
    '9999-12',
    '2026-13',
    '2026-00',
    '2026-1',
    '2026-11 ',
    202611,
    undefined,
  ]) {
    assert.equal(isSupportedPeriod(bad), false, String(bad));
  }
});
