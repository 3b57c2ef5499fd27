import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame, encodeFrame, frameSize } from './record.codec';
import { type SpoolRecord } from './spool-record';

const record: SpoolRecord = {
  key: Buffer.from('container-a'),
  value: Buffer.from('{"sample":1}'),
  lifecycle: 'final',
  seq: 2 ** 40 + 7,
  appendedAt: Date.parse('2026-11-26T13:00:00.000Z'),
};
const MAX_BODY = 1024;

test('a frame decodes to the record it encoded, with its size', () => {
  const frame = encodeFrame(record);
  assert.equal(frame.length, frameSize(record.key.length, record.value.length));
  const read = decodeFrame(Buffer.concat([Buffer.from('xx'), frame]), 2, MAX_BODY);
  assert.equal(read.kind, 'record');
  if (read.kind !== 'record') return;
  assert.equal(read.size, frame.length);
  assert.deepEqual(read.record, record);
});

test('every prefix of a frame reads as incomplete (a torn write), never as a record', () => {
  const frame = encodeFrame(record);
  for (let cut = 0; cut < frame.length; cut++) {
    assert.equal(decodeFrame(frame.subarray(0, cut), 0, MAX_BODY).kind, 'incomplete', `cut ${cut}`);
  }
});

test('a flipped bit anywhere in a frame is detected', () => {
  const frame = encodeFrame(record);
  for (let i = 0; i < frame.length; i++) {
    const damaged = Buffer.from(frame);
    damaged[i]! ^= 0x10;
    const read = decodeFrame(damaged, 0, MAX_BODY);
    assert.notEqual(read.kind, 'record', `byte ${i}`);
  }
});

test('zeros (a file extended but never written) and absurd lengths are corrupt', () => {
  assert.equal(decodeFrame(Buffer.alloc(64), 0, MAX_BODY).kind, 'corrupt');
  const huge = Buffer.alloc(16);
  huge.writeUInt32LE(0xfffffff0, 0);
  assert.equal(decodeFrame(huge, 0, MAX_BODY).kind, 'corrupt');
});
