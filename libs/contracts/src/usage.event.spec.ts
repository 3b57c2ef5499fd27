import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type DecodeErrorCode, decodeUsage } from './decode';
import { encode } from './encode';
import { exampleUsageEvent } from './event.fixtures';
import { usageKey } from './usage.event';
import { type Edit, edited, remove, set } from '../test/json-edit';

const usageBytes = (...edits: Edit[]): Buffer => encode(edited(exampleUsageEvent(), ...edits));

test('the example usage event decodes and keys by tenant', () => {
  const result = decodeUsage(encode(exampleUsageEvent()));
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(result.value, exampleUsageEvent());
  assert.equal(usageKey(result.value), 'acme');
});

test('unknown extra fields are kept', () => {
  const result = decodeUsage(usageBytes(set('basis', 'max'), set('amounts.minimumShare', '0')));
  assert.ok(result.ok);
  assert.equal(result.value['basis'], 'max');
  assert.equal(result.value.amounts['minimumShare'], '0');
});

test('full-precision amounts are accepted as they are', () => {
  const amount = `0.${'6'.repeat(49)}7`;
  const result = decodeUsage(usageBytes(set('amounts.cpu', amount)));
  assert.ok(result.ok);
  assert.equal(result.value.amounts.cpu, amount);
});

const invalid: [name: string, edit: Edit, code: DecodeErrorCode, path: string, message: RegExp][] =
  [
    ['missing usageId', remove('usageId'), 'SCHEMA_VIOLATION', 'usageId', /^usageId: is required$/],
    [
      'missing tenantId',
      remove('tenantId'),
      'SCHEMA_VIOLATION',
      'tenantId',
      /^tenantId: is required$/,
    ],
    [
      'quantity as a number',
      set('cpuCoreSeconds', 90),
      'SCHEMA_VIOLATION',
      'cpuCoreSeconds',
      /^cpuCoreSeconds: must be a string, got number$/,
    ],
    [
      'negative quantity',
      set('memoryGibSeconds', '-7.5'),
      'SCHEMA_VIOLATION',
      'memoryGibSeconds',
      /^memoryGibSeconds: must be a non-negative decimal string/,
    ],
    [
      'exponent amount',
      set('amounts.total', '1e-3'),
      'SCHEMA_VIOLATION',
      'amounts.total',
      /^amounts\.total: must be a non-negative decimal string/,
    ],
    [
      'lower-case currency',
      set('amounts.currency', 'eur'),
      'SCHEMA_VIOLATION',
      'amounts.currency',
      /^amounts\.currency: must be an ISO 4217 currency code/,
    ],
    [
      'interval ending before it starts',
      set('interval.end', '2026-11-26T12:57:00.000Z'),
      'SCHEMA_VIOLATION',
      'interval.end',
      /^interval\.end: must be after interval\.start$/,
    ],
    [
      'empty interval',
      set('interval.end', '2026-11-26T12:58:00.000Z'),
      'SCHEMA_VIOLATION',
      'interval.end',
      /^interval\.end: must be after interval\.start$/,
    ],
    [
      'plan version 0',
      set('planVersion', 0),
      'SCHEMA_VIOLATION',
      'planVersion',
      /^planVersion: must be > 0$/,
    ],
    [
      'bad timestamp',
      set('ratedAt', '26/11/2026'),
      'SCHEMA_VIOLATION',
      'ratedAt',
      /^ratedAt: must be an ISO-8601 timestamp/,
    ],
    [
      'wrong schema version',
      set('schema', 'billing.usage.v2'),
      'UNKNOWN_SCHEMA_VERSION',
      'schema',
      /^schema: unsupported version "billing\.usage\.v2"; expected "billing\.usage\.v1"$/,
    ],
  ];

for (const [name, edit, code, path, message] of invalid) {
  test(`rejects usage with ${name}`, () => {
    const result = decodeUsage(usageBytes(edit));
    assert.ok(!result.ok);
    assert.equal(result.reason.code, code);
    assert.equal(result.reason.path, path);
    assert.match(result.reason.message, message);
  });
}

test('a sample on the usage topic is an unknown schema version', () => {
  const result = decodeUsage('{"schema":"metering.sample.v1"}');
  assert.ok(!result.ok);
  assert.equal(result.reason.code, 'UNKNOWN_SCHEMA_VERSION');
});
