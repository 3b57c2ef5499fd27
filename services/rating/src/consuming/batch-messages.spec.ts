import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '@metering/contracts';
import { exampleDockerSample } from '@metering/contracts/testing';
import { type ConsumedBatch, type ConsumedMessage } from '@metering/kafka';
import { decodeBatch, sliceBatch } from './batch-messages';

function message(offset: number, key: string | null, value: Buffer | null): ConsumedMessage {
  return {
    topic: 't',
    partition: 0,
    offset: String(offset),
    key: key === null ? null : Buffer.from(key),
    value,
    headers: {},
    timestamp: '0',
  };
}

const sample = exampleDockerSample();
const now = { nowMs: Date.parse(sample.observedAt), maxFutureSkewMs: 300_000 };

test('a sample keyed by anything but its resource id is a KEY_MISMATCH, naming both', () => {
  const id = sample.resource.id;
  const decoded = decodeBatch(
    [
      message(0, id, encode(sample)),
      message(1, 'other', encode(sample)),
      message(2, null, encode(sample)),
      message(3, `${id}\u0000`, encode(sample)),
    ],
    new Map(),
    now,
  );
  assert.equal(decoded.samples.length, 1);
  assert.deepEqual(
    decoded.rejections.map((r) => [r.message.offset, r.reason.reasonCode]),
    [
      ['1', 'KEY_MISMATCH'],
      ['2', 'KEY_MISMATCH'],
      ['3', 'KEY_MISMATCH'],
    ],
  );
  assert.match(decoded.rejections[0]!.reason.message, /resource\.id \(".+"\), got "other"/);
  assert.match(decoded.rejections[1]!.reason.message, /got no key$/);
  assert.equal(decoded.messages[0]?.offset, '0');
});

test('a poisoned message is UNRATEABLE with its error, bounded, and never decoded', () => {
  const huge = new Error(`x${'y'.repeat(5_000)}`);
  const decoded = decodeBatch(
    [message(7, sample.resource.id, encode(sample))],
    new Map([['7', huge]]),
    now,
  );
  assert.equal(decoded.samples.length, 0);
  assert.equal(decoded.unrateable, 1);
  assert.equal(decoded.rejections[0]?.reason.reasonCode, 'UNRATEABLE');
  assert.ok(decoded.rejections[0].reason.message.length < 1_200);
});

test('the clock rules: too far ahead, too old', () => {
  const decoded = decodeBatch([message(0, sample.resource.id, encode(sample))], new Map(), {
    nowMs: Date.parse(sample.observedAt) + 10_000,
    maxFutureSkewMs: 1,
    maxSampleAgeMs: 5_000,
  });
  assert.equal(decoded.rejections[0]?.reason.reasonCode, 'SAMPLE_TOO_OLD');
});

test('slices resume exactly where the next one starts; the last where the batch did', () => {
  const messages = [0, 1, 2, 5, 6].map((o) => message(o, 'k', Buffer.from('x')));
  const batch: ConsumedBatch = {
    topic: 't',
    partition: 0,
    messages,
    firstOffset: '0',
    lastOffset: '6',
    nextOffset: '9', // a transaction marker after the last message
    highWatermark: '9',
  };
  const first = sliceBatch(batch, 0, 3);
  const second = sliceBatch(batch, 3, 5);
  assert.deepEqual([first.firstOffset, first.lastOffset, first.nextOffset], ['0', '2', '5']);
  assert.deepEqual([second.firstOffset, second.lastOffset, second.nextOffset], ['5', '6', '9']);
});
