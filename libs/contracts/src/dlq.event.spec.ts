import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeDlq, decodeSample } from './decode';
import { digestOf, dlqEventOf } from './dlq.event';
import { encode, encodeDlq } from './encode';
import { TOPICS } from './topics';
import { edited, remove, set } from '../test/json-edit';

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

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

test('a DLQ record carries the length and SHA-256 of the whole key and value', () => {
  const record = rejectedPoison();
  assert.equal(record.original.valueBytes, poison.length);
  assert.equal(record.original.valueSha256, sha256(poison));
  assert.equal(record.original.valueTruncated, false);
  assert.equal(record.original.keyBytes, 12);
  assert.equal(record.original.keySha256, sha256(Buffer.from('3f4e8a9c2b1d')));
  assert.equal(record.original.keyTruncated, false);
});

test('no key and a tombstone: zero bytes, the digest of nothing, not truncated', () => {
  const record = dlqEventOf({
    reason: { code: 'INVALID_JSON', message: 'message is empty', path: null },
    original: { topic: TOPICS.samples, partition: 0, offset: '0', key: null, value: null },
    service: 'rating',
    failedAt: new Date(0),
  });
  assert.deepEqual(
    [record.original.keyBytes, record.original.keySha256, record.original.keyTruncated],
    [0, EMPTY_SHA256, false],
  );
  assert.deepEqual(
    [record.original.valueBytes, record.original.valueSha256, record.original.valueTruncated],
    [0, EMPTY_SHA256, false],
  );
  assert.equal(digestOf(null).sha256, EMPTY_SHA256);
  assert.ok(decodeDlq(encodeDlq(record)).ok);
});

test('a prefix with the digest of a longer whole is marked truncated and decodes', () => {
  const whole = Buffer.concat([Buffer.from('{"sampleId":"'), Buffer.alloc(5000, 0xe2), poison]);
  const prefix = whole.subarray(0, 1001);
  const record = dlqEventOf({
    reason: { code: 'INVALID_JSON', message: 'message is not valid UTF-8', path: null },
    original: {
      topic: TOPICS.samples,
      partition: 1,
      offset: '42',
      key: Buffer.from('k'),
      value: prefix,
      valueDigest: digestOf(whole),
    },
    service: 'rating',
    failedAt: new Date(0),
  });
  const decoded = decodeDlq(encodeDlq(record));
  assert.ok(decoded.ok, JSON.stringify(decoded));
  const { original } = decoded.value;
  assert.equal(original.valueTruncated, true);
  assert.equal(original.valueBytes, whole.length);
  assert.equal(original.valueSha256, sha256(whole));
  assert.deepEqual(Buffer.from(original.value!, 'base64'), prefix);
  assert.ok(whole.subarray(0, prefix.length).equals(Buffer.from(original.value!, 'base64')));
  assert.equal(original.keyTruncated, false);
});

test('a record written before the length and digest fields still decodes', () => {
  const old = edited(
    rejectedPoison(),
    remove('original.keyBytes'),
    remove('original.keySha256'),
    remove('original.keyTruncated'),
    remove('original.valueBytes'),
    remove('original.valueSha256'),
    remove('original.valueTruncated'),
  );
  const result = decodeDlq(encode(old));
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.value.original.valueBytes, undefined);
});

test('rejects length and digest fields that disagree with the bytes kept', () => {
  const cases: [string, ReturnType<typeof set>[], string][] = [
    [
      'length of another value',
      [set('original.valueBytes', poison.length + 1)],
      'original.valueBytes',
    ],
    ['shorter length than kept', [set('original.valueBytes', 1)], 'original.valueBytes'],
    ['truncated but whole', [set('original.valueTruncated', true)], 'original.valueTruncated'],
    [
      'truncated tombstone',
      [set('original.value', null), set('original.valueTruncated', true)],
      'original.valueTruncated',
    ],
    [
      'truncated without a length',
      [remove('original.valueBytes'), set('original.valueTruncated', true)],
      'original.valueBytes',
    ],
    ['key length of another key', [set('original.keyBytes', 0)], 'original.keyBytes'],
    ['digest not hex', [set('original.valueSha256', 'Z'.repeat(64))], 'original.valueSha256'],
    ['digest upper case', [set('original.keySha256', 'A'.repeat(64))], 'original.keySha256'],
    ['digest too short', [set('original.valueSha256', 'ab')], 'original.valueSha256'],
    ['negative length', [set('original.valueBytes', -1)], 'original.valueBytes'],
    ['fractional length', [set('original.keyBytes', 1.5)], 'original.keyBytes'],
    ['length as a string', [set('original.valueBytes', '3')], 'original.valueBytes'],
    ['truncated as a string', [set('original.valueTruncated', 'yes')], 'original.valueTruncated'],
  ];
  for (const [name, edits, path] of cases) {
    const result = decodeDlq(encode(edited(rejectedPoison(), ...edits)));
    assert.ok(!result.ok, name);
    assert.equal(result.reason.code, 'SCHEMA_VIOLATION', name);
    assert.equal(result.reason.path, path, name);
  }
});
