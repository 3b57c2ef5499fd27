import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SAMPLE_LIMITS, decodeSample, encode, encodeSample } from '@metering/contracts';
import { exampleDockerSample, exampleLibvirtSample } from '@metering/contracts/testing';
import { decodeSampleBytes } from './sample-bytes';
import { nameInstance } from './sample-instance';
import { decodeMeteredSample } from './sample.decoder';
import { toMeteredSample } from './sample.mapper';

// The oracle: the contract's decoder (strict UTF-8, JSON.parse, zod) and the mapper.
function oracle(bytes: Uint8Array | string) {
  const r = decodeSample(bytes);
  return r.ok ? { ok: true as const, value: toMeteredSample(r.value) } : r;
}

/** Both readers agree with the oracle; the byte reader either declines or gives its sample. */
function agrees(bytes: Uint8Array): void {
  const expected = oracle(bytes);
  assert.deepEqual(decodeMeteredSample(bytes), expected);
  const fast = decodeSampleBytes(bytes);
  if (fast !== null) {
    assert.equal(expected.ok, true, `taken by the byte reader, refused by the contract`);
    assert.deepEqual(fast, expected.ok ? expected.value : undefined);
  }
}

// Printable ASCII without the two characters JSON escapes: what collectors' ids and names are.
const plain = (min: number, max: number) =>
  fc.string({
    unit: fc
      .integer({ min: 0x20, max: 0x7e })
      .filter((c) => c !== 0x22 && c !== 0x5c)
      .map((c) => String.fromCharCode(c)),
    minLength: min,
    maxLength: max,
  });

// Any instant from year 0000 to 9999, with or without its milliseconds.
const instant = fc
  .tuple(fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }), fc.boolean())
  .map(([ms, whole]) => (whole ? Math.floor(ms / 1000) * 1000 : ms));
const iso = (ms: number, whole: boolean) => {
  const text = new Date(ms).toISOString();
  return whole ? text.replace(/\.\d{3}Z$/, 'Z') : text;
};

const cores = fc.oneof(
  fc.constant(null),
  fc.integer({ min: 1, max: 65_536_000 }).map((n) => n / 1000),
  fc.integer({ min: 1, max: 999 }).map((n) => n / 1_000_000_000 + 0.001),
  fc.double({ min: 0.001, max: 65_536, noNaN: true }),
  fc.integer({ min: 1, max: 65_536 }),
);

/** Valid samples of the collectors' shape, over the whole range of every field. */
const collectorSample = fc
  .record({
    source: fc.constantFrom('docker', 'libvirt'),
    host: plain(1, SAMPLE_LIMITS.hostBytes),
    kind: fc.constantFrom('container', 'vm'),
    id: plain(1, SAMPLE_LIMITS.idBytes),
    name: plain(0, SAMPLE_LIMITS.nameBytes),
    image: fc.option(plain(1, SAMPLE_LIMITS.imageBytes), { nil: undefined }),
    flavour: fc.option(plain(1, SAMPLE_LIMITS.flavourBytes), { nil: undefined }),
    tenantId: plain(1, SAMPLE_LIMITS.tenantIdBytes),
    instanceId: plain(1, SAMPLE_LIMITS.idBytes),
    startedAt: instant,
    after: fc.integer({ min: 0, max: 400 * 86_400_000 }),
    wholeSeconds: fc.boolean(),
    sequence: fc.option(fc.maxSafeNat(), { nil: undefined }),
    lifecycle: fc.constantFrom('start', 'running', 'final'),
    intervalMs: fc.option(fc.integer({ min: 1, max: SAMPLE_LIMITS.maxIntervalMs }), {
      nil: undefined,
    }),
    thinned: fc.option(fc.integer({ min: 0, max: SAMPLE_LIMITS.maxThinned }), { nil: undefined }),
    usageNs: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    cores,
    hostCores: fc.option(fc.integer({ min: 1, max: SAMPLE_LIMITS.maxHostCores }), {
      nil: undefined,
    }),
    usageBytes: fc.maxSafeNat(),
    allocationBytes: fc.option(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), {
      nil: null,
    }),
  })
  .filter((s) => s.startedAt + s.after <= 253_402_300_799_999)
  .map((s) => ({
    schema: 'metering.sample.v1',
    sampleId: 'a'.repeat(64),
    source: s.source,
    host: s.host,
    resource: {
      kind: s.kind,
      id: s.id,
      name: s.name,
      ...(s.image === undefined ? {} : { image: s.image }),
      ...(s.flavour === undefined ? {} : { flavour: s.flavour }),
      tenantId: s.tenantId,
      instanceId: s.instanceId,
      startedAt: iso(s.startedAt, s.wholeSeconds),
    },
    observedAt: iso(s.startedAt + s.after, s.wholeSeconds),
    ...(s.sequence === undefined ? {} : { sequence: s.sequence }),
    lifecycle: s.lifecycle,
    ...(s.intervalMs === undefined ? {} : { intervalMs: s.intervalMs }),
    ...(s.thinned === undefined ? {} : { thinned: s.thinned }),
    cpu: {
      usageNs: s.usageNs.toString(),
      allocationCores: s.cores,
      ...(s.hostCores === undefined ? {} : { hostCores: s.hostCores }),
    },
    memory: { usageBytes: s.usageBytes, allocationBytes: s.allocationBytes },
  }));

/** Byte-level edits of a valid sample: what a hostile or careless producer sends. */
const edit = fc.oneof(
  // Any byte replaced, deleted or inserted (NUL, controls, non-ASCII, quotes, digits, signs).
  fc.tuple(fc.constant('replace'), fc.nat(), fc.integer({ min: 0, max: 255 })),
  fc.tuple(fc.constant('delete'), fc.nat(), fc.constant(0)),
  fc.tuple(
    fc.constant('insert'),
    fc.nat(),
    fc.constantFrom(0x20, 0x0a, 0x09, 0x00, 0x7f, 0x2d, 0x30, 0x2e, 0x65, 0x5c, 0x22, 0x2c, 0xc3),
  ),
  fc.tuple(fc.constant('truncate'), fc.nat(), fc.constant(0)),
);

function applyEdit(bytes: Buffer, [kind, at, byte]: [string, number, number]): Buffer {
  const k = at % (bytes.length + 1);
  switch (kind) {
    case 'replace':
      return Buffer.concat([bytes.subarray(0, k), Buffer.from([byte]), bytes.subarray(k + 1)]);
    case 'delete':
      return Buffer.concat([bytes.subarray(0, k), bytes.subarray(k + 1)]);
    case 'insert':
      return Buffer.concat([bytes.subarray(0, k), Buffer.from([byte]), bytes.subarray(k)]);
    default:
      return bytes.subarray(0, k);
  }
}

/** Text-level rewrites JSON allows or a producer might make. */
function variants(text: string): string[] {
  return [
    // Duplicated keys (JSON.parse keeps the last): the byte reader must not take the first.
    text.replace('"host":"', '"host":"other","host":"'),
    text.replace('"usageBytes":', '"usageBytes":1,"usageBytes":'),
    text.replace(/"resource":\{/, '"resource":{"kind":"vm",'),
    // A repeated object whose first copy has a field the last lacks: JSON.parse keeps the last.
    text.replace('"cpu":{', '"cpu":{"usageNs":"1","allocationCores":1,"hostCores":4},"cpu":{'),
    text.replace('"memory":{', '"memory":{"usageBytes":5},"memory":{'),
    // Escapes that mean the same characters, and one that does not.
    text.replace('"schema"', '"sch\\u0065ma"'),
    text.replace('"tenantId":"', '"tenantId":"\\u0074'),
    text.replace('"name":"', '"name":"\\u0000'),
    // Whitespace everywhere JSON allows it.
    text.replace(/([{}:,])/g, ' $1\n\t'),
    // Numbers written another way: a fraction, an exponent, a sign, a leading zero, too large.
    text.replace(/"usageBytes":(\d+)/, '"usageBytes":$1.0'),
    text.replace(/"usageBytes":(\d+)/, '"usageBytes":$1e0'),
    text.replace(/"usageBytes":(\d+)/, '"usageBytes":-$1'),
    text.replace(/"usageBytes":(\d+)/, '"usageBytes":0$1'),
    text.replace(/"usageBytes":(\d+)/, '"usageBytes":1e400'),
    text.replace(/"usageBytes":(\d+)/, '"usageBytes":9007199254740993'),
    text.replace(/"allocationBytes":[^,}]+/, '"allocationBytes":0'),
    text.replace(/"allocationBytes":[^,}]+/, '"allocationBytes":-1'),
    text.replace(/"allocationCores":[^,}]+/, '"allocationCores":0'),
    text.replace(/"allocationCores":[^,}]+/, '"allocationCores":65536.000000001'),
    text.replace(/"allocationCores":[^,}]+/, '"allocationCores":1E0'),
    text.replace(/"allocationCores":[^,}]+/, '"allocationCores":-0.5'),
    text.replace(/"allocationCores":[^,}]+/, '"allocationCores":0.0005'),
    text.replace(/"allocationCores":[^,}]+/, '"allocationCores":0.50'),
    text.replace(/"allocationCores":[^,}]+/, '"allocationCores":"0.5"'),
    text.replace(/"usageNs":"(\d+)"/, '"usageNs":$1'),
    text.replace(/"usageNs":"(\d+)"/, '"usageNs":"18446744073709551616"'),
    text.replace(/"usageNs":"(\d+)"/, '"usageNs":"00018446744073709551615"'),
    text.replace(/"usageNs":"(\d+)"/, '"usageNs":"-1"'),
    // Timestamps in other forms and zones, and impossible ones.
    text.replace(/"observedAt":"([^"]+)"/, '"observedAt":"2026-11-26T13:00:10+00:00"'),
    text.replace(/"observedAt":"([^"]+)"/, '"observedAt":"2026-11-26T13:00:10.1234Z"'),
    text.replace(/"observedAt":"([^"]+)"/, '"observedAt":"2026-02-29T13:00:10.000Z"'),
    text.replace(/"observedAt":"([^"]+)"/, '"observedAt":"2028-02-29T13:00:10.000Z"'),
    text.replace(/"observedAt":"([^"]+)"/, '"observedAt":"2026-11-31T13:00:10.000Z"'),
    text.replace(/"observedAt":"([^"]+)"/, '"observedAt":"2026-11-26T24:00:00.000Z"'),
    text.replace(/"observedAt":"([^"]+)"/, '"observedAt":"2026-11-26t13:00:10.000z"'),
    text.replace(/"observedAt":"([^"]+)"/, '"observedAt":"2000-01-01T00:00:00.000Z"'),
    // Unknown, missing and rare fields; non-ASCII; a huge name; trailing bytes.
    text.replace('{', '{"extra":[1,{"a":null}],'),
    text.replace(/,"lifecycle":"[a-z]+"/, ''),
    text.replace('"name":"', '"name":"Ωμέγα 株式会社 '),
    text.replace('"name":"', `"name":"${'n'.repeat(100_000)}`),
    text.replace(/"image":"[^"]*",?/, '"image":null,'),
    `${text} `,
    `${text}x`,
    `${text}{}`,
    '\ufeff' + text,
  ];
}

describe('sample bytes: the byte reader gives the contract’s sample or declines', () => {
  test('the examples are taken by the byte reader, with the contract’s values', () => {
    for (const sample of [exampleDockerSample(), exampleLibvirtSample()]) {
      const bytes = encodeSample(sample);
      assert.notEqual(decodeSampleBytes(bytes), null);
      agrees(bytes);
    }
  });

  test('every valid sample of the collectors’ shape is taken, and equal to the contract’s', () => {
    fc.assert(
      fc.property(collectorSample, (sample) => {
        const bytes = encode(sample);
        const expected = oracle(bytes);
        assert.equal(expected.ok, true, expected.ok ? '' : expected.reason.message);
        const fast = decodeSampleBytes(bytes);
        // A value JSON.stringify writes with an exponent or 17 digits is the contract's to read.
        const plainCores =
          sample.cpu.allocationCores === null ||
          /^\d{1,6}(\.\d{1,9})?$/.test(String(sample.cpu.allocationCores));
        if (plainCores) assert.notEqual(fast, null, String(bytes));
        agrees(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  test('byte edits of valid samples: the same verdict as the contract', () => {
    fc.assert(
      fc.property(
        collectorSample,
        fc.array(edit, { minLength: 1, maxLength: 3 }),
        (sample, edits) => {
          let bytes = encode(sample);
          for (const e of edits) bytes = applyEdit(bytes, e);
          agrees(bytes);
        },
      ),
      { numRuns: 4000 },
    );
  });

  test('rewrites JSON allows, duplicated keys, escapes, numbers, zones, extras, non-ASCII, huge', () => {
    for (const base of [exampleDockerSample(), exampleLibvirtSample()]) {
      const text = encodeSample({ ...base, intervalMs: 10_000, thinned: 0 }).toString('utf8');
      for (const variant of variants(text)) agrees(Buffer.from(variant, 'utf8'));
    }
  });

  test('timestamps of every calendar field, valid or not, in either order', () => {
    const two = (n: number) => String(n).padStart(2, '0');
    const stamp = fc
      .record({
        year: fc.integer({ min: 0, max: 9999 }),
        month: fc.integer({ min: 0, max: 13 }),
        day: fc.integer({ min: 0, max: 32 }),
        hour: fc.integer({ min: 0, max: 25 }),
        minute: fc.integer({ min: 0, max: 60 }),
        second: fc.integer({ min: 0, max: 60 }),
        ms: fc.option(fc.integer({ min: 0, max: 999 }), { nil: undefined }),
      })
      .map(
        (t) =>
          `${String(t.year).padStart(4, '0')}-${two(t.month)}-${two(t.day)}T${two(t.hour)}:` +
          `${two(t.minute)}:${two(t.second)}${t.ms === undefined ? '' : `.${String(t.ms).padStart(3, '0')}`}Z`,
      );
    const base = exampleDockerSample();
    fc.assert(
      fc.property(stamp, stamp, (startedAt, observedAt) => {
        agrees(encode({ ...base, resource: { ...base.resource, startedAt }, observedAt }));
        agrees(
          encode({
            ...base,
            resource: { ...base.resource, startedAt: '0000-01-01T00:00:00Z' },
            observedAt,
          }),
        );
        agrees(
          encode({
            ...base,
            resource: { ...base.resource, startedAt },
            observedAt: '9999-12-31T23:59:59.999Z',
          }),
        );
      }),
      { numRuns: 3000 },
    );
  });

  test('keys in any order are read as the contract reads them', () => {
    fc.assert(
      fc.property(collectorSample, fc.integer(), (sample, seed) => {
        const shuffle = (o: Record<string, unknown>): Record<string, unknown> => {
          const keys = Object.keys(o);
          let s = seed;
          for (let k = keys.length - 1; k > 0; k--) {
            s = (Math.imul(s, 1103515245) + 12345) | 0;
            const j = Math.abs(s) % (k + 1);
            [keys[k], keys[j]] = [keys[j]!, keys[k]!];
          }
          return Object.fromEntries(keys.map((k) => [k, o[k]]));
        };
        const mixed = shuffle({
          ...sample,
          resource: shuffle(sample.resource),
          cpu: shuffle(sample.cpu),
          memory: shuffle(sample.memory),
        });
        const bytes = encode(mixed);
        agrees(bytes);
      }),
      { numRuns: 500 },
    );
  });

  test('not JSON, empty, not an object, a string value, NUL', () => {
    for (const bytes of [
      Buffer.from('not json'),
      Buffer.alloc(0),
      Buffer.from('[1,2]'),
      Buffer.from('"text"'),
      Buffer.from('{}'),
      Buffer.from('{"schema":"metering.sample.v1"'),
      Buffer.from([0x7b, 0x00, 0x7d]),
      Buffer.from('null'),
    ]) {
      agrees(bytes);
      assert.equal(decodeSampleBytes(bytes), null);
    }
  });

  test('many distinct long names: the table of seen strings starts over and stays right', () => {
    const base = exampleDockerSample();
    const firstName = 'first-' + 'x'.repeat(500);
    const first = encodeSample({ ...base, resource: { ...base.resource, name: firstName } });
    assert.equal(decodeSampleBytes(first)?.name, firstName);
    // 20,000 names of 512 characters: past the table's bound on characters.
    for (let n = 0; n < 20_000; n++) {
      const name = String(n).padStart(SAMPLE_LIMITS.nameBytes, 'n');
      const bytes = encodeSample({ ...base, resource: { ...base.resource, name } });
      const sample = decodeSampleBytes(bytes);
      if (n % 997 === 0) assert.equal(sample?.name, name);
    }
    assert.equal(decodeSampleBytes(first)?.name, firstName);
  });
});

describe('sample bytes: naming a sample’s instance without decoding it', () => {
  test('a valid sample of the collectors’ shape names the instance the contract decodes', () => {
    fc.assert(
      fc.property(collectorSample, (s) => {
        const named = new Map<string, Set<string>>();
        const bytes = Buffer.from(JSON.stringify(s));
        assert.equal(nameInstance(Buffer.from(s.resource.id), bytes, named), true);
        const decoded = oracle(bytes);
        assert.ok(decoded.ok);
        assert.deepEqual(
          [...named].map(([r, set]) => [r, [...set]]),
          [[decoded.value.resourceId, [decoded.value.instanceId]]],
        );
      }),
      { numRuns: 300 },
    );
  });

  test('edits of valid samples: a name is a guess, never a throw; what it names is printable ASCII', () => {
    fc.assert(
      fc.property(collectorSample, fc.array(edit, { maxLength: 4 }), (s, edits) => {
        let bytes: Buffer = Buffer.from(JSON.stringify(s));
        for (const e of edits) bytes = applyEdit(bytes, e);
        const named = new Map<string, Set<string>>();
        const ok = nameInstance(Buffer.from(s.resource.id), bytes, named);
        assert.equal(named.size, ok ? 1 : 0);
        for (const [r, set] of named)
          for (const id of [r, ...set]) assert.match(id, /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/);
      }),
      { numRuns: 300 },
    );
  });

  test('declined: no key or value, no instanceId, an escape, non-ASCII, empty, over the bound', () => {
    const base = JSON.stringify(exampleDockerSample());
    const id = exampleDockerSample().resource.id;
    const withInstance = (instance: string): Buffer =>
      Buffer.from(base.replace(/"instanceId":"[^"]*"/, `"instanceId":${instance}`));
    const cases: [Buffer | null, Buffer | null][] = [
      [null, Buffer.from(base)],
      [Buffer.from(id), null],
      [Buffer.from(id), Buffer.from(base.replace('"instanceId"', '"instance"'))],
      [Buffer.from(id), withInstance('"a\\"b"')],
      [Buffer.from(id), withInstance('"Ωμέγα"')],
      [Buffer.from(id), withInstance('""')],
      [Buffer.from(id), withInstance(`"${'i'.repeat(SAMPLE_LIMITS.idBytes + 1)}"`)],
      [Buffer.from(id), withInstance('"i\u0000"')],
      [Buffer.from(id), Buffer.from(base.slice(0, base.indexOf('"instanceId":"') + 16))],
      [Buffer.from(''), Buffer.from(base)],
      [Buffer.from('a"b'), Buffer.from(base)],
      [Buffer.from('\u00e9t\u00e9'), Buffer.from(base)],
      [Buffer.from('k'.repeat(SAMPLE_LIMITS.idBytes + 1)), Buffer.from(base)],
    ];
    for (const [key, value] of cases) {
      const named = new Map<string, Set<string>>();
      assert.equal(nameInstance(key, value, named), false, String(value));
      assert.equal(named.size, 0);
    }
    // A repeated instanceId: the first is named (JSON.parse keeps the last: the processor
    // finds the difference when it decodes, and rates that batch the exact way).
    const named = new Map<string, Set<string>>();
    const twice = Buffer.from(base.replace('"resource":{', '"resource":{"instanceId":"decoy",'));
    assert.equal(nameInstance(Buffer.from(id), twice, named), true);
    assert.deepEqual([...named.get(id)!], ['decoy']);
  });
});
