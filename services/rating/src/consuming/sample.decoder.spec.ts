import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeSample,
  encode,
  exampleDockerSample,
  exampleLibvirtSample,
} from '@metering/contracts';
import { decodeSampleFast } from './sample.decoder';

type Json = Record<string, unknown>;

const PATHS = [
  ['schema'],
  ['sampleId'],
  ['source'],
  ['host'],
  ['resource'],
  ['resource', 'kind'],
  ['resource', 'id'],
  ['resource', 'name'],
  ['resource', 'image'],
  ['resource', 'flavour'],
  ['resource', 'tenantId'],
  ['resource', 'instanceId'],
  ['resource', 'startedAt'],
  ['observedAt'],
  ['lifecycle'],
  ['cpu'],
  ['cpu', 'usageNs'],
  ['cpu', 'allocationCores'],
  ['cpu', 'hostCores'],
  ['memory'],
  ['memory', 'usageBytes'],
  ['memory', 'allocationBytes'],
  // Optional top-level fields: sequence, and completeness's (ADR 0013).
  ['sequence'],
  ['intervalMs'],
  ['thinned'],
  ['inferred'],
  ['inferred', 'detectedAt'],
];

/** Values that probe every rule: types, empties, bounds, formats, calendar dates, offsets. */
const oddValue = fc.oneof(
  fc.constantFrom(
    null,
    '',
    0,
    -1,
    0.5,
    1e-300,
    2 ** 53,
    2 ** 53 - 1,
    [],
    {},
    true,
    'container',
    'vm',
    'docker',
    'libvirt',
    'start',
    'final',
    'metering.sample.v2',
    '18446744073709551615',
    '18446744073709551616',
    '012',
    '1.5',
    '2026-11-26T13:00:10Z',
    '2026-11-26T13:00:10.123456789+05:30',
    '2026-02-29T00:00:00.000Z',
    '2028-02-29T00:00:00.000Z',
    '2026-11-26T24:00:00.000Z',
    '2026-11-26 13:00:10Z',
    '2026-11-26T13:00:10.000',
    '2020-01-01T00:00:00.000Z',
    // The limits: control characters, unpaired surrogates, bytes against characters, ranges.
    'a\u0000b',
    '\u0007',
    '\u009f',
    '\ud800',
    'x\udc00',
    '\ud83d\ude00',
    'Ωμέγα 株式会社',
    'a'.repeat(128),
    'a'.repeat(129),
    'a'.repeat(253),
    'a'.repeat(254),
    'a'.repeat(256),
    'a'.repeat(257),
    'a'.repeat(512),
    'a'.repeat(513),
    '株'.repeat(85),
    '株'.repeat(86),
    '\ud83d\ude00'.repeat(64),
    '\ud83d\ude00'.repeat(65),
    'a'.repeat(100_000),
    0.001,
    0.000999,
    65_536,
    65_537,
    1e21,
    2 ** 64,
  ),
  fc.string({ unit: 'binary' }),
  fc.string(),
  fc.integer(),
  fc.double(),
);

function mutate(base: Json, path: string[], value: unknown, remove: boolean): Json {
  const copy = structuredClone(base);
  let target: Json = copy;
  for (const key of path.slice(0, -1)) {
    const next = target[key];
    if (typeof next !== 'object' || next === null) return copy;
    target = next as Json;
  }
  const last = path[path.length - 1]!;
  if (remove) delete target[last];
  else target[last] = value;
  return copy;
}

describe('decodeSampleFast gives decodeSample’s result for every input', () => {
  const inferredFinal = {
    ...exampleLibvirtSample(),
    lifecycle: 'final',
    sequence: 7,
    intervalMs: 10_000,
    thinned: 2,
    inferred: {
      reason: 'collector-restart',
      lastSeenAt: exampleLibvirtSample().observedAt,
      detectedAt: '2026-11-26T14:00:00.000Z',
    },
  };
  const bases = [exampleDockerSample(), exampleLibvirtSample(), inferredFinal] as unknown as Json[];

  test('valid samples (also with unknown extra fields) decode through the fast path', () => {
    for (const base of bases) {
      const bytes = encode({ ...base, extra: { kept: true } });
      assert.deepEqual(decodeSampleFast(bytes), decodeSample(bytes));
      assert.equal(decodeSampleFast(bytes).ok, true);
    }
  });

  test('any field replaced or removed', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...bases),
        fc.array(fc.tuple(fc.constantFrom(...PATHS), oddValue, fc.boolean()), {
          minLength: 1,
          maxLength: 3,
        }),
        (base, edits) => {
          let sample = base;
          for (const [path, value, remove] of edits) sample = mutate(sample, path, value, remove);
          const bytes = encode(sample);
          assert.deepEqual(decodeSampleFast(bytes), decodeSample(bytes));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('not JSON, not UTF-8, empty, a byte-order mark, not an object', () => {
    const valid = encode(bases[0]);
    for (const bytes of [
      Buffer.from('not json'),
      Buffer.from([0xff, 0xfe, 0x00]),
      Buffer.alloc(0),
      null,
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), valid]),
      Buffer.from('[1,2]'),
      Buffer.from('"text"'),
      valid.toString('utf8'),
    ]) {
      assert.deepEqual(decodeSampleFast(bytes), decodeSample(bytes));
    }
  });

  test('observedAt before startedAt is rejected by both', () => {
    const base = bases[0]!;
    const bytes = encode(mutate(base, ['observedAt'], '2000-01-01T00:00:00.000Z', false));
    assert.equal(decodeSampleFast(bytes).ok, false);
    assert.deepEqual(decodeSampleFast(bytes), decodeSample(bytes));
  });
});
