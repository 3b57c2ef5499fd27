import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SAMPLE_LIMITS } from '@metering/contracts';
import { exampleDockerSample } from '@metering/contracts/testing';
import { applyEdit, collectorSample, edit, oracle } from '../../test/sample-arbitraries';
import { InstanceNamer, MAX_REMEMBERED, nameInstance } from './sample-instance';

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

describe('sample bytes: the pre-scan’s namer, which remembers where a resource names its instance', () => {
  const namedOf = (named: Map<string, Set<string>>) =>
    [...named].map(([r, set]) => [r, [...set]] as const);

  test('valid samples of a few resources in any order and layout: it names what the contract decodes', () => {
    // Few resource ids, so the namer meets a resource again, with its instance, host, name or
    // layout changed or not.
    const ids = fc.constantFrom('r-1', 'r-2', 'r-3');
    const instances = fc.constantFrom('i-a', 'i-b', 'i-longer-one', 'j-a');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(collectorSample, ids, instances), { minLength: 1, maxLength: 12 }),
        (list) => {
          const namer = new InstanceNamer();
          for (const [s, id, instanceId] of list) {
            const sample = { ...s, resource: { ...s.resource, id, instanceId } };
            const bytes = Buffer.from(JSON.stringify(sample));
            const named = new Map<string, Set<string>>();
            assert.equal(namer.name(Buffer.from(id), bytes, named), true);
            const decoded = oracle(bytes);
            assert.ok(decoded.ok);
            assert.deepEqual(namedOf(named), [
              [decoded.value.resourceId, [decoded.value.instanceId]],
            ]);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  test('edits of valid samples after their resource was named: a guess, never a throw; printable ASCII, or what nameInstance names', () => {
    fc.assert(
      fc.property(collectorSample, fc.array(edit, { maxLength: 4 }), (s, edits) => {
        const namer = new InstanceNamer();
        const clean = Buffer.from(JSON.stringify(s));
        const key = Buffer.from(s.resource.id);
        assert.equal(namer.name(key, clean, new Map()), true);
        let bytes: Buffer = clean;
        for (const e of edits) bytes = applyEdit(bytes, e);
        const named = new Map<string, Set<string>>();
        const ok = namer.name(key, bytes, named);
        assert.equal(named.size, ok ? 1 : 0);
        for (const [r, set] of named)
          for (const id of [r, ...set]) assert.match(id, /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/);
        // Named anew (the bytes moved or changed), it names what nameInstance names.
        const plainNamed = new Map<string, Set<string>>();
        const plainOk = nameInstance(key, bytes, plainNamed);
        if (ok && !plainOk)
          assert.deepEqual(namedOf(named), [[s.resource.id, [s.resource.instanceId]]]);
        if (!ok) assert.equal(plainOk, false);
      }),
      { numRuns: 300 },
    );
  });

  test('the remembered place: a new instance of the same length there, a shifted layout, a cut message, an escape', () => {
    const base = exampleDockerSample();
    const id = base.resource.id;
    const bytesOf = (resource: Partial<typeof base.resource>, rest: Partial<typeof base> = {}) =>
      Buffer.from(
        JSON.stringify({ ...base, ...rest, resource: { ...base.resource, ...resource } }),
      );
    const namer = new InstanceNamer();
    const name = (bytes: Buffer | null, key: Buffer | null = Buffer.from(id)) => {
      const named = new Map<string, Set<string>>();
      return namer.name(key, bytes, named) ? namedOf(named) : null;
    };
    assert.deepEqual(name(bytesOf({ instanceId: 'inst-0001' })), [[id, ['inst-0001']]]);
    // Same place, another instance of the same length, and one a character longer.
    assert.deepEqual(name(bytesOf({ instanceId: 'inst-0002' })), [[id, ['inst-0002']]]);
    assert.deepEqual(name(bytesOf({ instanceId: 'inst-00020' })), [[id, ['inst-00020']]]);
    assert.deepEqual(name(bytesOf({ instanceId: 'inst-0002' })), [[id, ['inst-0002']]]);
    // The remembered name is a prefix of the new one: the closing quote is compared too.
    assert.deepEqual(name(bytesOf({ instanceId: 'inst-0002x' })), [[id, ['inst-0002x']]]);
    // A longer host before it: the place moved, found by searching.
    assert.deepEqual(name(bytesOf({ instanceId: 'inst-0002' }, { host: 'a-much-longer-host' })), [
      [id, ['inst-0002']],
    ]);
    const at = bytesOf({ instanceId: 'inst-0002' }).indexOf('"instanceId":"');
    // Cut inside the remembered name, and right after it: declined, nothing named.
    const whole = bytesOf({ instanceId: 'inst-0002' });
    assert.equal(name(whole.subarray(0, at + 16)), null);
    assert.equal(name(whole.subarray(0, at + 14 + 'inst-0002'.length)), null);
    // An escape where the name was: declined; a key or value missing: declined.
    const escaped = Buffer.from(whole.toString().replace('"inst-0002"', '"inst\\"002"'));
    assert.equal(name(escaped), null);
    assert.equal(name(null), null);
    assert.equal(name(whole, null), null);
    assert.equal(name(whole, Buffer.from('a"b')), null);
    assert.equal(name(whole, Buffer.from('')), null);
    // Another resource's key with these bytes: its own first name, not this one's memory.
    assert.deepEqual(name(whole, Buffer.from('other')), [['other', ['inst-0002']]]);
  });

  test('past the resources it keeps, it starts over and names right', () => {
    const base = JSON.stringify(exampleDockerSample());
    const namer = new InstanceNamer();
    for (let n = 0; n < MAX_REMEMBERED + 10; n++) {
      const id = `res-${n}`;
      const bytes = Buffer.from(base.replace(/"instanceId":"[^"]*"/, `"instanceId":"inst-${n}"`));
      const named = new Map<string, Set<string>>();
      assert.equal(namer.name(Buffer.from(id), bytes, named), true);
      if (n % 4099 === 0 || n >= MAX_REMEMBERED - 2)
        assert.deepEqual(namedOf(named), [[id, [`inst-${n}`]]]);
    }
    const named = new Map<string, Set<string>>();
    const again = Buffer.from(base.replace(/"instanceId":"[^"]*"/, '"instanceId":"inst-7"'));
    assert.equal(namer.name(Buffer.from('res-7'), again, named), true);
    assert.deepEqual(namedOf(named), [['res-7', ['inst-7']]]);
  });
});

describe('sample bytes: the namer on a message’s parts (ranges of the bytes its response came in)', () => {
  const namedOf = (named: Map<string, Set<string>>) =>
    [...named].map(([r, set]) => [r, [...set]] as const);
  // Bytes around a part: arbitrary, a quote (what would close a cut name), another message's
  // instanceId.
  const around = fc.oneof(
    fc.uint8Array({ maxLength: 8 }),
    fc.constant(Uint8Array.from([0x22])),
    fc.constant(Buffer.from('"instanceId":"i-a"')),
  );

  test('it names what name() names on the same bytes, in the same order, never reading past a part', () => {
    const ids = fc.constantFrom('r-1', 'r-2');
    const instances = fc.constantFrom('i-a', 'i-b', 'i-ab');
    const message = fc.record({
      sample: collectorSample,
      id: ids,
      instanceId: instances,
      edits: fc.array(edit, { maxLength: 2 }),
      cut: fc.option(fc.nat(), { nil: null }),
      nullKey: fc.boolean(),
      before: around,
      between: around,
      after: around,
    });
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 10 }), (list) => {
        const plain = new InstanceNamer();
        const onParts = new InstanceNamer();
        for (const m of list) {
          const sample = {
            ...m.sample,
            resource: { ...m.sample.resource, id: m.id, instanceId: m.instanceId },
          };
          let value: Buffer = Buffer.from(JSON.stringify(sample));
          for (const e of m.edits) value = applyEdit(value, e);
          if (m.cut !== null) value = value.subarray(0, m.cut % (value.length + 1));
          const key = m.nullKey ? null : Buffer.from(m.id);
          const keyBytes = key ?? Buffer.alloc(0);
          const shared = Buffer.concat([m.before, keyBytes, m.between, value, m.after]);
          const keyStart = key === null ? -1 : m.before.length;
          const valueStart = m.before.length + keyBytes.length + m.between.length;
          const parts = {
            bytes: shared,
            keyStart,
            keyEnd: key === null ? -1 : keyStart + key.length,
            valueStart,
            valueEnd: valueStart + value.length,
          };
          const a = new Map<string, Set<string>>();
          const b = new Map<string, Set<string>>();
          assert.equal(onParts.nameParts(parts, b), plain.name(key, Buffer.from(value), a));
          assert.deepEqual(namedOf(b), namedOf(a));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('a remembered name cut at its part’s end is declined, though the quote follows in the shared bytes', () => {
    const base = exampleDockerSample();
    const id = base.resource.id;
    const whole = Buffer.from(
      JSON.stringify({ ...base, resource: { ...base.resource, instanceId: 'inst-1' } }),
    );
    const namer = new InstanceNamer();
    const named = new Map<string, Set<string>>();
    const full = {
      bytes: Buffer.concat([Buffer.from(id), whole]),
      keyStart: 0,
      keyEnd: id.length,
      valueStart: id.length,
      valueEnd: id.length + whole.length,
    };
    assert.equal(namer.nameParts(full, named), true);
    assert.deepEqual(namedOf(named), [[id, ['inst-1']]]);
    // The value's range ends right before the name's closing quote; the quote is the next byte.
    const at = whole.indexOf('"instanceId":"inst-1"') + '"instanceId":"inst-1'.length;
    const cut = { ...full, valueEnd: id.length + at };
    assert.equal(namer.nameParts(cut, new Map()), false);
    // No key, no value: declined.
    assert.equal(namer.nameParts({ ...full, keyStart: -1, keyEnd: -1 }, new Map()), false);
    assert.equal(namer.nameParts({ ...full, valueStart: -1, valueEnd: -1 }, new Map()), false);
  });
});
