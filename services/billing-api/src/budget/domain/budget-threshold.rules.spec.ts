import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Decimal } from '@metering/money';
import { checkThresholdAmount, newlyCrossed, type Threshold } from './budget-threshold.rules';

test('threshold amounts: canonical to the minor unit; every other shape refused with why', () => {
  const ok: [unknown, number, string][] = [
    ['100', 2, '100.00'],
    ['100.5', 2, '100.50'],
    ['0.01', 2, '0.01'],
    ['123.45', 2, '123.45'],
    ['150', 0, '150'],
    ['1.001', 3, '1.001'],
    ['999999999999999.99', 2, '999999999999999.99'],
  ];
  for (const [input, minor, expected] of ok) {
    assert.deepEqual(
      checkThresholdAmount(input, minor),
      { ok: true, amount: expected },
      String(input),
    );
  }
  const refused: [unknown, number, RegExp][] = [
    ['1.001', 2, /at most 2 fraction digits/],
    ['100.5', 0, /without fraction digits/],
    ['0', 2, /greater than zero/],
    ['0.00', 2, /greater than zero/],
    ['-5', 2, /decimal string/],
    ['+5', 2, /decimal string/],
    ['1e3', 2, /decimal string/],
    ['1E3', 2, /decimal string/],
    ['NaN', 2, /decimal string/],
    ['Infinity', 2, /decimal string/],
    ['', 2, /decimal string/],
    [' 5', 2, /decimal string/],
    ['5.', 2, /decimal string/],
    ['.5', 2, /decimal string/],
    ['007', 2, /decimal string/],
    ['1,5', 2, /decimal string/],
    ['１２', 2, /decimal string/],
    ['٣', 2, /decimal string/],
    ['5\u0000', 2, /decimal string/],
    ['1'.repeat(16), 2, /at most 15 digits/],
    ['9'.repeat(5000), 2, /at most 15 digits/],
    [100, 2, /got number/],
    [null, 2, /got null/],
    [true, 2, /got boolean/],
    [['100'], 2, /got object/],
    [{ amount: '1' }, 2, /got object/],
  ];
  for (const [input, minor, message] of refused) {
    const r = checkThresholdAmount(input, minor);
    assert.ok(!r.ok, `accepted ${JSON.stringify(input)}`);
    assert.match(r.message, message, JSON.stringify(input));
  }
});

test('newly crossed: reached means amount ≥ threshold; lowest first; already crossed never again', () => {
  const t = (id: string, amount: string): Threshold => ({ id, amount });
  const all = [t('c', '300.00'), t('a', '100.00'), t('b', '200.00')];
  assert.deepEqual(newlyCrossed(all, '99.99', new Set()), []);
  assert.deepEqual(
    newlyCrossed(all, '100.00', new Set()).map((x) => x.id),
    ['a'],
  );
  assert.deepEqual(
    newlyCrossed(all, '250', new Set(['a'])).map((x) => x.id),
    ['b'],
  );
  assert.deepEqual(
    newlyCrossed(all, '1000', new Set()).map((x) => x.id),
    ['a', 'b', 'c'],
  );
  assert.deepEqual(newlyCrossed(all, '1000', new Set(['a', 'b', 'c'])), []);
  // Exact decimals: no float rounding makes 0.1 + 0.2 reach 0.30 or miss it.
  assert.deepEqual(
    newlyCrossed([t('x', '0.30')], '0.30', new Set()).map((x) => x.id),
    ['x'],
  );
  assert.deepEqual(newlyCrossed([t('x', '10000000000000.01')], '10000000000000.00', new Set()), []);
  assert.throws(() => newlyCrossed(all, 'NaN', new Set()));
});

/** Amounts in cents as decimal strings: exact and comparable. */
const cents = fc
  .integer({ min: 1, max: 10_000_000 })
  .map((c) => new Decimal(c).div(100).toFixed(2));

test('property: over any sequence of draft amounts, with thresholds added at any step, each fires once, at the first check after it was added whose amount reaches it', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(cents, { minLength: 0, maxLength: 20 }),
      fc.array(cents, { minLength: 1, maxLength: 30 }),
      fc.array(fc.nat({ max: 29 }), { minLength: 20, maxLength: 20 }),
      (amounts, drafts, addedAt) => {
        const thresholds = amounts.map((amount, i) => ({ id: `t${i}`, amount, at: addedAt[i]! }));
        const crossed = new Map<string, number>();
        drafts.forEach((draft, step) => {
          const active = thresholds.filter((th) => th.at <= step);
          for (const x of newlyCrossed(active, draft, new Set(crossed.keys()))) {
            assert.ok(!crossed.has(x.id), `${x.id} fired twice`);
            assert.ok(new Decimal(draft).gte(x.amount), `${x.id} fired below its amount`);
            crossed.set(x.id, step);
          }
        });
        // The oracle: the first step from its addition on whose amount reaches it.
        for (const th of thresholds) {
          const first = drafts.findIndex(
            (d, step) => step >= th.at && new Decimal(d).gte(th.amount),
          );
          assert.equal(crossed.get(th.id) ?? -1, first, `${th.id} at ${th.amount}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('property: the thresholds reached are exactly those ≤ the amount, lowest first, whatever order they are listed in', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(cents, { minLength: 1, maxLength: 20 }),
      cents,
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (amounts, draft, seed) => {
        const thresholds = amounts.map((amount, i) => ({ id: `t${i}`, amount }));
        const shuffled = [...thresholds].sort(
          (a, b) =>
            ((Number(a.id.slice(1)) * 2654435761 + seed) % 97) -
            ((Number(b.id.slice(1)) * 2654435761 + seed) % 97),
        );
        const once = newlyCrossed(thresholds, draft, new Set());
        assert.deepEqual(newlyCrossed(shuffled, draft, new Set()), once);
        const expected = thresholds.filter((th) => new Decimal(draft).gte(th.amount));
        assert.deepEqual(new Set(once.map((x) => x.id)), new Set(expected.map((x) => x.id)));
        // Lowest first.
        for (let i = 1; i < once.length; i++) {
          assert.ok(new Decimal(once[i - 1]!.amount).lte(once[i]!.amount));
        }
        // Recorded, nothing fires again at the same amount.
        assert.deepEqual(newlyCrossed(thresholds, draft, new Set(once.map((x) => x.id))), []);
      },
    ),
    { numRuns: 300 },
  );
});

test('property: the canonical amount is the same number with the currency’s digits', () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 1n, max: 10n ** 15n - 1n }),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 0, max: 3 }),
      (units, minor, shown) => {
        const value = new Decimal(units.toString()).div(new Decimal(10).pow(shown));
        const text = shown === 0 ? units.toString() : value.toFixed(shown);
        const r = checkThresholdAmount(text, minor);
        if (shown > minor || !/^(0|[1-9]\d{0,14})(\.\d+)?$/.test(text)) {
          assert.ok(!r.ok, text);
          return;
        }
        assert.ok(r.ok, text);
        assert.ok(new Decimal(r.amount).eq(value));
        assert.equal(r.amount.split('.')[1]?.length ?? 0, minor);
      },
    ),
    { numRuns: 300 },
  );
});
