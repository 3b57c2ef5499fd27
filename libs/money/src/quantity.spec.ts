import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Decimal } from './decimal';
import { Money } from './money';
import {
  BYTES_PER_GIB,
  SECONDS_PER_HOUR,
  byteSecondsToGibSeconds,
  bytesToGib,
  hoursToSeconds,
  millisecondsToSeconds,
  nanosecondsToCoreSeconds,
  secondsToHours,
  sumDecimals,
} from './quantity';

test('nanoseconds to core-seconds is exact beyond 2^53', () => {
  const cases: [ns: string | bigint, seconds: string][] = [
    ['0', '0'],
    ['1', '0.000000001'],
    ['1500000000', '1.5'],
    ['9007199254740993', '9007199.254740993'],
    [18446744073709551615n, '18446744073.709551615'],
  ];
  for (const [ns, seconds] of cases) {
    assert.equal(nanosecondsToCoreSeconds(ns).toString(), seconds, String(ns));
  }
});

test('byte-seconds to GiB-seconds divides by 2^30 exactly', () => {
  assert.equal(BYTES_PER_GIB.toString(), '1073741824');
  assert.equal(byteSecondsToGibSeconds('1073741824').toString(), '1');
  assert.equal(byteSecondsToGibSeconds('1').toString(), '0.000000000931322574615478515625');
  assert.equal(bytesToGib('52428800').toString(), '0.048828125');
  // A month of 4 TiB held for 31 days, in byte-seconds (29 digits with the fraction): exact.
  const byteSeconds = new Decimal(2)
    .pow(42)
    .times(31 * 86400)
    .plus('0.123456789');
  const gibSeconds = byteSecondsToGibSeconds(byteSeconds);
  assert.ok(gibSeconds.times(BYTES_PER_GIB).eq(byteSeconds));
});

test('seconds to hours and back', () => {
  assert.equal(secondsToHours('3600').toString(), '1');
  assert.equal(secondsToHours('5400').toString(), '1.5');
  assert.equal(secondsToHours('1').toString(), `0.0002${'7'.repeat(48)}8`);
  assert.equal(hoursToSeconds('1.5').toString(), '5400');
  assert.equal(millisecondsToSeconds('10250').toString(), '10.25');
  assert.equal(SECONDS_PER_HOUR.toString(), '3600');
});

test('pricing per hour from seconds: divide last keeps the amount exact', () => {
  // 0.0050 EUR per GiB-hour for 0.5 GiB held 1 second.
  const amount = Money.parse('0.0050', 'EUR').multiply('0.5').divide(SECONDS_PER_HOUR);
  assert.equal(amount.multiply(SECONDS_PER_HOUR).toString(), '0.0025');
  assert.equal(Money.parse('0.0050', 'EUR').multiply('3600').toString(), '18');
});

test('sumDecimals', () => {
  assert.equal(sumDecimals([]).toString(), '0');
  assert.equal(sumDecimals(['0.1', '0.2', 3n]).toString(), '3.3');
});
