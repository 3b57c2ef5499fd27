import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSample } from './decode';
import { encode } from './encode';
import { exampleLibvirtSample } from './event.fixtures';
import { deriveHostKey, hostAuthHeader, masterKeyLookup, verifyHostAuth } from './host-auth';
import { type Edit, edited, remove, set } from '../test/json-edit';

// The optional fields completeness rests on (ADR 0013): intervalMs, thinned, inferred.

const OBSERVED = '2026-11-26T13:00:10.000Z';
const inferred = {
  reason: 'collector-restart',
  lastSeenAt: OBSERVED,
  detectedAt: '2026-11-26T13:07:00.000Z',
};

function bytesOf(...edits: Edit[]): Buffer {
  return encode(edited(exampleLibvirtSample(), ...edits));
}

const finalInferred = [set('lifecycle', 'final'), set('inferred', inferred)];

test('a sample without the new fields still decodes (the wire format is backward compatible)', () => {
  const result = decodeSample(bytesOf(remove('intervalMs'), remove('thinned'), remove('inferred')));
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.value.intervalMs, undefined);
  assert.equal(result.value.inferred, undefined);
});

test('intervalMs, thinned and an inferred final are accepted and kept', () => {
  const cases: [string, Edit[]][] = [
    ['intervalMs 10 s', [set('intervalMs', 10_000)]],
    ['intervalMs 1 ms', [set('intervalMs', 1)]],
    ['intervalMs a day', [set('intervalMs', 86_400_000)]],
    ['thinned 0', [set('thinned', 0)]],
    ['thinned a billion', [set('thinned', 1_000_000_000)]],
    ['an inferred final', finalInferred],
    [
      'an inferred final stamped 1 ms after its reading',
      [
        set('lifecycle', 'final'),
        set('observedAt', '2026-11-26T13:00:10.001Z'),
        set('inferred', inferred),
      ],
    ],
    [
      'an inferred final detected the same instant, non-ASCII reason, extra field',
      [
        set('lifecycle', 'final'),
        set('inferred', { ...inferred, reason: 'redémarrage', detectedAt: OBSERVED, by: 'x' }),
      ],
    ],
  ];
  for (const [name, edits] of cases) {
    const result = decodeSample(bytesOf(...edits));
    assert.ok(result.ok, `${name}: ${JSON.stringify(result)}`);
    assert.deepEqual(result.value, JSON.parse(bytesOf(...edits).toString()), name);
  }
});

const invalid: { name: string; edits: Edit[]; path: string; message: RegExp }[] = [
  { name: 'intervalMs 0', edits: [set('intervalMs', 0)], path: 'intervalMs', message: />= 1/ },
  {
    name: 'intervalMs negative',
    edits: [set('intervalMs', -10)],
    path: 'intervalMs',
    message: />= 1/,
  },
  {
    name: 'intervalMs fractional',
    edits: [set('intervalMs', 1.5)],
    path: 'intervalMs',
    message: /integer/,
  },
  {
    name: 'intervalMs beyond a day',
    edits: [set('intervalMs', 86_400_001)],
    path: 'intervalMs',
    message: /<= 86400000/,
  },
  {
    name: 'intervalMs a string',
    edits: [set('intervalMs', '10000')],
    path: 'intervalMs',
    message: /number/,
  },
  {
    name: 'intervalMs huge',
    edits: [set('intervalMs', 1e308)],
    path: 'intervalMs',
    message: /intervalMs/,
  },
  { name: 'thinned negative', edits: [set('thinned', -1)], path: 'thinned', message: />= 0/ },
  { name: 'thinned fractional', edits: [set('thinned', 0.5)], path: 'thinned', message: /integer/ },
  {
    name: 'thinned too many',
    edits: [set('thinned', 1_000_000_001)],
    path: 'thinned',
    message: /<=/,
  },
  {
    name: 'inferred on a running sample',
    edits: [set('inferred', inferred)],
    path: 'inferred',
    message: /only a final sample may be inferred/,
  },
  {
    name: 'inferred lastSeenAt after observedAt',
    edits: [
      set('lifecycle', 'final'),
      set('inferred', { ...inferred, lastSeenAt: '2026-11-26T13:00:11.000Z' }),
    ],
    path: 'inferred.lastSeenAt',
    message: /must not be after observedAt/,
  },
  {
    name: 'inferred detectedAt before observedAt',
    edits: [
      set('lifecycle', 'final'),
      set('inferred', { ...inferred, detectedAt: '2026-11-26T13:00:09.999Z' }),
    ],
    path: 'inferred.detectedAt',
    message: /must not be before observedAt/,
  },
  {
    name: 'inferred without detectedAt',
    edits: [set('lifecycle', 'final'), set('inferred', { reason: 'x', lastSeenAt: OBSERVED })],
    path: 'inferred.detectedAt',
    message: /required/,
  },
  {
    name: 'inferred reason with a NUL',
    edits: [set('lifecycle', 'final'), set('inferred', { ...inferred, reason: 'a\u0000b' })],
    path: 'inferred.reason',
    message: /control characters/,
  },
  {
    name: 'inferred reason empty',
    edits: [set('lifecycle', 'final'), set('inferred', { ...inferred, reason: '' })],
    path: 'inferred.reason',
    message: /empty/,
  },
  {
    name: 'inferred reason huge',
    edits: [
      set('lifecycle', 'final'),
      set('inferred', { ...inferred, reason: 'r'.repeat(100_000) }),
    ],
    path: 'inferred.reason',
    message: /at most 64 bytes/,
  },
  {
    name: 'inferred lastSeenAt not a timestamp',
    edits: [set('lifecycle', 'final'), set('inferred', { ...inferred, lastSeenAt: 'yesterday' })],
    path: 'inferred.lastSeenAt',
    message: /ISO-8601/,
  },
  {
    name: 'inferred as a string',
    edits: [set('lifecycle', 'final'), set('inferred', 'collector-restart')],
    path: 'inferred',
    message: /object/,
  },
];

for (const c of invalid) {
  test(`rejects ${c.name}`, () => {
    const result = decodeSample(bytesOf(...c.edits));
    assert.ok(!result.ok, 'expected a failure');
    assert.equal(result.reason.code, 'SCHEMA_VIOLATION');
    assert.equal(result.reason.path, c.path);
    assert.match(result.reason.message, c.message);
  });
}

test('the host MAC covers the new fields: changing one is refused', () => {
  const master = Buffer.alloc(32, 3);
  const lookup = masterKeyLookup([{ keyId: 'k1', key: master }]);
  const sample = edited(exampleLibvirtSample(), ...finalInferred, set('intervalMs', 10_000));
  const host = sample['host'] as string;
  const key = Buffer.from((sample['resource'] as { id: string }).id);
  const value = encode(sample);
  const header = hostAuthHeader({ keyId: 'k1', key: deriveHostKey(master, host) }, key, value);
  assert.deepEqual(verifyHostAuth(header, key, value, host, lookup), { ok: true });
  for (const edit of [
    set('inferred.detectedAt', '2026-11-26T14:00:00.000Z'),
    remove('inferred'),
    set('intervalMs', 20_000),
    set('thinned', 3),
  ]) {
    const changed = encode(edited(sample, edit));
    const r = verifyHostAuth(header, key, changed, host, lookup);
    assert.equal(r.ok, false);
  }
});
