import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeSample } from './decode';
import { encode } from './encode';
import { exampleDockerSample, exampleLibvirtSample } from './event.fixtures';
import { type Edit, edited, set } from '../test/json-edit';

/** The docker example with the edits applied, encoded as bytes. */
function sampleBytes(...edits: Edit[]): Buffer {
  return encode(edited(exampleDockerSample(), ...edits));
}

test('the example docker and libvirt samples decode from bytes and from text', () => {
  for (const sample of [exampleDockerSample(), exampleLibvirtSample()]) {
    for (const input of [encode(sample), JSON.stringify(sample)]) {
      const result = decodeSample(input);
      assert.ok(result.ok, JSON.stringify(result));
      assert.deepEqual(result.value, sample);
    }
  }
});

test('a CPU counter beyond 2^53 keeps every digit', () => {
  const result = decodeSample(sampleBytes(set('cpu.usageNs', '18446744073709551615')));
  assert.ok(result.ok);
  assert.equal(result.value.cpu.usageNs, '18446744073709551615');
  assert.equal(BigInt(result.value.cpu.usageNs), 2n ** 64n - 1n);
});

test('unlimited allocations, offsets in timestamps and every lifecycle are accepted', () => {
  const edits: [string, Edit][] = [
    ['null cpu allocation', set('cpu.allocationCores', null)],
    ['null memory allocation', set('memory.allocationBytes', null)],
    ['offset timestamp', set('observedAt', '2026-11-26T15:00:10.5+02:00')],
    ['nanosecond timestamp', set('observedAt', '2026-11-26T13:00:10.123456789Z')],
    ['start', set('lifecycle', 'start')],
    ['final', set('lifecycle', 'final')],
    ['zero memory', set('memory.usageBytes', 0)],
    ['zero cpu', set('cpu.usageNs', '0')],
    ['observed at start', set('observedAt', '2026-11-26T12:58:00.000Z')],
    // At the limits, and text that is not ASCII.
    ['a millicore', set('cpu.allocationCores', 0.001)],
    ['65,536 cores', set('cpu.allocationCores', 65_536)],
    ['host cores', set('cpu.hostCores', 128)],
    ['sequence 0', set('sequence', 0)],
    ['sequence 2^53 - 1', set('sequence', Number.MAX_SAFE_INTEGER)],
    ['a resource id of 256 bytes', set('resource.id', 'a'.repeat(256))],
    ['a tenant id of 42 CJK characters (126 bytes)', set('resource.tenantId', '株'.repeat(42))],
    ['a Greek and Japanese name', set('resource.name', 'Ωμέγα 株式会社')],
    ['an emoji host', set('host', 'node-\ud83d\ude80')],
    ['an empty name', set('resource.name', '')],
    [
      'an image',
      set('resource.image', 'registry.example:5000/team/web:1.2@sha256:' + 'a'.repeat(64)),
    ],
    ['an image of 512 bytes', set('resource.image', 'i'.repeat(512))],
    ['a non-ASCII image', set('resource.image', 'ωμέγα/株式会社:1')],
    ['a flavour', set('resource.flavour', 'm1.small')],
    ['a flavour of 85 CJK characters (255 bytes)', set('resource.flavour', '株'.repeat(85))],
  ];
  for (const [name, edit] of edits) {
    const result = decodeSample(sampleBytes(edit));
    assert.ok(result.ok, `${name}: ${JSON.stringify(result)}`);
  }
});

test('unknown extra fields are kept at every level and survive a round trip', () => {
  const bytes = sampleBytes(
    set('collector', { name: 'third-party', version: '1.2.3' }),
    set('resource.labels', { 'com.example.team': 'web' }),
    set('cpu.throttledNs', '12345'),
    set('memory.cacheBytes', 4096),
  );
  const first = decodeSample(bytes);
  assert.ok(first.ok);
  const second = decodeSample(encode(first.value));
  assert.ok(second.ok);
  const value = second.value;
  assert.deepEqual(value['collector'], { name: 'third-party', version: '1.2.3' });
  assert.deepEqual(value.resource['labels'], { 'com.example.team': 'web' });
  assert.equal(value.cpu['throttledNs'], '12345');
  assert.equal(value.memory['cacheBytes'], 4096);
  assert.deepEqual(JSON.parse(encode(second.value).toString()), JSON.parse(bytes.toString()));
});

test('a __proto__ key does not reach the prototype of the decoded value', () => {
  const text = JSON.stringify(exampleDockerSample()).replace(
    '{',
    '{"__proto__":{"polluted":true},',
  );
  const result = decodeSample(text);
  assert.ok(result.ok);
  assert.equal(Object.getPrototypeOf(result.value), Object.prototype);
  assert.equal((result.value as Record<string, unknown>)['polluted'], undefined);
});

test('decodeSample never throws, whatever the bytes', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string(),
        fc.uint8Array().map((a) => Buffer.from(a)),
        fc.jsonValue().map((v) => JSON.stringify(v)),
        fc.jsonValue().map((v) => JSON.stringify({ ...exampleDockerSample(), cpu: v })),
        fc.jsonValue().map((v) => JSON.stringify({ ...exampleDockerSample(), resource: v })),
      ),
      (input) => {
        const result = decodeSample(input);
        assert.equal(typeof result.ok, 'boolean');
      },
    ),
  );
});
