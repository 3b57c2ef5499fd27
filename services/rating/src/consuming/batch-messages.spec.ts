import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '@metering/contracts';
import { exampleDockerSample } from '@metering/contracts/testing';
import { type ConsumedBatch, type ConsumedMessage } from '@metering/kafka';
import fc from 'fast-check';
import {
  type Refusals,
  UnnamedInstance,
  decodeBatch,
  decodeEach,
  instancesNamed,
  keyIn,
  keyIs,
  sliceBatch,
} from './batch-messages';

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

test('the key check answers as decoding the key and comparing would, without decoding ASCII', () => {
  // The definition it replaces: the key's UTF-8, decoded, is the resource id.
  const decoding = (key: Buffer | null, id: string): boolean =>
    key !== null && key.length >= id.length && key.toString('utf8') === id;
  const id = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }));
  fc.assert(
    fc.property(
      id,
      fc.oneof(
        // the id's own bytes, one byte changed, one added or removed, arbitrary bytes
        fc.constant('same'),
        fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })),
        fc.constant('longer'),
        fc.constant('shorter'),
        fc.uint8Array({ maxLength: 12 }),
      ),
      (text, how) => {
        const own = Buffer.from(text, 'utf8');
        let key: Buffer;
        if (how === 'same') key = own;
        else if (how === 'longer') key = Buffer.concat([own, Buffer.from([0x41])]);
        else if (how === 'shorter') key = own.subarray(0, Math.max(0, own.length - 1));
        else if (how instanceof Uint8Array) key = Buffer.from(how);
        else {
          key = Buffer.from(own);
          if (key.length > 0) key[how[0] % key.length] = how[1];
        }
        assert.equal(keyIs(key, text), decoding(key, text));
      },
    ),
    { numRuns: 2_000 },
  );
  assert.equal(keyIs(null, 'a'), false);
  // Invalid UTF-8 decodes to U+FFFD: an id holding it is matched as before.
  assert.equal(keyIs(Buffer.from([0xff]), '\ufffd'), decoding(Buffer.from([0xff]), '\ufffd'));
});

test('the key check on a range of shared bytes is keyIs on those bytes alone, whatever is around them', () => {
  // A lean record's key is a range of the bytes of its whole fetch response (messageParts): the
  // bytes around it (the id's next character, its last one again, arbitrary ones) never count.
  const id = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }));
  const around = fc.oneof(fc.uint8Array({ maxLength: 6 }), fc.constant(new Uint8Array(0)));
  fc.assert(
    fc.property(
      id,
      fc.uint8Array({ maxLength: 12 }),
      around,
      around,
      fc.boolean(),
      (text, other, before, after, same) => {
        const own = Buffer.from(text, 'utf8');
        const key = same ? own : Buffer.from(other);
        // What follows the key may complete the id (a key one byte short of it).
        const tail = same ? Buffer.from(after) : Buffer.concat([own.subarray(key.length), after]);
        const shared = Buffer.concat([before, key, tail]);
        const start = before.length;
        // The oracle decodes the key alone (keyIs is keyIn on the key's own bytes: not an oracle).
        const decoding = (k: Buffer): boolean =>
          k.length >= text.length && k.toString('utf8') === text;
        assert.equal(keyIn(shared, start, start + key.length, text), decoding(key));
        const short = key.subarray(0, Math.max(0, key.length - 1));
        assert.equal(keyIn(shared, start, start + short.length, text), decoding(short));
      },
    ),
    { numRuns: 2_000 },
  );
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

test('instancesNamed names what decoding finds, from the bytes or by decoding; decodeEach is decodeBatch one at a time', () => {
  const id = sample.resource.id;
  const plain = encode(sample);
  // Spaced out (not the collectors' shape): its bytes do not name it plainly, so it is decoded.
  const spaced = Buffer.from(
    JSON.stringify(
      { ...sample, resource: { ...sample.resource, id: 'vm-2', instanceId: 'i-2' } },
      null,
      1,
    ),
  );
  const later = {
    ...sample,
    observedAt: new Date(Date.parse(sample.observedAt) + 10_000).toISOString(),
  };
  const messages = [
    message(0, id, plain),
    message(1, 'vm-2', spaced),
    message(2, id, Buffer.from('not json')),
    message(3, 'poisoned', encode({ ...sample, resource: { ...sample.resource, id: 'poisoned' } })),
    message(4, 'other', plain),
    message(5, id, encode(later)),
  ];
  const poisoned = new Map([['3', new Error('boom')]]);
  const named = instancesNamed(messages, poisoned);
  assert.deepEqual(
    [...named].map(([r, set]) => [r, [...set]]),
    [
      [id, [sample.resource.instanceId]],
      ['vm-2', ['i-2']],
      // Named from its key: a guess the decoder refuses (KEY_MISMATCH); loading it changes nothing.
      ['other', [sample.resource.instanceId]],
    ],
  );
  const whole = decodeBatch(messages, poisoned, now);
  const refused: Refusals = { rejections: [], unrateable: 0 };
  const each = [...decodeEach(messages, poisoned, now, refused, named)];
  assert.deepEqual(each, whole.samples);
  assert.deepEqual(refused.rejections, whole.rejections);
  assert.equal(refused.unrateable, whole.unrateable);
  assert.deepEqual(
    whole.rejections.map((r) => [r.message.offset, r.reason.reasonCode]),
    [
      ['2', 'INVALID_JSON'],
      ['3', 'UNRATEABLE'],
      ['4', 'KEY_MISMATCH'],
    ],
  );
});

test('decodeEach stops at a sample whose instance was not named, after the ones before it', () => {
  const id = sample.resource.id;
  const messages = [
    message(0, id, encode(sample)),
    message(1, 'vm-9', encode({ ...sample, resource: { ...sample.resource, id: 'vm-9' } })),
  ];
  const named = new Map([[id, new Set([sample.resource.instanceId])]]);
  const seen: string[] = [];
  assert.throws(
    () => {
      for (const s of decodeEach(
        messages,
        new Map(),
        now,
        { rejections: [], unrateable: 0 },
        named,
      ))
        seen.push(s.resourceId);
    },
    (e: unknown) => e instanceof UnnamedInstance && /offset 1 /.test(e.message),
  );
  assert.deepEqual(seen, [id]);
  // Named under another instance of the same resource: not this one either.
  const other = new Map([[id, new Set(['another'])]]);
  assert.throws(
    () => [
      ...decodeEach(messages.slice(0, 1), new Map(), now, { rejections: [], unrateable: 0 }, other),
    ],
    UnnamedInstance,
  );
});
