import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ConsumedBatch } from '@metering/kafka';
import { BatchFingerprints, messageFingerprint } from './message-fingerprint';

const m = (key: string | null, value: string | null, timestamp = '1764547200000') => ({
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
  timestamp,
});
const hex = (x: Parameters<typeof messageFingerprint>[0]) => messageFingerprint(x).toString('hex');

test('a fingerprint is SHA-256 (32 bytes) and the same for the same message', () => {
  assert.equal(messageFingerprint(m('k', 'v')).length, 32);
  assert.equal(hex(m('k', 'v')), hex(m('k', 'v')));
});

test('key, value and timestamp each change the fingerprint; framing keeps them apart', () => {
  const all = [
    m('k', 'v'),
    m('k', 'w'),
    m('j', 'v'),
    m('k', 'v', '1764547200001'),
    m('kv', ''),
    m('', 'kv'),
    m(null, 'kv'),
    m('kv', null),
    m(null, null),
    m('', ''),
    m('k\u0000', 'v'),
    m('k', '\u0000v'),
    m('ключ', '🙂'),
  ];
  assert.equal(new Set(all.map(hex)).size, all.length);
});

test('the batch fingerprints give the message before the offset stored, while tracked', () => {
  const messages = ['10', '11', '12'].map((offset, i) => ({
    topic: 't',
    partition: 3,
    offset,
    key: Buffer.from(`r${i}`),
    value: Buffer.from(`v${i}`),
    headers: {},
    timestamp: String(1_000 + i),
  }));
  const batch: ConsumedBatch = {
    topic: 't',
    partition: 3,
    messages,
    firstOffset: '10',
    lastOffset: '12',
    nextOffset: '13',
    highWatermark: '13',
  };
  const fingerprints = new BatchFingerprints();
  assert.equal(fingerprints.of('t', 3, '13'), null, 'not tracked yet');
  fingerprints.track(batch);
  assert.deepEqual(fingerprints.of('t', 3, '13'), messageFingerprint(messages[2]!));
  // A transaction that commits part of the batch stores the fingerprint of its own last message.
  assert.deepEqual(fingerprints.of('t', 3, '12'), messageFingerprint(messages[1]!));
  assert.equal(fingerprints.of('t', 3, '10'), null, 'offset 9 is not in the batch');
  assert.equal(fingerprints.of('t', 4, '13'), null, 'another partition');
  assert.equal(fingerprints.of('u', 3, '13'), null, 'another topic');
  fingerprints.release(batch);
  assert.equal(fingerprints.of('t', 3, '13'), null, 'released');
});
