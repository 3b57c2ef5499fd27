import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dlqEventOf, encode } from '@metering/contracts';
import { exampleDockerSample } from '@metering/contracts/testing';
import { type DlqFilter } from './dlq-options';
import {
  type DlqRecord,
  decodeDlqRecord,
  matchesFilter,
  replayabilityOf,
  type Replayability,
} from './dlq-record';

const SAMPLES = 'metering.samples.v1';
const sample = exampleDockerSample();
const sampleBytes = encode(sample);

/** A DLQ record as the topic holds it, with `patch` applied to the event's JSON. */
function raw(
  options: {
    code?: string;
    value?: Buffer | null;
    key?: Buffer | null;
    topic?: string;
    failedAt?: Date;
    patch?: (event: Record<string, unknown> & { original: Record<string, unknown> }) => void;
  } = {},
): { partition: number; offset: string; value: Buffer } {
  const event = dlqEventOf({
    reason: { code: options.code ?? 'SAMPLE_IN_FUTURE', message: 'm', path: null },
    original: {
      topic: options.topic ?? SAMPLES,
      partition: 2,
      offset: '41',
      key: options.key === undefined ? Buffer.from(sample.resource.id) : options.key,
      value: options.value === undefined ? sampleBytes : options.value,
    },
    service: 'rating',
    failedAt: options.failedAt ?? new Date('2026-12-01T10:00:00Z'),
  });
  const json = JSON.parse(JSON.stringify(event)) as Record<string, unknown> & {
    original: Record<string, unknown>;
  };
  options.patch?.(json);
  return { partition: 0, offset: '7', value: Buffer.from(JSON.stringify(json)) };
}

function record(options: Parameters<typeof raw>[0] = {}): DlqRecord {
  const decoded = decodeDlqRecord(raw(options));
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.why);
  return decoded.record;
}

const context = { samplesTopic: SAMPLES, keyFromResource: false };
const why = (r: Replayability): string => (r.replayable ? 'replayable' : r.why);
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('rating dlq: records', () => {
  test('a dead-lettered sample: its tenant, resource and exact original bytes', () => {
    const r = record();
    assert.equal(r.tenant, 'acme');
    assert.equal(r.resourceId, sample.resource.id);
    assert.deepEqual(r.value, sampleBytes);
    assert.deepEqual(r.key, Buffer.from(sample.resource.id));
    assert.equal(r.failedAtMs, Date.UTC(2026, 11, 1, 10));
    assert.deepEqual(replayabilityOf(r, context), {
      replayable: true,
      key: Buffer.from(sample.resource.id),
    });
  });

  test('values of every shape: the tenant is only ever a string from resource.tenantId', () => {
    const cases: [Buffer | null, string | null][] = [
      [Buffer.from('not json'), null],
      [Buffer.from([0xff, 0xfe, 0x00]), null],
      [Buffer.from('null'), null],
      [Buffer.from('[1,2]'), null],
      [Buffer.from('{"resource":null}'), null],
      [Buffer.from('{"resource":{"tenantId":42}}'), null],
      [Buffer.from('{"resource":{"tenantId":"t\\u0000x"}}'), 't\u0000x'],
      [Buffer.from('{"resource":{"tenantId":"\u{1F600}"}}'), '\u{1F600}'],
      [Buffer.from(`{"resource":{"tenantId":"${'x'.repeat(100_000)}"}}`), 'x'.repeat(100_000)],
      [null, null],
      [Buffer.alloc(0), null],
    ];
    for (const [value, tenant] of cases) {
      const r = record({ value, code: 'SCHEMA_VIOLATION' });
      assert.equal(r.tenant, tenant);
      assert.equal(replayabilityOf(r, context).replayable, false);
    }
  });

  test('not a DLQ event: reported, never a record', () => {
    for (const value of [Buffer.from('{}'), Buffer.from('garbage'), Buffer.alloc(0)]) {
      const d = decodeDlqRecord({ partition: 1, offset: '3', value });
      assert.equal(d.ok, false);
    }
    assert.equal(decodeDlqRecord({ partition: 1, offset: '3', value: null }).ok, false);
  });

  test('what is not replayable, and why', () => {
    const prefix = sampleBytes.subarray(0, 40);
    const table: [string, Parameters<typeof raw>[0], RegExp][] = [
      [
        'truncated value',
        {
          value: prefix,
          patch: (e) => {
            e.original.valueTruncated = true;
            e.original.valueBytes = sampleBytes.length;
            e.original.valueSha256 = sha256(sampleBytes);
          },
        },
        /only a prefix of the value was kept/,
      ],
      [
        'digest disagrees',
        { patch: (e) => (e.original.valueSha256 = 'a'.repeat(64)) },
        /does not match its valueSha256/,
      ],
      [
        'truncated key',
        {
          key: Buffer.from(sample.resource.id.slice(0, 8)),
          patch: (e) => {
            e.original.keyTruncated = true;
            e.original.keyBytes = sample.resource.id.length;
          },
        },
        /only a prefix of the key was kept/,
      ],
      ['tombstone', { value: null }, /no value/],
      ['another topic', { topic: 'billing.usage.v1' }, /not from the samples topic/],
      ['invalid JSON', { code: 'INVALID_JSON' }, /bytes themselves are invalid/],
      ['schema', { code: 'SCHEMA_VIOLATION' }, /bytes themselves are invalid/],
      ['version', { code: 'UNKNOWN_SCHEMA_VERSION' }, /bytes themselves are invalid/],
      ['wrong key', { code: 'KEY_MISMATCH' }, /--key-from-resource/],
    ];
    for (const [name, options, expected] of table) {
      assert.match(why(replayabilityOf(record(options), context)), expected, name);
    }
    for (const code of [
      'SAMPLE_IN_FUTURE',
      'IMPLAUSIBLE_CPU',
      'IMPLAUSIBLE_MEMORY',
      'UNRATEABLE',
    ]) {
      assert.equal(why(replayabilityOf(record({ code }), context)), 'replayable', code);
    }
    // Records written before the DLQ was bounded carry none of the length fields: whole.
    const old = record({
      patch: (e) => {
        for (const f of ['keyBytes', 'keySha256', 'keyTruncated']) delete e.original[f];
        for (const f of ['valueBytes', 'valueSha256', 'valueTruncated']) delete e.original[f];
      },
    });
    assert.equal(why(replayabilityOf(old, context)), 'replayable');
    // Lengths that disagree with the bytes: the contract may refuse the record outright (a
    // stricter decoder), or it decodes and is not replayable; never replayed either way.
    const off = decodeDlqRecord(
      raw({ patch: (e) => (e.original.valueBytes = sampleBytes.length + 1) }),
    );
    if (off.ok) assert.match(why(replayabilityOf(off.record, context)), /bytes, not/);
  });

  test('--key-from-resource: the key becomes resource.id, whatever the original key', () => {
    const withKey = { samplesTopic: SAMPLES, keyFromResource: true };
    for (const key of [Buffer.from('wrong'), null, Buffer.from([0, 1, 2])]) {
      const r = replayabilityOf(record({ code: 'KEY_MISMATCH', key }), withKey);
      assert.deepEqual(r, { replayable: true, key: Buffer.from(sample.resource.id) });
    }
    const noId = record({
      code: 'KEY_MISMATCH',
      value: Buffer.from(JSON.stringify({ resource: { id: '' } })),
    });
    assert.match(why(replayabilityOf(noId, withKey)), /no resource.id/);
    // Still never a truncated value.
    const truncated = record({
      code: 'KEY_MISMATCH',
      value: sampleBytes.subarray(0, 40),
      patch: (e) => {
        e.original.valueTruncated = true;
        e.original.valueBytes = sampleBytes.length;
      },
    });
    assert.match(why(replayabilityOf(truncated, withKey)), /prefix of the value/);
  });

  test('filters: reason, [from, to) on failedAt, exact tenant', () => {
    const r = record({ failedAt: new Date('2026-12-01T10:00:00Z') });
    const all: DlqFilter = { reasons: new Set(), fromMs: null, toMs: null, tenant: null };
    const at = Date.UTC(2026, 11, 1, 10);
    const cases: [Partial<DlqFilter>, boolean][] = [
      [{}, true],
      [{ reasons: new Set(['SAMPLE_IN_FUTURE']) }, true],
      [{ reasons: new Set(['KEY_MISMATCH', 'SAMPLE_IN_FUTURE']) }, true],
      [{ reasons: new Set(['KEY_MISMATCH']) }, false],
      [{ fromMs: at }, true],
      [{ fromMs: at + 1 }, false],
      [{ toMs: at }, false],
      [{ toMs: at + 1 }, true],
      [{ tenant: 'acme' }, true],
      [{ tenant: 'Acme' }, false],
      [{ tenant: 'acme ' }, false],
    ];
    for (const [patch, expected] of cases) {
      assert.equal(matchesFilter(r, { ...all, ...patch }), expected, JSON.stringify(patch));
    }
    const noTenant = record({ value: Buffer.from('x'), code: 'INVALID_JSON' });
    assert.equal(matchesFilter(noTenant, { ...all, tenant: 'acme' }), false);
  });
});
