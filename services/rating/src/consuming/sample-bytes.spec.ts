import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SAMPLE_LIMITS, encode, encodeSample } from '@metering/contracts';
import { exampleDockerSample, exampleLibvirtSample } from '@metering/contracts/testing';
import { decodeSampleBytes } from './sample-bytes';
import { agrees, applyEdit, collectorSample, edit, oracle } from '../../test/sample-arbitraries';

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
