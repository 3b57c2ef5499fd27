import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toDeadLetterEvent } from './dead-letter.event';
import { type ConsumedMessage } from './kafka-consumer';

const message: ConsumedMessage = {
  topic: 'metering.samples.v1',
  partition: 2,
  offset: '9007199254740993',
  key: Buffer.from('container-1'),
  value: Buffer.from([0xff, 0x00, 0x7b]),
  headers: {},
  timestamp: '1795700000000',
};

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
    value: '/wB7',
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
  assert.ok(!('path' in event));
});
