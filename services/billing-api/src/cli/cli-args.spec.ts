import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  named,
  parseCursor,
  parseDeliveryId,
  parseLimit,
  parsePeriod,
  parseResourceId,
  printable,
  UsageError,
} from './cli-args';

const refused = (fn: () => unknown, pattern: RegExp): void =>
  assert.throws(fn, (e: unknown) => e instanceof UsageError && pattern.test(e.message));

test('printable escapes control, bidi and lone surrogates and shortens long values', () => {
  assert.equal(printable('a\u0000b\u001b[31m\u202e'), 'a\\u0000b\\u001b[31m\\u202e');
  assert.equal(printable('\ud800x'), '\\ud800x');
  assert.equal(printable('🙂é'), '🙂é');
  const long = printable('x'.repeat(1_000_000));
  assert.equal(long, `${'x'.repeat(64)}… (1000000 characters)`);
});

test('each parser names its argument and what it got', () => {
  const cases: [(v: string, p: undefined) => unknown, string, RegExp][] = [
    [
      named('--limit', parseLimit),
      '-5',
      /^--limit must be a whole number from 1 to 200 \(given "-5"\)$/,
    ],
    [named('--limit', parseLimit), '0', /--limit/],
    [named('--limit', parseLimit), '201', /--limit/],
    [named('--limit', parseLimit), '1e3', /--limit/],
    [named('--limit', parseLimit), 'NaN', /--limit/],
    [named('--limit', parseLimit), ' 5', /--limit/],
    [named('period', parsePeriod), '2026-13', /^period must be a month/],
    [named('period', parsePeriod), '２０２６-11', /^period/],
    [named('deliveryId', parseDeliveryId), '-1', /^deliveryId must be a delivery id/],
    [named('deliveryId', parseDeliveryId), '1'.repeat(19), /^deliveryId/],
    [named('deliveryId', parseDeliveryId), '0x10', /^deliveryId/],
    [named('--endpoint', parseResourceId), 'wé_1', /^--endpoint must be an id/],
    [named('--endpoint', parseResourceId), 'a'.repeat(129), /^--endpoint .*\(129 characters\)/],
    [named('--endpoint', parseResourceId), 'a\u0001', /\\u0001/],
    [named('--cursor', parseCursor), 'abc', /^--cursor must be the nextCursor/],
  ];
  for (const [parse, value, pattern] of cases) refused(() => parse(value, undefined), pattern);
  assert.equal(named('--limit', parseLimit)('200', undefined), 200);
  assert.equal(named('deliveryId', parseDeliveryId)('42', undefined), '42');
});

test('an option given twice is refused, whatever the values', () => {
  refused(() => named('--limit', parseLimit)('5', 5), /^--limit is given more than once$/);
  refused(
    () => named('--status', (v) => v)('failed', 'pending'),
    /--status is given more than once/,
  );
});
