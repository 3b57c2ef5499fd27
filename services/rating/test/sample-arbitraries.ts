// Test support for the byte reader's specs (src/consuming/sample-bytes.spec.ts and
// sample-instance.spec.ts): the contract's decoder as the oracle, valid samples of the collectors'
// shape over every field's range, and the byte edits a hostile or careless producer makes.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SAMPLE_LIMITS, decodeSample } from '@metering/contracts';
import { decodeSampleBytes } from '../src/consuming/sample-bytes';
import { decodeMeteredSample } from '../src/consuming/sample.decoder';
import { toMeteredSample } from '../src/consuming/sample.mapper';

// The oracle: the contract's decoder (strict UTF-8, JSON.parse, zod) and the mapper.
export function oracle(bytes: Uint8Array | string) {
  const r = decodeSample(bytes);
  return r.ok ? { ok: true as const, value: toMeteredSample(r.value) } : r;
}

/** Both readers agree with the oracle; the byte reader either declines or gives its sample. */
export function agrees(bytes: Uint8Array): void {
  const expected = oracle(bytes);
  assert.deepEqual(decodeMeteredSample(bytes), expected);
  const fast = decodeSampleBytes(bytes);
  if (fast !== null) {
    assert.equal(expected.ok, true, `taken by the byte reader, refused by the contract`);
    assert.deepEqual(fast, expected.ok ? expected.value : undefined);
  }
}

// Printable ASCII without the two characters JSON escapes: what collectors' ids and names are.
export const plain = (min: number, max: number) =>
  fc.string({
    unit: fc
      .integer({ min: 0x20, max: 0x7e })
      .filter((c) => c !== 0x22 && c !== 0x5c)
      .map((c) => String.fromCharCode(c)),
    minLength: min,
    maxLength: max,
  });

// Any instant from year 0000 to 9999, with or without its milliseconds.
export const instant = fc
  .tuple(fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }), fc.boolean())
  .map(([ms, whole]) => (whole ? Math.floor(ms / 1000) * 1000 : ms));
export const iso = (ms: number, whole: boolean) => {
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
export const collectorSample = fc
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
export const edit = fc.oneof(
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

export function applyEdit(bytes: Buffer, [kind, at, byte]: [string, number, number]): Buffer {
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
