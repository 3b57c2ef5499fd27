import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeDlq, decodeSample } from './decode';
import { dlqEventOf } from './dlq.event';
import { encode, encodeDlq } from './encode';
import { TOPICS } from './topics';
import { edited, set } from '../test/json-edit';

const poison = Buffer.from([0x7b, 0xff, 0x00, 0x22]); // not UTF-8, not JSON

function rejectedPoison() {
  const decoded = decodeSample(poison);
  assert.ok(!decoded.ok);
  return dlqEventOf({
    reason: decoded.reason,
    original: {
      topic: TOPICS.samples,
      partition: 3,
      offset: '9007199254740993',
      key: Buffer.from('3f4e8a9c2b1d'),
      value: poison,
    },
    service: 'rating',
    failedAt: new Date('2026-11-26T13:00:11.000Z'),
  });
}

test('a DLQ record keeps the reason and the original bytes exactly', () => {
  const record = rejectedPoison();
  const result = decodeDlq(encodeDlq(record));
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(result.value, record);
  assert.deepEqual(result.value.reason, {
    code: 'INVALID_JSON',
    message: 'message is not valid UTF-8',
    path: null,
  });
  assert.deepEqual(Buffer.from(result.value.original.value!, 'base64'), poison);
  assert.equal(Buffer.from(result.value.original.key!, 'base64').toString(), '3f4e8a9c2b1d');
  assert.equal(result.value.original.offset, '9007199254740993');
  assert.equal(result.value.failedAt, '2026-11-26T13:00:11.000Z');
});

test('a DLQ record names the failing field of a schema violation', () => {
  const decoded = decodeSample('{"schema":"metering.sample.v1"}');
  assert.ok(!decoded.ok);
  const record = dlqEventOf({
    reason: decoded.reason,
    original: { topic: TOPICS.samples, partition: 0, offset: '0', key: null, value: null },
    service: 'rating',
    failedAt: new Date(0),
  });
  assert.equal(record.reason.path, 'sampleId');
  assert.equal(record.original.key, null);
  assert.ok(decodeDlq(encode(record)).ok);
});

test('rejects malformed DLQ records', () => {
  const cases: [string, ReturnType<typeof set>, string][] = [
    ['value not base64', set('original.value', 'not base64!'), 'original.value'],
    ['offset as a number', set('original.offset', 12), 'original.offset'],
    ['negative partition', set('original.partition', -1), 'original.partition'],
    ['missing reason code', set('reason.code', ''), 'reason.code'],
    ['missing service', set('service', undefined), 'service'],
  ];
  for (const [name, edit, path] of cases) {
    const result = decodeDlq(encode(edited(rejectedPoison(), edit)));
    assert.ok(!result.ok, name);
    assert.equal(result.reason.code, 'SCHEMA_VIOLATION', name);
    assert.equal(result.reason.path, path, name);
    assert.ok(result.reason.message.startsWith(`${path}: `), name);
  }
});
