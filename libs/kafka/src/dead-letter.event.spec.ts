import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEAD_LETTER_LIMITS, cutUtf8, toDeadLetterEvent } from './dead-letter.event';
import { type ConsumedMessage } from './consumed-batch';

const message: ConsumedMessage = {
  topic: 'metering.samples.v1',
  partition: 2,
  offset: '9007199254740993',
  key: Buffer.from('container-1'),
  value: Buffer.from([0xff, 0x00, 0x7b]),
  headers: {},
  timestamp: '1795700000000',
};

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

test('the event carries the reason, the origin and the exact original bytes', () => {
  const event = toDeadLetterEvent(message, {
    reasonCode: 'SCHEMA_INVALID',
    message: 'cpu.usageNs must be a decimal string',
    path: '/cpu/usageNs',
  });
  assert.deepEqual(event, {
    reasonCode: 'SCHEMA_INVALID',
    message: 'cpu.usageNs must be a decimal string',
    path: '/cpu/usageNs',
    originalTopic: 'metering.samples.v1',
    partition: 2,
    offset: '9007199254740993',
    key: Buffer.from('container-1').toString('base64'),
    keyBytes: 11,
    keySha256: sha256(Buffer.from('container-1')),
    keyTruncated: false,
    value: '/wB7',
    valueBytes: 3,
    valueSha256: sha256(Buffer.from([0xff, 0x00, 0x7b])),
    valueTruncated: false,
  });
  assert.deepEqual(Buffer.from(event.value, 'base64'), message.value);
});

test('no key gives null, a tombstone gives an empty value, no path is left out', () => {
  const event = toDeadLetterEvent(
    { ...message, key: null, value: null },
    { reasonCode: 'EMPTY', message: 'no value' },
  );
  assert.equal(event.key, null);
  assert.equal(event.value, '');
  assert.deepEqual([event.keyBytes, event.keySha256, event.keyTruncated], [0, EMPTY_SHA256, false]);
  assert.deepEqual(
    [event.valueBytes, event.valueSha256, event.valueTruncated],
    [0, EMPTY_SHA256, false],
  );
  assert.ok(!('path' in event));
});

test('kept prefixes: the whole length and digest stay, truncation is said', () => {
  const value = Buffer.from('0123456789');
  const event = toDeadLetterEvent(
    { ...message, value },
    { reasonCode: 'X', message: 'x' },
    { valueBytes: 4, keyBytes: 3 },
  );
  assert.equal(Buffer.from(event.value, 'base64').toString(), '0123');
  assert.equal(event.valueBytes, 10);
  assert.equal(event.valueSha256, sha256(value));
  assert.equal(event.valueTruncated, true);
  assert.equal(Buffer.from(event.key!, 'base64').toString(), 'con');
  assert.equal(event.keyTruncated, true);
  assert.equal(event.keySha256, sha256(Buffer.from('container-1')));
  // Keeping as much as there is, or more, is not a truncation.
  const all = toDeadLetterEvent(message, { reasonCode: 'X', message: 'x' }, { valueBytes: 3 });
  assert.equal(all.valueTruncated, false);
  assert.equal(all.value, '/wB7');
  const none = toDeadLetterEvent(message, { reasonCode: 'X', message: 'x' }, { valueBytes: -5 });
  assert.equal(none.value, '');
  assert.equal(none.valueTruncated, true);
});

test('a huge reason message and path are cut to their bounds, marked with an ellipsis', () => {
  const huge = `value ${'x'.repeat(1_000_000)} is not valid`;
  const event = toDeadLetterEvent(message, { reasonCode: 'X', message: huge, path: huge });
  assert.ok(Buffer.byteLength(event.message) <= DEAD_LETTER_LIMITS.messageBytes);
  assert.ok(Buffer.byteLength(event.path!) <= DEAD_LETTER_LIMITS.pathBytes);
  assert.ok(event.message.startsWith('value xxx'));
  assert.ok(event.message.endsWith('…'));
  assert.ok(Buffer.byteLength(event.message) > DEAD_LETTER_LIMITS.messageBytes - 8);
});

test('cutUtf8 keeps short text, never splits a character and stays within the bound', () => {
  assert.equal(cutUtf8('', 10), '');
  assert.equal(cutUtf8('héllo', 6), 'héllo');
  assert.equal(cutUtf8('héllo wörld', 8), 'héll…');
  assert.equal(cutUtf8('😀😀😀', 8), '😀…');
  assert.equal(cutUtf8('\u0000\u0000\u0000\u0000\u0000', 4), '\u0000…');
  fc.assert(
    fc.property(
      fc.string({ unit: 'binary', maxLength: 400 }),
      fc.integer({ min: 3, max: 600 }),
      (text, max) => {
        const cut = cutUtf8(text, max);
        const bytes = Buffer.byteLength(cut);
        if (Buffer.byteLength(text) <= max) {
          assert.equal(cut, text);
        } else {
          assert.ok(bytes <= max, `${bytes} > ${max}`);
          assert.ok(cut.endsWith('…'));
          // A prefix of the text's UTF-8, no replacement character invented.
          const kept = Buffer.from(cut.slice(0, -1), 'utf8');
          assert.ok(Buffer.from(text, 'utf8').subarray(0, kept.length).equals(kept));
          assert.ok(bytes > max - 3 - 4, 'cuts no more than one character too much');
        }
      },
    ),
  );
});
