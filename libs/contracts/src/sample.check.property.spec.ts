import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeSample } from './encode';
import { exampleDockerSample, exampleLibvirtSample } from './event.fixtures';
import { canonicalSample, isCanonicalSample, isSampleValid } from './sample.check';
import { SAMPLE_LIMITS, SampleEventSchema } from './sample.event';
import { SCHEMA_VERSIONS } from './topics';

// isSampleValid must say exactly what SampleEventSchema says, and canonicalSample must give the
// object (so the bytes) its parse gives: the collectors publish through them instead of zod.
// Samples are generated field by field from values that pass and values just beside the limits
// (a byte too long, a control character, an unpaired surrogate, a number a step outside, the
// wrong type, a calendar date that does not exist, times before the start), plus unknown fields.

type Loose = Record<string, unknown>;

const WRONG_TYPES: unknown[] = [null, 1, true, {}, [], '1', NaN];

function textOf(maxBytes: number, allowEmpty = false): fc.Arbitrary<unknown> {
  const cjk = Math.floor(maxBytes / 3);
  return fc.oneof(
    { weight: 40, arbitrary: fc.string({ minLength: 1, maxLength: 24 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '',
        'a'.repeat(maxBytes),
        'a'.repeat(maxBytes + 1),
        '株'.repeat(cjk),
        '株'.repeat(cjk + 1),
        'é'.repeat(Math.floor(maxBytes / 2)) + 'a'.repeat(maxBytes % 2),
        'x\u0000y',
        'tab\t',
        'x\u007f',
        'x\u009f',
        'x\u00a0',
        '\ud800',
        'a\udc00',
        '\ud83d\ude80',
        allowEmpty ? ' ' : 'ok',
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom(...WRONG_TYPES, undefined) },
  );
}

function intOf(min: number, max: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 30, arbitrary: fc.integer({ min: Math.max(min, -1e9), max: Math.min(max, 1e12) }) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        min,
        max,
        min - 1,
        max + 1,
        min + 0.5,
        -0,
        2 ** 53,
        2 ** 53 - 1,
        Infinity,
        -Infinity,
        NaN,
        1e-9,
      ),
    },
    { weight: 1, arbitrary: fc.double() },
    { weight: 1, arbitrary: fc.constantFrom(...WRONG_TYPES, undefined) },
  );
}

/** Valid timestamps (with Z, with offsets, with and without fractions) and near misses. */
const timestampText: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 30,
    arbitrary: fc
      .tuple(
        fc.date({
          min: new Date('1970-01-01Z'),
          max: new Date('2999-12-31Z'),
          noInvalidDate: true,
        }),
        fc.constantFrom('Z', '+02:00', '-05:30', '+00:00', '+23:59'),
        fc.constantFrom('.000', '', '.5', '.123456789'),
      )
      .map(([date, zone, fraction]) => `${date.toISOString().slice(0, 19)}${fraction}${zone}`),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '2026-02-29T00:00:00Z',
      '2024-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-11-26T24:00:00Z',
      '2026-11-26T13:00:10',
      '2026-11-26T13:00Z',
      '2026-11-26 13:00:10Z',
      '2026-11-26T13:00:10+24:00',
      '2026-11-26T13:00:10.Z',
      '2026-11-26',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom(...WRONG_TYPES, undefined) },
);

const u64Text: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 30, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '18446744073709551615',
      '18446744073709551616',
      '99999999999999999999',
      '000000000000000000001',
      '00000000000000000001',
      '-1',
      '1.5',
      '1e3',
      ' 1',
      '',
      '١٢٣',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(...WRONG_TYPES, undefined, 5) },
);

const cores: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 20, arbitrary: fc.double({ min: 0.001, max: 65_536, noNaN: true }) },
  { weight: 2, arbitrary: fc.constantFrom(null, 0.001, 65_536, 0.000999, 65_536.0001, 0, -1) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(...WRONG_TYPES, undefined, Infinity) },
);

function maybe(arb: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.option(arb, { nil: undefined, freq: 3 });
}

const extras: fc.Arbitrary<Loose> = fc.dictionary(
  fc.constantFrom('extra', 'zz', 'a', '10', 'residualOf', 'note'),
  fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant({ nested: [1, 'x'] })),
  { maxKeys: 2 },
);

/** A sample from these fields; absent optional fields are left out, unknown ones mixed in. */
const generated: fc.Arbitrary<unknown> = fc
  .record({
    schema: fc.oneof(
      { weight: 19, arbitrary: fc.constant(SCHEMA_VERSIONS.sample) },
      fc.constant('metering.sample.v2'),
    ),
    sampleId: textOf(SAMPLE_LIMITS.idBytes),
    source: fc.constantFrom('docker', 'libvirt', 'libvirt', 'docker', 'docker', 'k8s', undefined),
    host: textOf(SAMPLE_LIMITS.hostBytes),
    resource: fc.oneof(
      {
        weight: 19,
        arbitrary: fc
          .record({
            kind: fc.constantFrom('container', 'vm', 'vm', 'pod'),
            id: textOf(SAMPLE_LIMITS.idBytes),
            name: textOf(SAMPLE_LIMITS.nameBytes, true),
            image: maybe(textOf(SAMPLE_LIMITS.imageBytes)),
            flavour: maybe(textOf(SAMPLE_LIMITS.flavourBytes)),
            tenantId: textOf(SAMPLE_LIMITS.tenantIdBytes),
            instanceId: textOf(SAMPLE_LIMITS.idBytes),
            startedAt: timestampText,
          })
          .chain(withExtras),
      },
      fc.constantFrom(...WRONG_TYPES),
    ),
    observedAt: timestampText,
    sequence: maybe(intOf(0, SAMPLE_LIMITS.maxSequence)),
    lifecycle: fc.constantFrom('start', 'running', 'final', 'final', 'ended'),
    intervalMs: maybe(intOf(1, SAMPLE_LIMITS.maxIntervalMs)),
    thinned: maybe(intOf(0, SAMPLE_LIMITS.maxThinned)),
    inferred: fc.option(
      fc.oneof(
        {
          weight: 9,
          arbitrary: fc
            .record({
              reason: textOf(SAMPLE_LIMITS.reasonBytes),
              lastSeenAt: timestampText,
              detectedAt: timestampText,
            })
            .chain(withExtras),
        },
        fc.constantFrom(...WRONG_TYPES),
      ),
      { nil: undefined, freq: 2 },
    ),
    cpu: fc.oneof(
      {
        weight: 19,
        arbitrary: fc
          .record({
            usageNs: u64Text,
            allocationCores: cores,
            hostCores: maybe(intOf(1, SAMPLE_LIMITS.maxHostCores)),
          })
          .chain(withExtras),
      },
      fc.constantFrom(...WRONG_TYPES),
    ),
    memory: fc.oneof(
      {
        weight: 19,
        arbitrary: fc
          .record({
            usageBytes: intOf(0, Number.MAX_SAFE_INTEGER),
            allocationBytes: fc.oneof(fc.constant(null), intOf(1, Number.MAX_SAFE_INTEGER)),
          })
          .chain(withExtras),
      },
      fc.constantFrom(...WRONG_TYPES),
    ),
  })
  .chain(withExtras)
  .chain((value) => fc.boolean().map((keep) => (keep ? value : withoutUndefined(value))));

function withExtras(value: Loose): fc.Arbitrary<Loose> {
  // Unknown fields first, last or between: the order zod's output keeps them in is tested too.
  return fc
    .tuple(extras, fc.boolean())
    .map(([more, before]) => (before ? { ...more, ...value } : { ...value, ...more }));
}

/** Leaves the optional fields out rather than undefined (both are generated). */
function withoutUndefined(value: Loose): Loose {
  const out: Loose = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v;
  return out;
}

function agrees(sample: unknown): void {
  const parsed = SampleEventSchema.safeParse(sample);
  const fast = isSampleValid(sample);
  assert.equal(
    fast,
    parsed.success,
    `isSampleValid ${fast}, zod ${parsed.success}: ${parsed.error?.message ?? ''}`,
  );
  if (parsed.success && fast) {
    const bytes = JSON.stringify(parsed.data);
    assert.equal(JSON.stringify(canonicalSample(sample)), bytes);
    // A sample said to be in order is encoded as it is: it must serialize as zod's output.
    if (isCanonicalSample(sample)) {
      inOrder += 1;
      assert.equal(JSON.stringify(sample), bytes);
    }
  }
}

/** How many valid generated samples were in order (encoded without a copy). */
let inOrder = 0;

test('a sample with a known field inherited, hidden, unknown or out of order is not in order', () => {
  const sample = canonicalSample(exampleDockerSample());
  assert.ok(isCanonicalSample(sample));
  const { intervalMs, ...rest } = sample as Loose;
  const inherited = Object.assign(Object.create({ intervalMs }) as Loose, rest);
  const hidden = { ...rest };
  Object.defineProperty(hidden, 'intervalMs', { value: intervalMs ?? 10_000, enumerable: false });
  const late = { ...rest, intervalMs: intervalMs ?? 10_000 };
  const unknown = { ...sample, extra: 1 };
  const cpuLate = { ...sample, cpu: { allocationCores: null, usageNs: '1' } };
  for (const s of [inherited, hidden, late, unknown, cpuLate]) {
    assert.equal(isCanonicalSample(s as never), false);
    assert.equal(encodeSample(s as never).toString(), JSON.stringify(canonicalSample(s as never)));
  }
});

test('isSampleValid and canonicalSample agree with SampleEventSchema on generated samples', () => {
  let valid = 0;
  fc.assert(
    fc.property(generated, (sample) => {
      agrees(sample);
      if (isSampleValid(sample)) valid += 1;
    }),
    { numRuns: 20_000 },
  );
  // Both verdicts were exercised, not just the refusal; and samples encoded without a copy.
  assert.ok(valid > 200, `only ${valid} generated samples were valid`);
  assert.ok(inOrder > 0, `only ${inOrder} valid generated samples were in order`);
});

test('they agree on a valid sample with one field replaced by any generated value', () => {
  const paths: string[][] = [
    ['sampleId'],
    ['host'],
    ['observedAt'],
    ['sequence'],
    ['intervalMs'],
    ['thinned'],
    ['lifecycle'],
    ['resource', 'id'],
    ['resource', 'name'],
    ['resource', 'image'],
    ['resource', 'flavour'],
    ['resource', 'tenantId'],
    ['resource', 'instanceId'],
    ['resource', 'startedAt'],
    ['cpu', 'usageNs'],
    ['cpu', 'allocationCores'],
    ['cpu', 'hostCores'],
    ['memory', 'usageBytes'],
    ['memory', 'allocationBytes'],
  ];
  const anyValue = fc.oneof(
    textOf(SAMPLE_LIMITS.tenantIdBytes),
    timestampText,
    intOf(0, SAMPLE_LIMITS.maxIntervalMs),
    u64Text,
    cores,
  );
  fc.assert(
    fc.property(
      fc.constantFrom(exampleDockerSample, exampleLibvirtSample),
      fc.constantFrom(...paths),
      anyValue,
      (example, path, value) => {
        const sample = example() as unknown as Loose;
        const [first, second] = path as [string, string | undefined];
        if (second === undefined) sample[first] = value;
        else (sample[first] as Loose)[second] = value;
        agrees(sample);
      },
    ),
    { numRuns: 20_000 },
  );
});

test('the refinements: before the start, and inferred finals, decide alike', () => {
  const at = (s: number): string => new Date(Date.UTC(2026, 10, 26, 13, 0, s)).toISOString();
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 4 }),
      fc.integer({ min: 0, max: 4 }),
      fc.option(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 }))),
      fc.constantFrom('start', 'running', 'final'),
      fc.constantFrom('', '+01:00'),
      (started, observed, inferred, lifecycle, zone) => {
        const sample = exampleDockerSample() as unknown as Loose;
        (sample['resource'] as Loose)['startedAt'] = at(started);
        // The same instant or not, in another spelling: the order is by time, not by text.
        sample['observedAt'] = zone === '' ? at(observed) : shifted(at(observed));
        sample['lifecycle'] = lifecycle;
        if (inferred !== null) {
          sample['inferred'] = {
            reason: 'collector-restart',
            lastSeenAt: at(inferred[0]),
            detectedAt: at(inferred[1]),
          };
        }
        agrees(sample);
      },
    ),
    { numRuns: 2_000 },
  );
});

test('encodeSample gives the bytes of zod’s output and refuses what zod refuses', () => {
  const sample = { zz: 1, ...exampleDockerSample(), intervalMs: 10_000, thinned: 3 };
  const viaZod = JSON.stringify(SampleEventSchema.parse(sample));
  assert.equal(encodeSample(sample).toString('utf8'), viaZod);
  // The unknown field is kept, after the known ones; intervalMs is back at its schema place.
  assert.ok(viaZod.endsWith('"zz":1}'));
  assert.ok(viaZod.indexOf('"intervalMs"') < viaZod.indexOf('"cpu"'));
  assert.throws(
    () => encodeSample({ ...exampleDockerSample(), host: 'a\u0000' }),
    /host: must not contain control characters/,
  );
});

/** The same instant written with +01:00. */
function shifted(iso: string): string {
  const d = new Date(Date.parse(iso) + 3_600_000);
  return `${d.toISOString().slice(0, 23)}+01:00`;
}
