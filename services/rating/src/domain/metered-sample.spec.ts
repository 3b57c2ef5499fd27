import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { instanceKey, uniqueInstances } from './metered-sample';

const id = (resourceId: string, instanceId: string) => ({ resourceId, instanceId, other: 1 });

test('uniqueInstances: each instance once, in the order first seen, only the two ids', () => {
  assert.deepEqual(
    uniqueInstances([id('r1', 'a'), id('r2', 'a'), id('r1', 'a'), id('r1', 'b'), id('r2', 'a')]),
    [
      { resourceId: 'r1', instanceId: 'a' },
      { resourceId: 'r2', instanceId: 'a' },
      { resourceId: 'r1', instanceId: 'b' },
    ],
  );
  assert.deepEqual(uniqueInstances([]), []);
  // Ids a joined key could confuse (NUL, empty, non-ASCII) stay apart.
  assert.deepEqual(
    uniqueInstances([id('a\u0000b', 'c'), id('a', 'b\u0000c'), id('', ''), id('ä', '名')]).length,
    4,
  );
});

test('uniqueInstances keeps what a key per instance keeps (property)', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          resourceId: fc.constantFrom('r1', 'r2', 'r3', ''),
          instanceId: fc.constantFrom('i1', 'i2', 'é'),
        }),
        { maxLength: 60 },
      ),
      (samples) => {
        const byKey = new Map(samples.map((s) => [instanceKey(s), s] as const).reverse());
        const expected = [...new Set(samples.map(instanceKey))].map((k) => {
          const s = byKey.get(k)!;
          return { resourceId: s.resourceId, instanceId: s.instanceId };
        });
        assert.deepEqual(uniqueInstances(samples), expected);
      },
    ),
  );
});
